import { HttpsError } from 'firebase-functions/v2/https';
import type { z } from 'zod';
import {
  docIdSchema,
  linkStripeCustomerArgsSchema,
  replayStripeEventsArgsSchema,
  paths,
  resyncStripeBillingArgsSchema,
  serverCollections,
  type EventOutcome,
  type EventOutcomeReason,
} from '@leadpulse/model';
import { parseArgs, type Caller } from '../common/callable';
import { readDocument } from '../common/documents';
import { skipItem, type SkippedItem } from '../common/logging';
import { requireOperator, type OperatorAuth } from '../common/operators';
import { syncSubscriptionFromStripe, type BillingDeps, type ProcessResult } from './apply-change';
import { ReapplyIncomplete, ledgerOrderSchema, linkCustomerToOrg, replayLedgerEntry } from './customers';

/** Billing's operator callables also check the caller against Auth (requireOperator). */
export interface OperatorBillingDeps extends BillingDeps {
  operators: OperatorAuth;
}

export interface ReplayReport {
  eventId: string;
  outcome: EventOutcome | null;
  reason: EventOutcomeReason | null;
  /** Why the replay of this entry failed (the entry is left as it was). */
  error: string | null;
}

const failedReport = (failure: SkippedItem): ReplayReport => ({
  eventId: failure.item.split('/').pop() ?? failure.item,
  outcome: null,
  reason: null,
  error: failure.error,
});

const reportOf = (result: ProcessResult): ReplayReport => ({
  eventId: result.eventId,
  outcome: result.outcome,
  reason: result.reason,
  error: null,
});

/**
 * Operators: makes a Stripe customer created outside LeadPulse (e.g. in the dashboard) the organization's
 * customer, tags it in Stripe with the organization id, and re-applies the events that were unmatched for it.
 */
export async function linkStripeCustomer(deps: OperatorBillingDeps, caller: Caller, data: unknown): Promise<{ reapplied: ReplayReport[] }> {
  await requireOperator(deps.operators, caller);
  const args = parseArgs(linkStripeCustomerArgsSchema, data);
  const customer = await deps.stripe.customers.retrieve(args.customerId);
  if (customer.deleted) throw new HttpsError('failed-precondition', `customer ${args.customerId} is deleted in Stripe`);
  if (customer.metadata.orgId !== args.orgId) {
    await deps.stripe.customers.update(
      args.customerId,
      { metadata: { orgId: args.orgId } },
      { idempotencyKey: `link-customer-${args.customerId}-${args.orgId}` },
    );
  }
  try {
    const results = await linkCustomerToOrg(deps, { orgId: args.orgId, customerId: args.customerId, auditActorUid: caller.uid });
    return { reapplied: results.map(reportOf) };
  } catch (error) {
    // Linked, and every event that could be re-applied was: the operator gets both parts of the report.
    if (!(error instanceof ReapplyIncomplete)) throw error;
    return { reapplied: [...error.results.map(reportOf), ...error.failures.map(failedReport)] };
  }
}

/**
 * Operators: re-processes ledger entries, named ones or the unmatched ones (optionally of one customer). Each
 * entry's effect is re-derived from Stripe's current truth, so replaying an applied event changes nothing.
 */
export async function replayStripeEvents(deps: OperatorBillingDeps, caller: Caller, data: unknown): Promise<{ results: ReplayReport[] }> {
  await requireOperator(deps.operators, caller);
  const args = parseArgs(replayStripeEventsArgsSchema, data);
  let eventIds: string[];
  const unreadable: ReplayReport[] = [];
  if ('eventIds' in args) {
    eventIds = args.eventIds;
  } else {
    let query = deps.db.collection(serverCollections.stripeEvents).where('outcome', '==', args.outcome);
    if (args.customerId) query = query.where('customerId', '==', args.customerId);
    const snapshot = await query.limit(args.limit).get();
    const entries: Array<{ id: string; created: number }> = [];
    for (const doc of snapshot.docs) {
      try {
        entries.push({ id: doc.id, created: (readDocument(ledgerOrderSchema, doc) ?? { created: 0 }).created });
      } catch (error) {
        unreadable.push(failedReport(skipItem('replayStripeEvents', doc.ref.path, error)));
      }
    }
    eventIds = entries.sort((a, b) => a.created - b.created || a.id.localeCompare(b.id)).map((entry) => entry.id);
  }
  const results: ReplayReport[] = [...unreadable];
  for (const eventId of eventIds) {
    try {
      results.push(reportOf(await replayLedgerEntry(deps, eventId)));
    } catch (error) {
      // An id the operator named that has no entry is their input, not a fault to alert on.
      const missing = error instanceof HttpsError && error.code === 'not-found';
      results.push(failedReport(missing ? { item: eventId, error: error.message } : skipItem('replayStripeEvents', paths.stripeEvent(eventId), error)));
    }
  }
  return { results };
}

export interface ResyncReport {
  customerId: string;
  /** The organization `metadata.orgId` names; null when it names none. */
  orgId: string | null;
  /** Each subscription of the customer and what mirroring it did. */
  subscriptions: Array<{ subscriptionId: string; outcome: EventOutcome }>;
  /** Why this customer was left as it was (e.g. its organization does not exist, or has another customer). */
  error: string | null;
}

/**
 * Operators: rebuilds customer links and billing mirrors from Stripe (after lost or damaged billing documents).
 * Each customer of the page whose `metadata.orgId` names an organization is linked to it (and its unmatched
 * events re-applied), then each of its subscriptions is mirrored as Stripe has it now; the mirror keeps the one
 * that runs, then the newest, as for events. Idempotent. One page of customers per call (`nextStartingAfter`).
 */
export async function resyncStripeBilling(
  deps: OperatorBillingDeps,
  caller: Caller,
  data: unknown,
): Promise<{ customers: ResyncReport[]; nextStartingAfter: string | null }> {
  await requireOperator(deps.operators, caller);
  return resyncStripeCustomers(deps, parseArgs(resyncStripeBillingArgsSchema, data), caller.uid);
}

export type ResyncArgs = z.infer<typeof resyncStripeBillingArgsSchema>;

/** One page of the resync, for a caller already known to be an operator; `actorUid` goes into the audit log. */
export async function resyncStripeCustomers(
  deps: BillingDeps,
  args: ResyncArgs,
  actorUid: string,
): Promise<{ customers: ResyncReport[]; nextStartingAfter: string | null }> {
  const page = await deps.stripe.customers.list({ limit: args.limit, ...(args.startingAfter ? { starting_after: args.startingAfter } : {}) });
  const customers: ResyncReport[] = [];
  for (const customer of page.data) {
    const orgId = docIdSchema.safeParse(customer.metadata.orgId);
    const report: ResyncReport = { customerId: customer.id, orgId: orgId.success ? orgId.data : null, subscriptions: [], error: null };
    customers.push(report);
    if (!orgId.success) {
      report.error = 'metadata.orgId names no organization';
      continue;
    }
    try {
      try {
        await linkCustomerToOrg(deps, { orgId: orgId.data, customerId: customer.id, auditActorUid: actorUid });
      } catch (error) {
        // Linked; some parked events failed to re-apply. The mirror below still comes from Stripe's truth.
        if (!(error instanceof ReapplyIncomplete)) throw error;
        report.error = `linked, but ${error.failures.length} unmatched event(s) could not be re-applied: replay them`;
      }
      const subscriptions = [];
      for await (const subscription of deps.stripe.subscriptions.list({ customer: customer.id, status: 'all', limit: 100 })) subscriptions.push(subscription);
      // Oldest first, so that each one is weighed against those before it, as their events would have been.
      for (const subscription of subscriptions.sort((a, b) => a.created - b.created)) {
        const outcome = await syncSubscriptionFromStripe(deps, { orgId: orgId.data, customerId: customer.id, subscriptionId: subscription.id });
        report.subscriptions.push({ subscriptionId: subscription.id, outcome });
      }
    } catch (error) {
      report.error = (error as Error).message;
    }
  }
  const last = page.data.at(-1);
  return { customers, nextStartingAfter: page.has_more && last ? last.id : null };
}

/**
 * The resync for every customer Stripe lists, page after page (the restore runbook's billing step): each
 * organization with a Stripe customer gets its link and mirror back from Stripe's truth.
 */
export async function resyncAllStripeCustomers(deps: BillingDeps, actorUid: string, pageSize = 100): Promise<ResyncReport[]> {
  const reports: ResyncReport[] = [];
  let startingAfter: string | undefined;
  for (;;) {
    const page = await resyncStripeCustomers(deps, { limit: pageSize, ...(startingAfter ? { startingAfter } : {}) }, actorUid);
    reports.push(...page.customers);
    if (page.nextStartingAfter === null) return reports;
    startingAfter = page.nextStartingAfter;
  }
}
