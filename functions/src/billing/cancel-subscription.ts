import { paths, subscriptionMirrorSchema } from '@leadpulse/model';
import { readDocument } from '../common/documents';
import type { BillingDeps } from './apply-change';

/** All the cancellation needs of the mirror: a fault elsewhere in it never blocks an organization's purge (P5). */
const customerOfMirrorSchema = subscriptionMirrorSchema.pick({ customerId: true, customerDeleted: true });

/** Subscriptions Stripe has ended for good: nothing left to cancel. */
const endedStatuses: ReadonlySet<string> = new Set(['canceled', 'incomplete_expired']);

/**
 * Cancels at once every live subscription of the organization's Stripe customer (organization and account
 * deletion). It asks Stripe rather than the mirror, which may lag behind webhooks. Idempotent: once nothing is
 * live, it sends nothing; each cancellation carries an idempotency key.
 */
export async function cancelOrgSubscriptions(deps: Pick<BillingDeps, 'db' | 'stripe'>, orgId: string): Promise<void> {
  const mirror = readDocument(customerOfMirrorSchema, await deps.db.doc(paths.subscription(orgId)).get());
  // No customer, or a deleted one (Stripe cancels a deleted customer's subscriptions itself).
  if (!mirror || mirror.customerDeleted) return;
  for await (const subscription of deps.stripe.subscriptions.list({ customer: mirror.customerId, status: 'all' })) {
    if (endedStatuses.has(subscription.status)) continue;
    await deps.stripe.subscriptions.cancel(subscription.id, {}, { idempotencyKey: `cancel-${orgId}-${subscription.id}` });
  }
}
