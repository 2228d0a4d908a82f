import { z } from 'zod';
import { planNameSchema, promotionCodeNameSchema, stripePriceIdSchema } from '@leadpulse/model';

/**
 * The server-side allow-list of what a checkout may contain (issue 6): clients name a plan, a seat count and
 * optionally a promotion code from here; prices, trials and Stripe promotion code ids never come from a client.
 * Read from the BILLING_CATALOG param (JSON) in runtime.ts.
 */
export const billingPlanSchema = z.strictObject({
  priceId: stripePriceIdSchema,
  minSeats: z.number().int().min(1),
  maxSeats: z.number().int().min(1).max(10_000),
  /** Trial granted on an organization's first subscription only; 0 for none. */
  trialDays: z.number().int().min(0).max(730),
});
export type BillingPlan = z.infer<typeof billingPlanSchema>;

export const billingCatalogSchema = z
  .strictObject({
    plans: z.record(planNameSchema, billingPlanSchema),
    /** Code a customer types → Stripe promotion code id (`promo_…`). */
    promotionCodes: z.record(promotionCodeNameSchema, z.string().regex(/^promo_[A-Za-z0-9]+$/, 'must be a Stripe promotion code id')).default({}),
    /** Billing portal configuration (`bpc_…`) restricting plan changes to these prices; Stripe's default if absent. */
    portalConfigurationId: z
      .string()
      .regex(/^bpc_[A-Za-z0-9]+$/, 'must be a Stripe portal configuration id')
      .optional(),
  })
  .refine((catalog) => Object.keys(catalog.plans).length > 0, { error: 'must name at least one plan', path: ['plans'] })
  .refine((catalog) => Object.values(catalog.plans).every((plan) => plan.minSeats <= plan.maxSeats), {
    error: 'minSeats must not exceed maxSeats',
    path: ['plans'],
  });
export type BillingCatalog = z.infer<typeof billingCatalogSchema>;

/** Parses the catalog param; a bad value fails loudly, naming the param and the field. */
export function parseBillingCatalog(json: string, paramName = 'BILLING_CATALOG'): BillingCatalog {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new Error(`${paramName} must be JSON: ${(error as Error).message}`, { cause: error });
  }
  const result = billingCatalogSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new Error(`${paramName} is invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
}

/**
 * `record[key]` only when `key` is the record's own property: a client's `constructor` or `__proto__` must not
 * find what every object inherits.
 */
export function ownEntry<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/** The catalog's name for a price, or the price id itself for a price outside the catalog (e.g. a custom deal). */
export function planNameOfPrice(catalog: BillingCatalog, priceId: string): string {
  const entry = Object.entries(catalog.plans).find(([, plan]) => plan.priceId === priceId);
  return entry ? entry[0] : priceId;
}
