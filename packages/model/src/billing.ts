import { z } from 'zod';
import { accessStateSchema, timestampSchema } from './common';

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

/** `orgs/{orgId}/billing/subscription`: the organization's mirror of Stripe's truth; server-only. */
export const subscriptionMirrorSchema = z.strictObject({
  customerId: z.string().min(1),
  subscriptionId: z.string().min(1).nullable(),
  status: subscriptionStatusSchema.nullable(),
  plan: z.string().min(1),
  priceId: z.string().min(1).nullable(),
  seats: z.number().int().min(0),
  currentPeriodEnd: timestampSchema.nullable(),
  cancelAtPeriodEnd: z.boolean(),
  trialEnd: timestampSchema.nullable(),
  access: accessStateSchema,
  /** Watermark: the `created` time (seconds) of the newest Stripe event applied to this subscription. */
  lastEventCreated: z.number().int(),
  updatedAt: timestampSchema,
});
export type SubscriptionMirror = z.infer<typeof subscriptionMirrorSchema>;

/** `stripeCustomers/{customerId}`: maps a Stripe customer to its organization. */
export const stripeCustomerSchema = z.strictObject({
  orgId: z.string().min(1),
  createdAt: timestampSchema,
});

/**
 * `billingRecords/{invoiceId}`: kept 7 years for tax purposes, outside the organization tree so that it
 * survives organization deletion, with only what tax law needs (P6).
 */
export const billingRecordSchema = z.strictObject({
  invoiceId: z.string().min(1),
  invoiceNumber: z.string().nullable(),
  customerId: z.string().min(1),
  orgId: z.string().min(1),
  currency: z.string().length(3),
  amountDue: z.number().int(),
  amountPaid: z.number().int(),
  tax: z.number().int().nullable(),
  status: z.string().min(1),
  issuedAt: timestampSchema,
  paidAt: timestampSchema.nullable(),
  retainUntil: timestampSchema,
});
export type BillingRecord = z.infer<typeof billingRecordSchema>;
