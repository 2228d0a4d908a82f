/** The billing functions' handlers and their runtime dependencies (wired in functions/src/index.ts). */
export { cancelOrgSubscriptions } from './cancel-subscription';
export { closeOrgBilling } from './close-billing';
export { createBillingPortalSession, createCheckoutSession } from './checkout';
export { reapplyUnmatchedOfOrg } from './customers';
export { sweepLapsedGrace } from './grace-sweep';
export { linkStripeCustomer, replayStripeEvents } from './operators';
export { billingDeps, checkoutDeps, operatorDeps, stripeDeps, stripeSecretKey, stripeWebhookSecret, webhookDeps } from './runtime';
export { serveStripeWebhook } from './webhook';
