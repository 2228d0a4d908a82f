import { z } from 'zod';
import { accessStateSchema, docIdSchema, emailSchema, schemaVersionSchema, timestampSchema } from './common';

/** Stripe's subscription statuses (https://docs.stripe.com/api/subscriptions/object#subscription_object-status). */
export const subscriptionStatusSchema = z.enum(['incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused']);
export type SubscriptionStatus = z.infer<typeof subscriptionStatusSchema>;

/**
 * Stripe object ids as this backend stores them; they are also used as document ids. Stripe's format is a prefix,
 * `_`, then letters, digits and underscores (test-mode Checkout sessions are `cs_test_…`, live ones `cs_live_…`).
 */
const stripeIdPattern = (prefixes: string) => new RegExp(`^(?:${prefixes})_[A-Za-z0-9_]+$`);
const stripeId = (prefix: string, prefixes = prefix) => z.string().max(255).regex(stripeIdPattern(prefixes), `must be a Stripe id starting with "${prefix}_"`);
export const stripeEventIdSchema = stripeId('evt');
export const stripeCustomerIdSchema = stripeId('cus');
export const stripeSubscriptionIdSchema = stripeId('sub');
export const stripeInvoiceIdSchema = stripeId('in');
export const stripeCheckoutSessionIdSchema = stripeId('cs');
/** Charges are `ch_…`, or `py_…` for some payment methods. */
export const stripeChargeIdSchema = stripeId('ch', 'ch|py');
export const stripeCreditNoteIdSchema = stripeId('cn');
/**
 * Prices are `price_…`, but a plan created before prices existed keeps the id it was given (`team-monthly`) and
 * still appears as the price of old subscriptions: any printable ASCII without spaces.
 */
export const stripePriceIdSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be a Stripe price or plan id');
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
  /**
   * When the mirrored subscription was fetched from Stripe (before the transaction that wrote it): a write from
   * an earlier fetch never replaces it. Absent until a subscription is mirrored.
   */
  fetchedAt: timestampSchema.optional(),
  updatedAt: timestampSchema,
});
export type SubscriptionMirror = z.infer<typeof subscriptionMirrorSchema>;

/**
 * `stripeCustomers/{customerId}`: maps a Stripe customer to its organization. Kept (with `deletedAt`) after the
 * customer is deleted so that late invoice events still find the organization.
 */
/** Version 2 added `schemaVersion` itself (version 1: the shape before it, read the same). */
export const STRIPE_CUSTOMER_LINK_VERSION = 2;
export const stripeCustomerSchema = z.strictObject({
  schemaVersion: schemaVersionSchema,
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

/** What the billing record takes from an invoice re-fetched from Stripe: amounts, no people. */
export const invoiceFactsSchema = z.strictObject({
  invoiceId: stripeInvoiceIdSchema,
  invoiceNumber: z.string().max(255).nullable(),
  ...invoiceAmountsShape,
  /** Credit notes issued against the invoice (before and after payment), smallest currency unit. */
  creditedAmount: z.number().int().min(0),
  /** Seconds: when the invoice was finalized (issued), or created if not yet finalized. */
  issuedAt: unixSecondsSchema,
  paidAt: unixSecondsSchema.nullable(),
  voidedAt: unixSecondsSchema.nullable(),
  markedUncollectibleAt: unixSecondsSchema.nullable(),
  subscriptionId: stripeSubscriptionIdSchema.nullable(),
});
export type InvoiceFacts = z.infer<typeof invoiceFactsSchema>;

/**
 * What a verified event is about, as its payload named it: `data.object`'s `object`, `id` and `customer`, kept
 * unchecked (bounded strings) so that an entry refused by today's code can be replayed after a fix. Nothing else
 * of the payload is stored (it carries names and addresses); everything else is re-fetched from Stripe.
 */
export const stripeEventTargetSchema = z.strictObject({
  object: z.string().max(100).nullable(),
  id: z.string().max(255).nullable(),
  customer: z.string().max(255).nullable(),
});
export type StripeEventTarget = z.infer<typeof stripeEventTargetSchema>;

/**
 * What processing an event did. applied: its effect is in place; stale: a newer state of the same object was
 * already mirrored; superseded: it concerns a subscription that is not the organization's current one;
 * unmatched: no organization to apply it to yet (re-applied when the customer is linked, or by replay);
 * ignored: nothing to do (e.g. a Checkout session without subscription, an organization that no longer exists);
 * failed: it could not be applied (see `reason` and `detail`); an operator replays it after the fix.
 */
export const eventOutcomeSchema = z.enum(['applied', 'stale', 'superseded', 'unmatched', 'ignored', 'failed']);
export type EventOutcome = z.infer<typeof eventOutcomeSchema>;

/**
 * Why an event is unmatched, ignored or failed. Failures: `invalid_payload` (the event does not name an object
 * this backend can look up), `stripe_refused` (Stripe answered the re-fetch with a 4xx, e.g. `resource_missing`),
 * `invalid_object` (the re-fetched object fails our schema), `retrying` (Stripe or Firestore unavailable: the
 * webhook answered 500 and Stripe delivers it again).
 */
export const eventOutcomeReasonSchema = z.enum([
  'unknown_customer',
  'org_missing',
  'org_deleting',
  'no_subscription',
  'no_customer',
  'no_invoice',
  'invalid_payload',
  'stripe_refused',
  'invalid_object',
  'retrying',
]);
export type EventOutcomeReason = z.infer<typeof eventOutcomeReasonSchema>;

/**
 * `stripeEvents/{eventId}`: the ledger, server-only. Written in the same transaction as the event's effect, so an
 * event id present here with an outcome other than `failed` has been processed exactly once (replays update
 * `replayCount`); a `failed` entry is processed again when Stripe re-delivers the event or an operator replays it.
 */
/**
 * Version 2 added `schemaVersion` itself (version 1: the shape before it). Version 3 stores the `target` to
 * re-fetch, with `apiVersion` and `detail`, where versions 1 and 2 stored the reduced `change`; those entries
 * are read through `storedStripeEventRecordSchema`, which derives their target, so every version replays.
 */
export const STRIPE_EVENT_RECORD_VERSION = 3;
export const stripeEventRecordSchema = z.strictObject({
  schemaVersion: schemaVersionSchema,
  type: z.string().min(1).max(100),
  /** The event's `created` (seconds). */
  created: unixSecondsSchema,
  livemode: z.boolean(),
  /** The API version the payload was rendered in (the endpoint's); null when Stripe sent none. */
  apiVersion: z.string().max(100).nullable(),
  target: stripeEventTargetSchema,
  /** The Stripe customer (from the re-fetched object when there is one), so operators can query one customer. */
  customerId: stripeCustomerIdSchema.nullable(),
  orgId: z.string().min(1).nullable(),
  outcome: eventOutcomeSchema,
  reason: eventOutcomeReasonSchema.nullable(),
  /** For failures: what went wrong, for the operator (never personal data: field names and Stripe's codes). */
  detail: z.string().max(1000).nullable(),
  receivedAt: timestampSchema,
  /** The collection's TTL field (firestore.indexes.json): `receivedAt` + LOG_TTL_DAYS. Entries written before it
   *  existed lack it; the retention job deletes every entry 180 days after `receivedAt` (P7). */
  expiresAt: timestampSchema.optional(),
  processedAt: timestampSchema,
  replayCount: z.number().int().min(0),
});
export type StripeEventRecord = z.infer<typeof stripeEventRecordSchema>;

/** The object a version 1-2 entry's `change` names: what version 3 stores as its `target`. */
const legacyChangeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('subscription'), customerId: z.string(), subscriptionId: z.string() }),
  z.object({ kind: z.literal('checkout'), customerId: z.string().nullable(), sessionId: z.string() }),
  z.object({ kind: z.literal('invoice'), customerId: z.string(), invoice: z.object({ invoiceId: z.string() }) }),
  z.object({ kind: z.literal('customer_deleted'), customerId: z.string() }),
]);

function legacyTarget(change: z.infer<typeof legacyChangeSchema>): StripeEventTarget {
  switch (change.kind) {
    case 'subscription':
      return { object: 'subscription', id: change.subscriptionId, customer: change.customerId };
    case 'checkout':
      return { object: 'checkout.session', id: change.sessionId, customer: change.customerId };
    case 'invoice':
      return { object: 'invoice', id: change.invoice.invoiceId, customer: change.customerId };
    case 'customer_deleted':
      return { object: 'customer', id: change.customerId, customer: change.customerId };
  }
}

/** Reads a ledger entry of any version: one without a `target` (versions 1-2) gets it from its `change`. */
export const storedStripeEventRecordSchema = z.preprocess((stored, ctx) => {
  if (typeof stored !== 'object' || stored === null || 'target' in stored || !('change' in stored)) return stored;
  const { change, ...rest } = stored as Record<string, unknown>;
  const legacy = legacyChangeSchema.safeParse(change);
  if (!legacy.success) {
    for (const issue of legacy.error.issues) ctx.addIssue({ ...issue, path: ['change', ...issue.path] });
    return stored;
  }
  return { ...rest, target: legacyTarget(legacy.data), apiVersion: null, detail: null };
}, stripeEventRecordSchema);

/** How long billing records are kept for tax purposes (P6). */
export const BILLING_RECORD_RETENTION_YEARS = 7;

/**
 * `billingRecords/{invoiceId}`: kept 7 years for tax purposes, outside the organization tree so that it
 * survives organization deletion, with only what tax law needs (P6): amounts, currency, dates, invoice number,
 * customer id, org id. The retention job deletes it once `retainUntil` has passed.
 */
/** Version 2 added `schemaVersion` itself (version 1: the shape before it, read the same). */
export const BILLING_RECORD_VERSION = 2;
export const billingRecordSchema = z.strictObject({
  schemaVersion: schemaVersionSchema,
  invoiceId: stripeInvoiceIdSchema,
  invoiceNumber: z.string().max(255).nullable(),
  customerId: stripeCustomerIdSchema,
  /** Null for a customer not (yet) linked to an organization: the record is kept all the same (P6). */
  orgId: z.string().min(1).nullable(),
  ...invoiceAmountsShape,
  /** Credit notes against the invoice (Stripe's pre- plus post-payment credit note amounts). */
  creditedAmount: z.number().int().min(0).default(0),
  /** Refunded per charge that paid the invoice (charge id → amount refunded), and their sum. */
  refunds: z.record(stripeChargeIdSchema, z.number().int().min(0)).default({}),
  refundedAmount: z.number().int().min(0).default(0),
  issuedAt: timestampSchema,
  paidAt: timestampSchema.nullable(),
  voidedAt: timestampSchema.nullable().default(null),
  markedUncollectibleAt: timestampSchema.nullable().default(null),
  /** `issuedAt` plus BILLING_RECORD_RETENTION_YEARS. */
  retainUntil: timestampSchema,
  /** When the invoice was fetched from Stripe for this record: a write from an earlier fetch never replaces it. */
  fetchedAt: timestampSchema.optional(),
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

/** Operators: re-process ledger entries, either named ones or the unmatched or failed ones (optionally of one customer). */
export const replayStripeEventsArgsSchema = z.union([
  z.strictObject({ eventIds: z.array(stripeEventIdSchema).min(1).max(100) }),
  z.strictObject({
    outcome: z.enum(['unmatched', 'failed']),
    customerId: stripeCustomerIdSchema.optional(),
    limit: z.number().int().min(1).max(500).default(100),
  }),
]);
export type ReplayStripeEventsArgs = z.infer<typeof replayStripeEventsArgsSchema>;

/**
 * Operators: rebuilds customer links and billing mirrors from Stripe, one page of Stripe's customers at a time
 * (those whose `metadata.orgId` names an organization). `startingAfter` continues after the previous page.
 */
export const resyncStripeBillingArgsSchema = z.strictObject({
  limit: z.number().int().min(1).max(100).default(20),
  startingAfter: stripeCustomerIdSchema.optional(),
});
