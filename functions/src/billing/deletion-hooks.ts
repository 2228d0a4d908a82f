import type { BillingDeps } from './apply-change';
import { cancelOrgSubscriptions } from './cancel-subscription';
import { closeOrgBilling } from './close-billing';
import { reapplyUnmatchedOfOrg } from './customers';

/*
 * What deleting an organization asks of billing, as the hooks privacy's dependencies take (CancelSubscription,
 * CloseBilling, ReconcileBilling). Each hook gets its dependencies from `deps` on every call: in production the
 * Stripe client exists only once the function runs with its secrets (functions/src/index.ts wires them; tests
 * pass their own).
 */

/** Deleting an organization (or the account of its only member) cancels its Stripe subscriptions at once. */
export function cancelSubscriptionHook(deps: () => Pick<BillingDeps, 'db' | 'stripe'>): (orgId: string) => Promise<void> {
  return (orgId) => cancelOrgSubscriptions(deps(), orgId);
}

/** Purging it ends its billing for good: subscriptions cancelled, Stripe customers deleted, links and ledger cleaned. */
export function closeBillingHook(deps: () => Pick<BillingDeps, 'db' | 'stripe'>): (orgId: string) => Promise<void> {
  return (orgId) => closeOrgBilling(deps(), orgId);
}

/**
 * Cancelling the deletion re-applies the Stripe events parked meanwhile, so billing comes back from Stripe's
 * truth; the hook resolves to how many it re-applied.
 */
export function reconcileBillingHook(deps: () => BillingDeps): (orgId: string) => Promise<number> {
  return async (orgId) => (await reapplyUnmatchedOfOrg(deps(), orgId)).length;
}
