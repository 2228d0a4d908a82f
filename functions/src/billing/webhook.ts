import Stripe from 'stripe';
import { paths, storedStripeEventRecordSchema, type EventOutcome, type EventOutcomeReason } from '@leadpulse/model';
import { readDocument } from '../common/documents';
import { errorFields } from '../common/logging';
import { applyEvent, recordFailure, type BillingDeps, type EventMeta } from './apply-change';
import { eventTargetOf, isHandledEventType, parseStripeEvent } from './stripe-objects';

/** Stripe's default: a signature older than 5 minutes is refused (replay protection). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** Where the webhook reports what needs an operator (firebase-functions' logger in production). */
export interface WebhookLog {
  warn(message: string, context: Record<string, unknown>): void;
  error(message: string, context: Record<string, unknown>): void;
}

export interface WebhookDeps extends BillingDeps {
  log: WebhookLog;
  /**
   * The endpoint's signing secrets (`whsec_…`): the current one, and during a roll the other one, so that
   * events signed with either are accepted while both are in use.
   */
  webhookSecrets: readonly string[];
}

export interface WebhookRequest {
  method: string;
  /** The body exactly as received: the signature covers these bytes, not a re-serialized JSON. */
  rawBody: Buffer | undefined;
  signature: string | undefined;
}

export type WebhookResponseBody =
  { received: true; ignored: true } | { received: true; duplicate: boolean; outcome: EventOutcome; reason?: EventOutcomeReason } | { error: string };

export interface WebhookResponse {
  status: 200 | 400 | 405 | 500;
  body: WebhookResponseBody;
}

const reject = (error: string): WebhookResponse => ({ status: 400, body: { error } });
const retryLater: WebhookResponse = { status: 500, body: { error: 'processing failed; Stripe will retry' } };

/** The verified, parsed body, or why it is not a signed event; each secret is tried in turn. */
function verifiedBody(deps: WebhookDeps, rawBody: Buffer, signature: string): { ok: true; body: unknown } | { ok: false; error: string } {
  let refusal: unknown = new Error('no webhook signing secret is configured');
  for (const [index, secret] of deps.webhookSecrets.entries()) {
    try {
      const body: unknown = deps.stripe.webhooks.constructEvent(rawBody, signature, secret, SIGNATURE_TOLERANCE_SECONDS, undefined, deps.clock().getTime());
      return { ok: true, body };
    } catch (error) {
      // A body that is not JSON fails the same way whatever the secret.
      if (error instanceof SyntaxError) return { ok: false, error: `body is not valid JSON: ${error.message}` };
      if (index === 0) refusal = error;
    }
  }
  if (refusal instanceof Stripe.errors.StripeSignatureVerificationError) {
    return { ok: false, error: `signature verification failed: ${refusal.message.split('\n')[0].trim()}` };
  }
  return { ok: false, error: `not a webhook event: ${(refusal as Error).message}` };
}

/**
 * Stripe's webhook endpoint. Stripe re-sends an event whose delivery is not answered 2xx (for up to three days in
 * live mode), so the status says whether re-sending can help:
 * - 400: not a signed event (no or bad signature, not JSON, no event envelope): nothing written.
 * - 200: processed, a duplicate, a type this backend does not act on, or a signed event that cannot be applied
 *   (recorded `failed` in the ledger with its reason, for an operator to replay after a fix: Stripe's retries
 *   would fail the same way and could get the endpoint disabled).
 * - 500: a failure that may pass (Stripe or Firestore unavailable): recorded `failed`/`retrying` when Firestore
 *   allows, nothing else written; Stripe re-sends it.
 */
export async function handleStripeWebhook(deps: WebhookDeps, request: WebhookRequest): Promise<WebhookResponse> {
  if (request.method !== 'POST') return { status: 405, body: { error: 'use POST' } };
  if (!request.signature) return reject('missing Stripe-Signature header');
  if (!request.rawBody || request.rawBody.length === 0) return reject('empty body');

  const verified = verifiedBody(deps, request.rawBody, request.signature);
  if (!verified.ok) return reject(verified.error);
  const event = parseStripeEvent(verified.body);
  if (!event.ok) return reject(`invalid event: ${event.reason}`);
  const { id, type, created, livemode, api_version, data } = event.value;
  if (!isHandledEventType(type)) return { status: 200, body: { received: true, ignored: true } };
  const meta: EventMeta = { id, type, created, livemode, apiVersion: api_version ?? null };
  const target = eventTargetOf(data.object);

  try {
    // A duplicate costs this one read; the transaction reads the entry again to settle concurrent deliveries.
    const recorded = readDocument(storedStripeEventRecordSchema, await deps.db.doc(paths.stripeEvent(id)).get());
    if (recorded && recorded.outcome !== 'failed') {
      return { status: 200, body: { received: true, duplicate: true, outcome: recorded.outcome } };
    }
    const result = await applyEvent(deps, meta, target, 'new');
    // The ledger records every outcome; only what needs an operator is logged.
    if (result.outcome === 'unmatched' || result.outcome === 'failed') {
      deps.log.warn(`stripe event ${result.outcome}`, { eventId: id, type, reason: result.reason, orgId: result.orgId });
    }
    if (result.reason === 'retrying') return retryLater;
    // A failure's reason goes back to Stripe too: its dashboard shows the response body of each delivery.
    const reason = result.outcome === 'failed' && result.reason !== null ? { reason: result.reason } : {};
    return { status: 200, body: { received: true, duplicate: result.duplicate, outcome: result.outcome, ...reason } };
  } catch (error) {
    const { error: detail, stack_trace } = errorFields(error);
    deps.log.error('stripe event failed; Stripe will retry', { eventId: id, type, error: detail, stack_trace });
    // Best effort: Firestore may be what failed.
    await recordFailure(deps, meta, target, null, 'new', { reason: 'retrying', detail }).catch(() => undefined);
    return retryLater;
  }
}

/** The part of an Express/Cloud Functions request the endpoint reads. */
export interface RawHttpRequest {
  method: string;
  rawBody?: Buffer;
  header(name: string): string | undefined;
}
export interface HttpResponseLike {
  status(code: number): { json(body: unknown): unknown };
}

/** Adapts `handleStripeWebhook` to an HTTP framework's request/response (the onRequest trigger, a test server). */
export async function serveStripeWebhook(deps: WebhookDeps, req: RawHttpRequest, res: HttpResponseLike): Promise<void> {
  const response = await handleStripeWebhook(deps, {
    method: req.method,
    rawBody: req.rawBody,
    signature: req.header('stripe-signature'),
  });
  res.status(response.status).json(response.body);
}
