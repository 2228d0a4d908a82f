/** The billing functions' handlers and their runtime dependencies (wired in functions/src/index.ts). */
export { cancelOrgSubscriptions } from './cancel-subscription';
export { createBillingPortalSession, createCheckoutSession } from './checkout';
export { reapplyUnmatchedOfOrg } from './customers';
export { logGraceSweepReport, sweepLapsedGrace } from './grace-sweep';
export { linkStripeCustomer, replayStripeEvents } from './operators';
export { billingAppUrl, billingDeps, checkoutDeps, stripeDeps, stripeSecretKey, stripeWebhookSecret, webhookDeps } from './runtime';
export { serveStripeWebhook } from './webhook';
