import { z } from 'zod';
import { accessStateSchema, docIdSchema, emailSchema, schemaVersionSchema, timestampSchema } from './common';

/** Stripe's subscription statuses (https://docs.stripe.com/api/subscriptions/object#subscription_object-status). */
export const subscriptionStatusSchema = z.enum([
  'incomplete',
  'incomplete_expired',
  'trialing',
  'active',
  'past_due',
  'canceled',
  'unpaid',
  'paused',
]);
export type SubscriptionStatus = z.infer<typeof subscriptionStatusSchema>;

/** Stripe object ids as this backend stores them; they are also used as document ids. */
const stripeId = (prefix: string) =>
  z.string().max(255).regex(new RegExp(`^${prefix}_[A-Za-z0-9]+$`), `must be a Stripe id starting with "${prefix}_"`);
export const stripeEventIdSchema = stripeId('evt');
export const stripeCustomerIdSchema = stripeId('cus');
export const stripeSubscriptionIdSchema = stripeId('sub');
export const stripeInvoiceIdSchema = stripeId('in');
export const stripeCheckoutSessionIdSchema = stripeId('cs');
export const stripePriceIdSchema = stripeId('price');
/** Unix time in seconds, as Stripe sends it. */
export const unixSecondsSchema = z.number().int().min(0);

/**
 * `orgs/{orgId}/billing/subscription`: the organization's mirror of Stripe's truth; server-only, read by owners
 * and admins. Written only by functions/src/billing, from objects re-fetched from Stripe.
 */
/** Version 2 added `schemaVersion` itself (version 1: the shape before it, read the same). */
export const SUBSCRIPTION_MIRROR_VERSION = 2;
export const subscriptionMirrorSchema = z.strictObject({
  schemaVersion: schemaVersionSchema,
  /** The organization's current Stripe customer (one per organization). */
  customerId: stripeCustomerIdSchema,
  /** The customer was deleted in Stripe; the next checkout creates a new one. */
  customerDeleted: z.boolean(),
  /** The subscription mirrored here; null until the organization first subscribes. */
  subscriptionId: stripeSubscriptionIdSchema.nullable(),
  /** Its `created` (seconds): decides between two subscriptions of the same standing. */
  subscriptionCreated: unixSecondsSchema.nullable(),
  status: subscriptionStatusSchema.nullable(),
  /** The plan name from the server's catalog, or the price id for a price outside it; null without subscription. */
  plan: z.string().min(1).nullable(),
  priceId: stripePriceIdSchema.nullable(),
  seats: z.number().int().min(0),
  currentPeriodEnd: timestampSchema.nullable(),
  cancelAtPeriodEnd: z.boolean(),
  trialEnd: timestampSchema.nullable(),
  /** When the subscription stopped being in good standing, from Stripe's data (null while it is). */
  lapsedSince: timestampSchema.nullable(),
  /** What deriveAccessState made of this mirror when it was written (the rules read it from member documents). */
  access: accessStateSchema,
  /** Watermark of the mirrored subscription: the `created` (seconds) of the newest Stripe event applied to it. */
  lastEventCreated: unixSecondsSchema,
  updatedAt: timestampSchema,
});
export type SubscriptionMirror = z.infer<typeof subscriptionMirrorSchema>;

/**
 * `stripeCustomers/{customerId}`: maps a Stripe customer to its organization. Kept (with `deletedAt`) after the
 * customer is deleted so that late invoice events still find the organization.
 */
export const stripeCustomerSchema = z.strictObject({
  orgId: z.string().min(1),
  createdAt: timestampSchema,
  deletedAt: timestampSchema.optional(),
});
export type StripeCustomerLink = z.infer<typeof stripeCustomerSchema>;

export const invoiceStatusSchema = z.enum(['draft', 'open', 'paid', 'uncollectible', 'void']);
export type InvoiceStatus = z.infer<typeof invoiceStatusSchema>;

/** An invoice's amounts (smallest currency unit) and status: in the invoice facts and, copied, the billing record. */
const invoiceAmountsShape = {
  currency: z.string().length(3),
  subtotal: z.number().int(),
  /** Sum of the invoice's taxes in the smallest currency unit; null when Stripe computed none. */
  tax: z.number().int().nullable(),
  total: z.number().int(),
  amountDue: z.number().int(),
  amountPaid: z.number().int(),
  status: invoiceStatusSchema,
};

/** What an invoice event carries that the billing record and the subscription mirror need: amounts, no people. */
export const invoiceFactsSchema = z.strictObject({
  invoiceId: stripeInvoiceIdSchema,
  invoiceNumber: z.string().max(255).nullable(),
  ...invoiceAmountsShape,
  /** Seconds: when the invoice was finalized (issued), or created if not yet finalized. */
  issuedAt: unixSecondsSchema,
  paidAt: unixSecondsSchema.nullable(),
  subscriptionId: stripeSubscriptionIdSchema.nullable(),
});
export type InvoiceFacts = z.infer<typeof invoiceFactsSchema>;

/**
 * A verified Stripe event reduced to what its effect needs. The ledger stores this (not Stripe's payload, which
 * carries names and addresses) so that operators can replay an event without Stripe.
 */
export const billingChangeSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('subscription'),
    customerId: stripeCustomerIdSchema,
    subscriptionId: stripeSubscriptionIdSchema,
  }),
  z.strictObject({
    kind: z.literal('checkout'),
    customerId: stripeCustomerIdSchema.nullable(),
    sessionId: stripeCheckoutSessionIdSchema,
    /** Null for Checkout sessions that did not start a subscription (nothing to do). */
    subscriptionId: stripeSubscriptionIdSchema.nullable(),
  }),
  z.strictObject({
    kind: z.literal('invoice'),
    customerId: stripeCustomerIdSchema,
    invoice: invoiceFactsSchema,
  }),
  z.strictObject({
    kind: z.literal('customer_deleted'),
    customerId: stripeCustomerIdSchema,
  }),
]);
export type BillingChange = z.infer<typeof billingChangeSchema>;

/**
 * What processing an event did. applied: its effect is in place; stale: a newer state of the same object was
 * already mirrored; superseded: it concerns a subscription that is not the organization's current one;
 * unmatched: no organization to apply it to yet (re-applied when the customer is linked, or by replay);
 * ignored: nothing to do (e.g. a Checkout session without subscription, an organization that no longer exists).
 */
export const eventOutcomeSchema = z.enum(['applied', 'stale', 'superseded', 'unmatched', 'ignored']);
export type EventOutcome = z.infer<typeof eventOutcomeSchema>;

/** Why an event is unmatched or ignored. */
export const eventOutcomeReasonSchema = z.enum([
  'unknown_customer',
  'org_missing',
  'org_deleting',
  'no_subscription',
]);
export type EventOutcomeReason = z.infer<typeof eventOutcomeReasonSchema>;

/**
 * `stripeEvents/{eventId}`: the ledger, server-only. Written in the same transaction as the event's effect, so an
 * event id present here has been processed exactly once (replays update `replayCount`).
 */
/**
 * Version 2 added `schemaVersion` itself (version 1: the shape before it, replayed the same). A stored `change`
 * only ever expands (new optional fields, new kinds): entries of every version stay replayable.
 */
export const STRIPE_EVENT_RECORD_VERSION = 2;
export const stripeEventRecordSchema = z.strictObject({
  schemaVersion: schemaVersionSchema,
  type: z.string().min(1).max(100),
  /** The event's `created` (seconds). */
  created: unixSecondsSchema,
  livemode: z.boolean(),
  change: billingChangeSchema,
  /** Copied from `change` so operators can query one customer's unmatched events. */
  customerId: stripeCustomerIdSchema.nullable(),
  orgId: z.string().min(1).nullable(),
  outcome: eventOutcomeSchema,
  reason: eventOutcomeReasonSchema.nullable(),
  receivedAt: timestampSchema,
  processedAt: timestampSchema,
  replayCount: z.number().int().min(0),
});
export type StripeEventRecord = z.infer<typeof stripeEventRecordSchema>;

/** How long billing records are kept for tax purposes (P6). */
export const BILLING_RECORD_RETENTION_YEARS = 7;

/**
 * `billingRecords/{invoiceId}`: kept 7 years for tax purposes, outside the organization tree so that it
 * survives organization deletion, with only what tax law needs (P6): amounts, currency, dates, invoice number,
 * customer id, org id. The retention job deletes it once `retainUntil` has passed.
 */
export const billingRecordSchema = z.strictObject({
  invoiceId: stripeInvoiceIdSchema,
  invoiceNumber: z.string().max(255).nullable(),
  customerId: stripeCustomerIdSchema,
  orgId: z.string().min(1),
  ...invoiceAmountsShape,
  issuedAt: timestampSchema,
  paidAt: timestampSchema.nullable(),
  /** `issuedAt` plus BILLING_RECORD_RETENTION_YEARS. */
  retainUntil: timestampSchema,
});
export type BillingRecord = z.infer<typeof billingRecordSchema>;

// Arguments of the billing callables (functions/src/billing), shared with the web client.

/** A plan name from the server's catalog; the server decides price, trial and whether the plan exists. */
export const planNameSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be a plan name');
/** A promotion code the server's catalog names (the server maps it to Stripe's promotion code). */
export const promotionCodeNameSchema = z.string().regex(/^[A-Z0-9_-]{1,64}$/, 'must be a promotion code');
/**
 * Identifies one attempt of the client: the server derives the Stripe idempotency key from it, so retrying the
 * call with the same requestId returns the same session and never creates a second one.
 */
export const billingRequestIdSchema = z.uuid();

export const createCheckoutSessionArgsSchema = z.strictObject({
  orgId: docIdSchema,
  plan: planNameSchema,
  seats: z.number().int().min(1).max(10_000),
  promotionCode: promotionCodeNameSchema.optional(),
  /** Where Stripe sends receipts; defaults to the caller's verified e-mail. Used only on the first checkout. */
  billingEmail: emailSchema.optional(),
  requestId: billingRequestIdSchema,
});
export type CreateCheckoutSessionArgs = z.infer<typeof createCheckoutSessionArgsSchema>;

export const createBillingPortalSessionArgsSchema = z.strictObject({
  orgId: docIdSchema,
  requestId: billingRequestIdSchema,
});

/** Operators: attach a customer created outside LeadPulse (e.g. in the Stripe dashboard) to an organization. */
export const linkStripeCustomerArgsSchema = z.strictObject({
  orgId: docIdSchema,
  customerId: stripeCustomerIdSchema,
});

/** Operators: re-process ledger entries, either named ones or the unmatched ones (optionally of one customer). */
export const replayStripeEventsArgsSchema = z.union([
  z.strictObject({ eventIds: z.array(stripeEventIdSchema).min(1).max(100) }),
  z.strictObject({
    outcome: z.literal('unmatched'),
    customerId: stripeCustomerIdSchema.optional(),
    limit: z.number().int().min(1).max(500).default(100),
  }),
]);
export type ReplayStripeEventsArgs = z.infer<typeof replayStripeEventsArgsSchema>;
