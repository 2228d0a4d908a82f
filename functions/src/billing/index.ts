/** The billing functions' handlers and their runtime dependencies (wired in functions/src/index.ts). */
export { processChange, STRIPE_ACTOR_UID, type BillingDeps, type EventMeta, type ProcessResult } from './apply-change';
export { billingCatalogSchema, parseBillingCatalog, type BillingCatalog } from './catalog';
export { createBillingPortalSession, createCheckoutSession, type CheckoutDeps } from './checkout';
export { ensureOrgCustomer, linkCustomerToOrg, reapplyUnmatched, replayLedgerEntry } from './customers';
export { sweepLapsedGrace } from './grace-sweep';
export { linkStripeCustomer, replayStripeEvents } from './operators';
export { billingAppUrl, billingDeps, checkoutDeps, stripeSecretKey, stripeWebhookSecret, webhookDeps } from './runtime';
export { handleStripeWebhook, serveStripeWebhook, SIGNATURE_TOLERANCE_SECONDS, type WebhookDeps } from './webhook';
