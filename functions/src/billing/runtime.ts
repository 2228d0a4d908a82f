import Stripe from 'stripe';
import { logger } from 'firebase-functions';
import { getAuth } from 'firebase-admin/auth';
import { getFirestore } from 'firebase-admin/firestore';
import { defineSecret, defineString } from 'firebase-functions/params';
import { systemClock } from '../common/clock';
import { adminOperatorAuth } from '../common/operators';
import type { BillingDeps } from './apply-change';
import { parseBillingCatalog, type BillingCatalog } from './catalog';
import type { CheckoutDeps } from './checkout';
import type { OperatorBillingDeps } from './operators';
import type { WebhookDeps } from './webhook';

/**
 * The Stripe API version of every call, pinned so that a new `stripe` package cannot move it silently. The object
 * schemas (stripe-objects.ts) describe this version: moving it is a code change, checked against the `stripe`
 * package's types (the `satisfies` below fails to compile when the package speaks another version).
 */
export const STRIPE_API_VERSION = '2026-10-28.endive' satisfies Stripe.LatestApiVersion;

/** Secrets and configuration of the billing functions (docs/deploy.md says how to set them). */
export const stripeSecretKey = defineSecret('STRIPE_SECRET_KEY');
export const stripeWebhookSecret = defineSecret('STRIPE_WEBHOOK_SECRET');
/** The other signing secret while the endpoint's secret is rolled; `none` otherwise (a declared secret must exist). */
export const stripeWebhookSecretPrevious = defineSecret('STRIPE_WEBHOOK_SECRET_PREVIOUS');
export const billingCatalogParam = defineString('BILLING_CATALOG', {
  description: 'JSON allow-list of plans (price, seats, trial) and promotion codes checkouts may use',
});
export const stripeApiUrl = defineString('STRIPE_API_URL', {
  default: 'https://api.stripe.com',
  description: "Stripe's API origin; the local Stripe's (http://127.0.0.1:12111) under npm start",
});
export const billingAppUrl = defineString('BILLING_APP_URL', {
  description: 'Origin of the web app, where Stripe sends customers back (e.g. https://app.leadpulse.example)',
});

let cached: { key: string; apiUrl: string; client: Stripe } | null = null;
/**
 * One Stripe client per instance (per key), at the pinned API version, with its own network retries for reads
 * and keyed writes (no Stripe call is made inside a Firestore transaction, so a retry never holds a document).
 */
function stripeClient(): Stripe {
  const key = stripeSecretKey.value();
  const apiUrl = stripeApiUrl.value();
  if (!cached || cached.key !== key || cached.apiUrl !== apiUrl) {
    cached = { key, apiUrl, client: new Stripe(key, { apiVersion: STRIPE_API_VERSION, maxNetworkRetries: 2, timeout: 20_000, ...stripeHostOf(apiUrl) }) };
  }
  return cached.client;
}

/** The client's host options for an API origin such as `https://api.stripe.com` or `http://127.0.0.1:12111`. */
export function stripeHostOf(apiUrl: string): { host: string; port: number; protocol: 'http' | 'https' } {
  const url = new URL(apiUrl);
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search !== '') {
    throw new Error(`STRIPE_API_URL must be an origin like https://api.stripe.com, got "${apiUrl}"`);
  }
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  return { host: url.hostname, port: url.port === '' ? (protocol === 'https' ? 443 : 80) : Number(url.port), protocol };
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
  return { ...billingDeps(), operators: adminOperatorAuth(getAuth()) };
}

export function webhookDeps(): WebhookDeps {
  return {
    ...billingDeps(),
    webhookSecrets: webhookSecretsOf(stripeWebhookSecret.value(), stripeWebhookSecretPrevious.value()),
    log: logger,
  };
}

/** The signing secrets to try, current first; the second is absent unless it is a `whsec_…` value. */
export function webhookSecretsOf(current: string, previous: string): string[] {
  return previous.startsWith('whsec_') ? [current, previous] : [current];
}

export function checkoutDeps(): CheckoutDeps {
  const appUrl = billingAppUrl.value().replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+$/.test(appUrl)) throw new Error(`BILLING_APP_URL must be an origin like https://app.example.com, got "${appUrl}"`);
  return { ...billingDeps(), appUrl };
}
