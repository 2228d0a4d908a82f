import { defineString } from 'firebase-functions/params';
import type { RuntimeOptions } from 'firebase-functions/v1';
import type { GlobalOptions } from 'firebase-functions/v2';
import type { HttpsOptions } from 'firebase-functions/v2/https';

/**
 * The one region of every function (the v2 ones through setGlobalOptions, the v1 Auth trigger through region()).
 * It must be the region of the Firestore database's location, or the nearest one (nam5 → us-central1, eur3 →
 * europe-west1): each call reads and writes Firestore several times. It is part of the Stripe endpoint URL and of
 * the unsubscribe links (valid 60 days): changing it needs the steps in docs/operations.md, "Region".
 */
export const functionsRegion = defineString('FUNCTIONS_REGION', {
  default: 'us-central1',
  description: 'Region of every Cloud Function: the region of the Firestore location (docs/operations.md)',
});

/**
 * Every function unless it says otherwise: a callable does a few Firestore round trips inside a transaction, so
 * 60 s is ample, and one instance (1 vCPU) serves many at once. maxInstances caps what a flood can cost.
 */
export const globalOptions: GlobalOptions = {
  region: functionsRegion,
  maxInstances: 10,
  concurrency: 40,
  memory: '256MiB',
  timeoutSeconds: 60,
};

/** Per-function sizes, by the work each does. */
export const sizing = {
  /** Stripe sends bursts; each request holds one transaction (and Stripe calls), about 10-20 ms of work. */
  stripeWebhook: { maxInstances: 20, concurrency: 20, timeoutSeconds: 60 },
  /** Streams a whole organization (about 100 MB at 100k documents, bench/privacy.bench.ts): few at a time, long. */
  exportData: { maxInstances: 10, concurrency: 4, memory: '1GiB', timeoutSeconds: 3600 },
  /** Tiny writes from every client. */
  recordUsageEvent: { maxInstances: 20, concurrency: 80 },
  /**
   * Callables that page through data or re-apply up to 500 Stripe events (erasure, account deletion, replay,
   * linking a customer, cancelling a deletion): minutes, not seconds.
   */
  longCallable: { timeoutSeconds: 540, concurrency: 8 },
  /** One run at a time: a second instance would only contend for the same documents. */
  retention: { timeoutSeconds: 1800, memory: '512MiB', maxInstances: 1, concurrency: 1 },
  billingGraceSweep: { timeoutSeconds: 540, maxInstances: 1, concurrency: 1 },
} as const satisfies Record<string, HttpsOptions>;

/**
 * The v1 Auth trigger: retried until it succeeds (the deletion is idempotent; a refusal waits for an operator and
 * succeeds on the retry after), so a failure before the deletion request is written never leaves data behind.
 */
export const authTriggerOptions: RuntimeOptions = { failurePolicy: true, timeoutSeconds: 540, maxInstances: 10, memory: '256MB' };
