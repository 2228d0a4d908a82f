import { z } from 'zod';
import {
  invoiceStatusSchema,
  stripeCheckoutSessionIdSchema,
  stripeCustomerIdSchema,
  stripeEventIdSchema,
  stripeInvoiceIdSchema,
  stripePriceIdSchema,
  stripeSubscriptionIdSchema,
  subscriptionStatusSchema,
  unixSecondsSchema,
  type BillingChange,
  type InvoiceFacts,
} from '@leadpulse/model';

/**
 * Zod schemas for the parts of Stripe's objects this backend reads, used for webhook payloads and for objects
 * re-fetched from the API alike. Unknown keys are stripped (Stripe adds fields without notice); a missing or
 * mistyped field we rely on is an error naming it.
 */

/** An expandable reference: Stripe sends the id, or the object when expanded. */
const expandable = (id: z.ZodString) =>
  z.union([id, z.object({ id })]).transform((value): string => (typeof value === 'string' ? value : value.id));

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
  customer: expandable(stripeCustomerIdSchema),
  number: z.string().max(255).nullable(),
  currency: z.string().length(3),
  subtotal: z.number().int(),
  total: z.number().int(),
  amount_due: z.number().int(),
  amount_paid: z.number().int(),
  total_taxes: z.array(z.object({ amount: z.number().int() })).nullable(),
  status: invoiceStatusSchema,
  created: unixSecondsSchema,
  status_transitions: z.object({
    finalized_at: unixSecondsSchema.nullable(),
    paid_at: unixSecondsSchema.nullable(),
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

export const stripeDeletedCustomerSchema = z.object({
  id: stripeCustomerIdSchema,
  object: z.literal('customer'),
});

/** The envelope of every event; `data.object` is checked per type by `billingChangeOf`. */
export const stripeEventSchema = z.object({
  id: stripeEventIdSchema,
  object: z.literal('event'),
  type: z.string().min(1).max(100),
  created: unixSecondsSchema,
  livemode: z.boolean(),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});
export type StripeEvent = z.infer<typeof stripeEventSchema>;

/** The event types the webhook acts on; Stripe may send others (acknowledged, nothing done). */
export const handledEventTypes = [
  'checkout.session.completed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.trial_will_end',
  'invoice.finalized',
  'invoice.paid',
  'invoice.payment_failed',
  'customer.deleted',
] as const;
export type HandledEventType = (typeof handledEventTypes)[number];

export function isHandledEventType(type: string): type is HandledEventType {
  return (handledEventTypes as readonly string[]).includes(type);
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
    status: invoice.status,
    issuedAt: invoice.status_transitions.finalized_at ?? invoice.created,
    paidAt: invoice.status_transitions.paid_at,
    subscriptionId: invoice.parent?.subscription_details?.subscription ?? null,
  };
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

function failure(prefix: string, error: z.ZodError): { ok: false; reason: string } {
  const issue = error.issues[0];
  const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(event)';
  return { ok: false, reason: `${field}: ${issue.message}` };
}

/** Checks the envelope of a parsed JSON body. */
export function parseStripeEvent(body: unknown): ParseResult<StripeEvent> {
  const result = stripeEventSchema.safeParse(body);
  return result.success ? { ok: true, value: result.data } : failure('', result.error);
}

/** Checks `data.object` of a handled event and reduces it to the change the event asks for. */
export function billingChangeOf(type: HandledEventType, object: unknown): ParseResult<BillingChange> {
  const prefix = 'data.object';
  switch (type) {
    case 'checkout.session.completed': {
      const result = stripeCheckoutSessionSchema.safeParse(object);
      if (!result.success) return failure(prefix, result.error);
      const session = result.data;
      return {
        ok: true,
        value: {
          kind: 'checkout',
          customerId: session.customer,
          sessionId: session.id,
          subscriptionId: session.mode === 'subscription' ? session.subscription : null,
        },
      };
    }
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted':
    case 'customer.subscription.trial_will_end': {
      const result = stripeSubscriptionSchema.safeParse(object);
      if (!result.success) return failure(prefix, result.error);
      return { ok: true, value: { kind: 'subscription', customerId: result.data.customer, subscriptionId: result.data.id } };
    }
    case 'invoice.finalized':
    case 'invoice.paid':
    case 'invoice.payment_failed': {
      const result = stripeInvoiceSchema.safeParse(object);
      if (!result.success) return failure(prefix, result.error);
      return { ok: true, value: { kind: 'invoice', customerId: result.data.customer, invoice: invoiceFactsOf(result.data) } };
    }
    case 'customer.deleted': {
      const result = stripeDeletedCustomerSchema.safeParse(object);
      if (!result.success) return failure(prefix, result.error);
      return { ok: true, value: { kind: 'customer_deleted', customerId: result.data.id } };
    }
  }
}
