/** The billing functions' handlers and their runtime dependencies (wired in functions/src/index.ts). */
export { cancelOrgSubscriptions } from './cancel-subscription';
export { createBillingPortalSession, createCheckoutSession } from './checkout';
export { reapplyUnmatchedOfOrg } from './customers';
export { logGraceSweepReport, sweepLapsedGrace } from './grace-sweep';
export { linkStripeCustomer, replayStripeEvents, resyncStripeBilling } from './operators';
export {
  billingAppUrl,
  billingDeps,
  checkoutDeps,
  STRIPE_API_VERSION,
  stripeDeps,
  stripeSecretKey,
  stripeWebhookSecret,
  stripeWebhookSecretPrevious,
  webhookDeps,
} from './runtime';
export { serveStripeWebhook } from './webhook';
