import Stripe from 'stripe';
import { z } from 'zod';
import type { InvoiceFacts } from '@leadpulse/model';
import type { Clock } from '../common/clock';
import {
  invoiceFactsOf,
  stripeChargeSchema,
  stripeCheckoutSessionSchema,
  stripeCreditNoteSchema,
  stripeInvoicePaymentSchema,
  stripeInvoiceSchema,
  stripeSubscriptionSchema,
  type BillingChange,
  type StripeSubscription,
} from './stripe-objects';
import { needsOpenInvoices, type OpenInvoice } from './subscription-state';

/**
 * Stripe's current truth about what an event concerns, fetched BEFORE the transaction that applies it: no Stripe
 * call is ever made while a transaction holds the organization's documents (issue 14). What keeps an earlier
 * fetch from overwriting a later one is `fetchedAt` (apply-change.ts).
 */

/** A Stripe answer that fails our schema: the object is not what this code expects (a permanent failure). */
export class InvalidStripeObjectError extends Error {}

function parseObject<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new InvalidStripeObjectError(`Stripe returned ${what} invalid at ${issue.path.join('.') || '(object)'}: ${issue.message}`);
}

export interface SubscriptionSnapshot {
  subscription: StripeSubscription;
  openInvoices: OpenInvoice[];
  /** Milliseconds: when the fetch started. */
  fetchedAt: number;
}

export interface InvoiceSnapshot {
  invoice: InvoiceFacts;
  /** A charge of the invoice and how much of it is refunded (charge.refunded). */
  refund: { chargeId: string; amount: number } | null;
  fetchedAt: number;
}

/** What an event's effect is computed from. `customerId` is the re-fetched object's customer. */
export type StripeFacts =
  | { kind: 'subscription'; customerId: string; subscription: SubscriptionSnapshot }
  | { kind: 'invoice'; customerId: string; invoice: InvoiceSnapshot; subscription: SubscriptionSnapshot | null }
  | { kind: 'customer_deleted'; customerId: string }
  | { kind: 'nothing'; customerId: string | null; reason: 'no_subscription' | 'no_customer' | 'no_invoice' };

export interface FetchDeps {
  stripe: Stripe;
  clock: Clock;
}

export async function fetchSubscription(stripe: Stripe, subscriptionId: string): Promise<StripeSubscription> {
  return parseObject(stripeSubscriptionSchema, await stripe.subscriptions.retrieve(subscriptionId), `subscription ${subscriptionId}`);
}

const openInvoiceSchema = z.object({
  created: z.number().int(),
  status_transitions: z.object({ finalized_at: z.number().int().nullable() }),
});

/** The subscription's unpaid invoices (when each was issued): where its lapse began. Follows Stripe's paging. */
async function fetchOpenInvoices(stripe: Stripe, subscriptionId: string): Promise<OpenInvoice[]> {
  const invoices: OpenInvoice[] = [];
  for await (const invoice of stripe.invoices.list({ subscription: subscriptionId, status: 'open', limit: 100 })) {
    const parsed = parseObject(openInvoiceSchema, invoice, `an open invoice of ${subscriptionId}`);
    invoices.push({ issuedAt: parsed.status_transitions.finalized_at ?? parsed.created });
  }
  return invoices;
}

/** The subscription and its open invoices as Stripe has them now. */
export async function snapshotSubscription(deps: FetchDeps, subscriptionId: string): Promise<SubscriptionSnapshot> {
  const fetchedAt = deps.clock().getTime();
  const subscription = await fetchSubscription(deps.stripe, subscriptionId);
  const openInvoices = needsOpenInvoices(subscription.status) ? await fetchOpenInvoices(deps.stripe, subscription.id) : [];
  return { subscription, openInvoices, fetchedAt };
}

async function invoiceFacts(deps: FetchDeps, invoiceId: string, refund: InvoiceSnapshot['refund'] = null): Promise<StripeFacts> {
  const fetchedAt = deps.clock().getTime();
  const invoice = parseObject(stripeInvoiceSchema, await deps.stripe.invoices.retrieve(invoiceId), `invoice ${invoiceId}`);
  if (invoice.customer === null) return { kind: 'nothing', customerId: null, reason: 'no_customer' };
  const facts = invoiceFactsOf(invoice);
  const subscription = facts.subscriptionId === null ? null : await snapshotSubscription(deps, facts.subscriptionId);
  return { kind: 'invoice', customerId: invoice.customer, invoice: { invoice: facts, refund, fetchedAt }, subscription };
}

/** Fetches what `change` needs from Stripe, at the client's pinned API version. */
export async function fetchFacts(deps: FetchDeps, change: BillingChange): Promise<StripeFacts> {
  const { stripe } = deps;
  switch (change.kind) {
    case 'subscription': {
      const snapshot = await snapshotSubscription(deps, change.objectId);
      return { kind: 'subscription', customerId: snapshot.subscription.customer, subscription: snapshot };
    }
    case 'checkout': {
      const session = parseObject(stripeCheckoutSessionSchema, await stripe.checkout.sessions.retrieve(change.objectId), `checkout session ${change.objectId}`);
      if (session.customer === null) return { kind: 'nothing', customerId: null, reason: 'no_customer' };
      if (session.mode !== 'subscription' || session.subscription === null) {
        return { kind: 'nothing', customerId: session.customer, reason: 'no_subscription' };
      }
      const snapshot = await snapshotSubscription(deps, session.subscription);
      return { kind: 'subscription', customerId: snapshot.subscription.customer, subscription: snapshot };
    }
    case 'invoice':
      return invoiceFacts(deps, change.objectId);
    case 'credit_note': {
      const note = parseObject(stripeCreditNoteSchema, await stripe.creditNotes.retrieve(change.objectId), `credit note ${change.objectId}`);
      return invoiceFacts(deps, note.invoice);
    }
    case 'charge': {
      const charge = parseObject(stripeChargeSchema, await stripe.charges.retrieve(change.objectId), `charge ${change.objectId}`);
      if (charge.payment_intent === null) return { kind: 'nothing', customerId: charge.customer, reason: 'no_invoice' };
      // Since 2025-03-31.basil a charge no longer names its invoice: the invoice payment of its PaymentIntent does.
      const payments = await stripe.invoicePayments.list({ payment: { type: 'payment_intent', payment_intent: charge.payment_intent }, limit: 1 });
      const payment = payments.data[0];
      if (payment === undefined) return { kind: 'nothing', customerId: charge.customer, reason: 'no_invoice' };
      const { invoice } = parseObject(stripeInvoicePaymentSchema, payment, `the invoice payment of ${charge.id}`);
      return invoiceFacts(deps, invoice, { chargeId: charge.id, amount: charge.amount_refunded });
    }
    case 'customer_deleted':
      return { kind: 'customer_deleted', customerId: change.objectId };
  }
}

/**
 * Whether a failure is permanent (retrying the same event cannot help: it is recorded `failed` and answered 200,
 * so that Stripe stops re-sending it; an operator replays it after the fix) or transient (answered 500 so that
 * Stripe re-sends it). Stripe's 4xx answers other than authentication, permission and rate limits are
 * permanent; network errors, 5xx, 429 and a key that Stripe refuses are transient (fixing the key lets Stripe's
 * retries succeed).
 */
export function failureOf(error: unknown): { permanent: boolean; reason: 'stripe_refused' | 'invalid_object' | 'retrying'; detail: string } {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof InvalidStripeObjectError) return { permanent: true, reason: 'invalid_object', detail: message };
  if (error instanceof Stripe.errors.StripeInvalidRequestError || error instanceof Stripe.errors.StripeIdempotencyError) {
    const code = error.code ? `${error.code}: ` : '';
    return { permanent: true, reason: 'stripe_refused', detail: `${code}${message}` };
  }
  return { permanent: false, reason: 'retrying', detail: message };
}
