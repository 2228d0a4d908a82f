import { z } from 'zod';
import {
  invoiceStatusSchema,
  stripeChargeIdSchema,
  stripeCheckoutSessionIdSchema,
  stripeCreditNoteIdSchema,
  stripeCustomerIdSchema,
  stripeEventIdSchema,
  stripeInvoiceIdSchema,
  stripePriceIdSchema,
  stripeSubscriptionIdSchema,
  subscriptionStatusSchema,
  unixSecondsSchema,
  type InvoiceFacts,
  type StripeEventTarget,
} from '@leadpulse/model';

/**
 * Zod schemas for the parts of Stripe's objects this backend reads. Webhook payloads come in the endpoint's API
 * version, which may be any version: of them only the envelope and `data.object`'s `object`, `id` and `customer`
 * are read (fields every version since 2022-11-15 has). Everything else is re-fetched with the client, whose API
 * version is pinned (STRIPE_API_VERSION, runtime.ts), so these object schemas describe that version only.
 * Unknown keys are stripped (Stripe adds fields without notice); a missing or mistyped field we rely on is an
 * error naming it.
 */

/** An expandable reference: Stripe sends the id, or the object when expanded. */
const expandable = (id: z.ZodString) => z.union([id, z.object({ id })]).transform((value): string => (typeof value === 'string' ? value : value.id));

export const stripeSubscriptionSchema = z.object({
  id: stripeSubscriptionIdSchema,
  object: z.literal('subscription'),
  customer: expandable(stripeCustomerIdSchema),
  status: subscriptionStatusSchema,
  created: unixSecondsSchema,
  cancel_at_period_end: z.boolean(),
  canceled_at: unixSecondsSchema.nullable(),
  ended_at: unixSecondsSchema.nullable(),
  trial_end: unixSecondsSchema.nullable(),
  items: z.object({
    data: z
      .array(
        z.object({
          price: z.object({ id: stripePriceIdSchema }),
          quantity: z.number().int().min(0).optional(),
          current_period_start: unixSecondsSchema,
          current_period_end: unixSecondsSchema,
        }),
      )
      .min(1),
  }),
});
export type StripeSubscription = z.infer<typeof stripeSubscriptionSchema>;

export const stripeInvoiceSchema = z.object({
  id: stripeInvoiceIdSchema,
  object: z.literal('invoice'),
  /** Null for an invoice without a customer (nothing to attribute it to). */
  customer: expandable(stripeCustomerIdSchema).nullable(),
  number: z.string().max(255).nullable(),
  currency: z.string().length(3),
  subtotal: z.number().int(),
  total: z.number().int(),
  amount_due: z.number().int(),
  amount_paid: z.number().int(),
  total_taxes: z.array(z.object({ amount: z.number().int() })).nullable(),
  pre_payment_credit_notes_amount: z.number().int().min(0),
  post_payment_credit_notes_amount: z.number().int().min(0),
  /** Null only for a deleted draft; treated as a draft. */
  status: invoiceStatusSchema.nullable(),
  created: unixSecondsSchema,
  status_transitions: z.object({
    finalized_at: unixSecondsSchema.nullable(),
    paid_at: unixSecondsSchema.nullable(),
    voided_at: unixSecondsSchema.nullable(),
    marked_uncollectible_at: unixSecondsSchema.nullable(),
  }),
  parent: z
    .object({
      subscription_details: z.object({ subscription: expandable(stripeSubscriptionIdSchema) }).nullable(),
    })
    .nullable(),
});
export type StripeInvoice = z.infer<typeof stripeInvoiceSchema>;

export const stripeCheckoutSessionSchema = z.object({
  id: stripeCheckoutSessionIdSchema,
  object: z.literal('checkout.session'),
  mode: z.enum(['payment', 'setup', 'subscription']),
  customer: expandable(stripeCustomerIdSchema).nullable(),
  subscription: expandable(stripeSubscriptionIdSchema).nullable(),
});

export const stripeChargeSchema = z.object({
  id: stripeChargeIdSchema,
  object: z.literal('charge'),
  customer: expandable(stripeCustomerIdSchema).nullable(),
  amount_refunded: z.number().int().min(0),
  payment_intent: expandable(z.string().regex(/^pi_[A-Za-z0-9_]+$/, 'must be a Stripe id starting with "pi_"')).nullable(),
});

export const stripeCreditNoteSchema = z.object({
  id: stripeCreditNoteIdSchema,
  object: z.literal('credit_note'),
  invoice: expandable(stripeInvoiceIdSchema),
});

/** An entry of `GET /v1/invoice_payments`: which invoice a payment paid. */
export const stripeInvoicePaymentSchema = z.object({
  object: z.literal('invoice_payment'),
  invoice: expandable(stripeInvoiceIdSchema),
});

/**
 * The envelope of every event: all the webhook reads of a payload besides `data.object`'s reference. Only the
 * event id must be well-formed to be answered at all: it names the ledger entry.
 */
export const stripeEventSchema = z.object({
  id: stripeEventIdSchema,
  object: z.literal('event'),
  type: z.string().min(1).max(100),
  created: unixSecondsSchema,
  livemode: z.boolean(),
  api_version: z.string().max(100).nullable().optional(),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});
export type StripeEvent = z.infer<typeof stripeEventSchema>;

/** The object an event type is about, and how the webhook brings it up to date. */
const eventKinds = {
  'checkout.session.completed': 'checkout',
  'checkout.session.async_payment_succeeded': 'checkout',
  'checkout.session.async_payment_failed': 'checkout',
  'customer.subscription.created': 'subscription',
  'customer.subscription.updated': 'subscription',
  'customer.subscription.deleted': 'subscription',
  'customer.subscription.trial_will_end': 'subscription',
  'customer.subscription.paused': 'subscription',
  'customer.subscription.resumed': 'subscription',
  'invoice.finalized': 'invoice',
  'invoice.paid': 'invoice',
  'invoice.payment_failed': 'invoice',
  'invoice.payment_action_required': 'invoice',
  'invoice.voided': 'invoice',
  'invoice.marked_uncollectible': 'invoice',
  'charge.refunded': 'charge',
  'credit_note.created': 'credit_note',
  'credit_note.updated': 'credit_note',
  'credit_note.voided': 'credit_note',
  'customer.deleted': 'customer_deleted',
} as const;
export type HandledEventType = keyof typeof eventKinds;
export type ChangeKind = (typeof eventKinds)[HandledEventType];

/** The event types the webhook acts on; Stripe may send others (acknowledged, nothing done). */
export const handledEventTypes = Object.keys(eventKinds) as HandledEventType[];

export function isHandledEventType(type: string): type is HandledEventType {
  return Object.prototype.hasOwnProperty.call(eventKinds, type);
}

/** What each kind re-fetches: `data.object.object` and the id format. */
const kindObjects: Record<ChangeKind, { object: string; id: z.ZodString }> = {
  checkout: { object: 'checkout.session', id: stripeCheckoutSessionIdSchema },
  subscription: { object: 'subscription', id: stripeSubscriptionIdSchema },
  invoice: { object: 'invoice', id: stripeInvoiceIdSchema },
  charge: { object: 'charge', id: stripeChargeIdSchema },
  credit_note: { object: 'credit_note', id: stripeCreditNoteIdSchema },
  customer_deleted: { object: 'customer', id: stripeCustomerIdSchema },
};

/** A handled event reduced to the object to re-fetch. */
export interface BillingChange {
  kind: ChangeKind;
  objectId: string;
}

const boundedString = (value: unknown, max: number): string | null => (typeof value === 'string' && value.length > 0 && value.length <= max ? value : null);

/** `data.object`'s reference, unchecked beyond its size (the ledger keeps it so a fix can replay the event). */
export function eventTargetOf(object: Record<string, unknown>): StripeEventTarget {
  const customer = object.customer;
  const customerId = typeof customer === 'object' && customer !== null ? (customer as Record<string, unknown>).id : customer;
  return {
    object: boundedString(object.object, 100),
    id: boundedString(object.id, 255),
    customer: boundedString(customerId, 255),
  };
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** The change a handled event asks for, from its stored target: the object to re-fetch. */
export function billingChangeOf(type: HandledEventType, target: StripeEventTarget): ParseResult<BillingChange> {
  const kind = eventKinds[type];
  const expected = kindObjects[kind];
  if (target.object !== expected.object) {
    return { ok: false, reason: `data.object.object: expected "${expected.object}" for ${type}, got ${JSON.stringify(target.object)}` };
  }
  const id = expected.id.safeParse(target.id);
  if (!id.success) return { ok: false, reason: `data.object.id: ${id.error.issues[0].message}` };
  return { ok: true, value: { kind, objectId: id.data } };
}

/** The customer id the payload names, if well-formed (the ledger's `customerId` before anything is fetched). */
export function payloadCustomerOf(target: StripeEventTarget, kind: ChangeKind): string | null {
  const raw = kind === 'customer_deleted' ? target.id : target.customer;
  const result = stripeCustomerIdSchema.safeParse(raw);
  return result.success ? result.data : null;
}

/** The invoice's facts in this backend's shape (amounts in the smallest currency unit, times in seconds). */
export function invoiceFactsOf(invoice: StripeInvoice): InvoiceFacts {
  return {
    invoiceId: invoice.id,
    invoiceNumber: invoice.number,
    currency: invoice.currency.toLowerCase(),
    subtotal: invoice.subtotal,
    tax: invoice.total_taxes === null ? null : invoice.total_taxes.reduce((sum, tax) => sum + tax.amount, 0),
    total: invoice.total,
    amountDue: invoice.amount_due,
    amountPaid: invoice.amount_paid,
    status: invoice.status ?? 'draft',
    creditedAmount: invoice.pre_payment_credit_notes_amount + invoice.post_payment_credit_notes_amount,
    issuedAt: invoice.status_transitions.finalized_at ?? invoice.created,
    paidAt: invoice.status_transitions.paid_at,
    voidedAt: invoice.status_transitions.voided_at,
    markedUncollectibleAt: invoice.status_transitions.marked_uncollectible_at,
    subscriptionId: invoice.parent?.subscription_details?.subscription ?? null,
  };
}

/** Checks the envelope of a parsed JSON body. */
export function parseStripeEvent(body: unknown): ParseResult<StripeEvent> {
  const result = stripeEventSchema.safeParse(body);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  const field = issue.path.map(String).join('.') || '(event)';
  return { ok: false, reason: `${field}: ${issue.message}` };
}
