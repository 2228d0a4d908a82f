/**
 * Webhook payloads come in the endpoint's API version, not the client's. The local Stripe keeps its objects in the
 * pinned version and renders an event's object in an older one the way Stripe's changelog describes the
 * difference, for the fields that moved in 2025-03-31.basil (the version that broke older readers):
 * - subscriptions: `current_period_start`/`_end` on the subscription, not on its items;
 * - invoices: `subscription`, `charge`, `payment_intent`, `paid` and `tax` on the invoice, no `parent`,
 *   `payments` or `total_taxes`;
 * - charges: `invoice` on the charge.
 */
import type { Json } from './params';

/** Versions before this one have the older shapes above. */
const BASIL = '2025-03-31';

export const isBeforeBasil = (apiVersion: string) => apiVersion.slice(0, 10) < BASIL;

/** `object` (a pinned-version object) as an endpoint on `apiVersion` receives it; `related` supplies what moved. */
export function renderForVersion(object: Json, apiVersion: string, related: { invoiceOfCharge?: string | null; chargeOfInvoice?: Json | null } = {}): Json {
  if (!isBeforeBasil(apiVersion)) return structuredClone(object);
  const copy = structuredClone(object);
  switch (copy.object) {
    case 'subscription': {
      const items = (copy.items as { data: Json[] }).data;
      copy.current_period_start = Math.min(...items.map((item) => item.current_period_start as number));
      copy.current_period_end = Math.max(...items.map((item) => item.current_period_end as number));
      for (const item of items) {
        delete item.current_period_start;
        delete item.current_period_end;
      }
      return copy;
    }
    case 'invoice': {
      const parent = copy.parent as { subscription_details?: { subscription?: string } | null } | null;
      const taxes = (copy.total_taxes as Array<{ amount: number }> | null) ?? [];
      copy.subscription = parent?.subscription_details?.subscription ?? null;
      copy.tax = taxes.length === 0 ? null : taxes.reduce((sum, tax) => sum + tax.amount, 0);
      copy.paid = copy.status === 'paid';
      copy.charge = related.chargeOfInvoice?.id ?? null;
      copy.payment_intent = related.chargeOfInvoice?.payment_intent ?? null;
      delete copy.parent;
      delete copy.total_taxes;
      delete copy.payments;
      return copy;
    }
    case 'charge':
      copy.invoice = related.invoiceOfCharge ?? null;
      return copy;
    default:
      return copy;
  }
}
