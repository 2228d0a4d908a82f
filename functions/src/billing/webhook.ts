import Stripe from 'stripe';
import { logger } from 'firebase-functions';
import { paths, stripeEventRecordSchema, type EventOutcome } from '@leadpulse/model';
import { readDocument } from '../common/documents';
import { logError } from '../common/logging';
import { processChange, type BillingDeps } from './apply-change';
import { billingChangeOf, isHandledEventType, parseStripeEvent } from './stripe-objects';

/** Stripe's default: a signature older than 5 minutes is refused (replay protection). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export interface WebhookDeps extends BillingDeps {
  /** The endpoint's signing secret (`whsec_…`). */
  webhookSecret: string;
}

export interface WebhookRequest {
  method: string;
  /** The body exactly as received: the signature covers these bytes, not a re-serialized JSON. */
  rawBody: Buffer | undefined;
  signature: string | undefined;
}

export type WebhookResponseBody =
  | { received: true; ignored: true }
  | { received: true; duplicate: boolean; outcome: EventOutcome }
  | { error: string };

export interface WebhookResponse {
  status: 200 | 400 | 405 | 500;
  body: WebhookResponseBody;
}

const reject = (error: string): WebhookResponse => ({ status: 400, body: { error } });

/**
 * Stripe's webhook endpoint. 400: the request is not a valid signed event (nothing written; Stripe's retries will
 * fail the same way, which shows in its dashboard). 500: processing failed (nothing written; Stripe retries).
 * 200: processed, a duplicate, or a type this backend does not act on.
 */
export async function handleStripeWebhook(deps: WebhookDeps, request: WebhookRequest): Promise<WebhookResponse> {
  if (request.method !== 'POST') return { status: 405, body: { error: 'use POST' } };
  if (!request.signature) return reject('missing Stripe-Signature header');
  if (!request.rawBody || request.rawBody.length === 0) return reject('empty body');

  let body: unknown;
  try {
    body = deps.stripe.webhooks.constructEvent(
      request.rawBody,
      request.signature,
      deps.webhookSecret,
      SIGNATURE_TOLERANCE_SECONDS,
      undefined,
      deps.clock().getTime(),
    );
  } catch (error) {
    if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
      return reject(`signature verification failed: ${error.message.split('\n')[0].trim()}`);
    }
    if (error instanceof SyntaxError) return reject(`body is not valid JSON: ${error.message}`);
    return reject(`not a webhook event: ${(error as Error).message}`);
  }

  const event = parseStripeEvent(body);
  if (!event.ok) return reject(`invalid event: ${event.reason}`);
  const { id, type, created, livemode, data } = event.value;
  if (!isHandledEventType(type)) return { status: 200, body: { received: true, ignored: true } };
  const change = billingChangeOf(type, data.object);
  if (!change.ok) return reject(`invalid ${type} event: ${change.reason}`);

  try {
    // A duplicate costs this one read; the transaction reads the entry again to settle concurrent deliveries.
    const recorded = readDocument(stripeEventRecordSchema, await deps.db.doc(paths.stripeEvent(id)).get());
    if (recorded) return { status: 200, body: { received: true, duplicate: true, outcome: recorded.outcome } };
    const result = await processChange(deps, { id, type, created, livemode }, change.value, 'new');
    // The ledger records every outcome; only what needs an operator is logged.
    if (result.outcome === 'unmatched') logger.warn('stripe event unmatched', { eventId: id, type, reason: result.reason, orgId: result.orgId });
    return { status: 200, body: { received: true, duplicate: result.duplicate, outcome: result.outcome } };
  } catch (error) {
    logError('stripe event failed; Stripe will retry', error, { eventId: id, type });
    return { status: 500, body: { error: 'processing failed; Stripe will retry' } };
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
