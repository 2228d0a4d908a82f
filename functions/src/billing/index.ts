/** The billing functions' handlers and their runtime dependencies (wired in functions/src/index.ts). */
export { cancelOrgSubscriptions } from './cancel-subscription';
export { closeOrgBilling } from './close-billing';
export { createBillingPortalSession, createCheckoutSession } from './checkout';
export { reapplyUnmatchedOfOrg } from './customers';
export { cancelSubscriptionHook, closeBillingHook, reconcileBillingHook } from './deletion-hooks';
export { logGraceSweepReport, sweepLapsedGrace } from './grace-sweep';
export { linkStripeCustomer, replayStripeEvents, resyncStripeBilling } from './operators';
export {
  billingAppUrl,
  billingDeps,
  checkoutDeps,
  operatorDeps,
  STRIPE_API_VERSION,
  stripeDeps,
  stripeSecretKey,
  stripeWebhookSecret,
  stripeWebhookSecretPrevious,
  webhookDeps,
} from './runtime';
export { serveStripeWebhook } from './webhook';
