import type Stripe from 'stripe';
import { paths, serverCollections, subscriptionMirrorSchema } from '@leadpulse/model';
import { readDocument } from '../common/documents';
import type { BillingDeps } from './apply-change';
import { cancelOrgSubscriptions } from './cancel-subscription';

/** Documents one page of the Firestore clean-up touches. */
const PAGE_SIZE = 200;

/**
 * Ends an organization's billing for good, before its purge (P5, P13): cancels its subscriptions, deletes each of
 * its Stripe customers (Stripe then holds neither the billing e-mail nor our organization id in metadata), removes
 * the customer links (`stripeCustomers/*`) and drops the organization id from the Stripe event ledger. What stays
 * is what P6 keeps: the billing records. Idempotent, and Stripe goes first, so a crash anywhere is retried whole.
 */
export async function closeOrgBilling(deps: Pick<BillingDeps, 'db' | 'stripe'>, orgId: string): Promise<void> {
  const { db } = deps;
  await cancelOrgSubscriptions(deps, orgId);
  const links = db.collection(serverCollections.stripeCustomers).where('orgId', '==', orgId);
  const mirror = readDocument(subscriptionMirrorSchema, await db.doc(paths.subscription(orgId)).get());
  const customerIds = new Set((await links.select().get()).docs.map((doc) => doc.id));
  if (mirror) customerIds.add(mirror.customerId);
  for (const customerId of customerIds) await deleteCustomer(deps.stripe, customerId);

  for (;;) {
    const page = await links.select().limit(PAGE_SIZE).get();
    if (page.empty) break;
    const batch = db.batch();
    for (const doc of page.docs) batch.delete(doc.ref);
    await batch.commit();
  }
  const ledger = db.collection(serverCollections.stripeEvents).where('orgId', '==', orgId);
  for (;;) {
    const page = await ledger.select().limit(PAGE_SIZE).get();
    if (page.empty) break;
    const batch = db.batch();
    for (const doc of page.docs) batch.update(doc.ref, { orgId: null });
    await batch.commit();
  }
}

/** Deletes a Stripe customer; one deleted already (or unknown) is done. */
async function deleteCustomer(stripe: Stripe, customerId: string): Promise<void> {
  try {
    await stripe.customers.del(customerId);
  } catch (error) {
    if ((error as { code?: string }).code !== 'resource_missing') throw error;
  }
}
