import Stripe from 'stripe';
import { getAuth } from 'firebase-admin/auth';
import { getFirestore } from 'firebase-admin/firestore';
import { defineSecret, defineString } from 'firebase-functions/params';
import { adminAccountAuth } from '../accounts/account-auth';
import { systemClock } from '../common/clock';
import type { BillingDeps } from './apply-change';
import { parseBillingCatalog, type BillingCatalog } from './catalog';
import type { CheckoutDeps } from './checkout';
import type { OperatorBillingDeps } from './operators';
import type { WebhookDeps } from './webhook';

/** Secrets and configuration of the billing functions (the README's "Billing" section says how to set them). */
export const stripeSecretKey = defineSecret('STRIPE_SECRET_KEY');
export const stripeWebhookSecret = defineSecret('STRIPE_WEBHOOK_SECRET');
export const billingCatalogParam = defineString('BILLING_CATALOG', {
  description: 'JSON allow-list of plans (price, seats, trial) and promotion codes checkouts may use',
});
export const billingAppUrl = defineString('BILLING_APP_URL', {
  description: 'Origin of the web app, where Stripe sends customers back (e.g. https://app.leadpulse.example)',
});

let cached: { key: string; client: Stripe } | null = null;
/** One Stripe client per instance (per key), with its own network retries for idempotent reads and keyed writes. */
function stripeClient(): Stripe {
  const key = stripeSecretKey.value();
  if (!cached || cached.key !== key) cached = { key, client: new Stripe(key, { maxNetworkRetries: 2, timeout: 20_000 }) };
  return cached.client;
}

let catalogCache: { json: string; catalog: BillingCatalog } | null = null;
function billingCatalog(): BillingCatalog {
  const json = billingCatalogParam.value();
  if (!catalogCache || catalogCache.json !== json) catalogCache = { json, catalog: parseBillingCatalog(json) };
  return catalogCache.catalog;
}

/** What calls to Stripe outside billing's own flows need (cancelling on organization deletion). */
export function stripeDeps(): Pick<BillingDeps, 'db' | 'stripe'> {
  return { db: getFirestore(), stripe: stripeClient() };
}

export function billingDeps(): BillingDeps {
  return { db: getFirestore(), stripe: stripeClient(), clock: systemClock, catalog: billingCatalog() };
}

/** The operator callables: billing, and Auth to re-read the caller's operator claim. */
export function operatorDeps(): OperatorBillingDeps {
  return { ...billingDeps(), operators: adminAccountAuth(getAuth()) };
}

export function webhookDeps(): WebhookDeps {
  return { ...billingDeps(), webhookSecret: stripeWebhookSecret.value() };
}

export function checkoutDeps(): CheckoutDeps {
  const appUrl = billingAppUrl.value().replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+$/.test(appUrl)) throw new Error(`BILLING_APP_URL must be an origin like https://app.example.com, got "${appUrl}"`);
  return { ...billingDeps(), appUrl };
}
