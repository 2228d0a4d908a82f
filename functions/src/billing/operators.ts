import { HttpsError } from 'firebase-functions/v2/https';
import {
  linkStripeCustomerArgsSchema,
  replayStripeEventsArgsSchema,
  paths,
  serverCollections,
  type EventOutcome,
  type EventOutcomeReason,
} from '@leadpulse/model';
import { parseArgs, type Caller } from '../common/callable';
import { readDocument } from '../common/documents';
import { skipItem, type SkippedItem } from '../common/logging';
import type { BillingDeps, ProcessResult } from './apply-change';
import { ReapplyIncomplete, ledgerOrderSchema, linkCustomerToOrg, replayLedgerEntry } from './customers';

/** Operator status comes only from a custom claim the backend sets with the Admin SDK. */
function requireOperator(caller: Caller): void {
  if (caller.claims.operator !== true) throw new HttpsError('permission-denied', 'operators only');
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
export async function linkStripeCustomer(
  deps: BillingDeps,
  caller: Caller,
  data: unknown,
): Promise<{ reapplied: ReplayReport[] }> {
  requireOperator(caller);
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
export async function replayStripeEvents(deps: BillingDeps, caller: Caller, data: unknown): Promise<{ results: ReplayReport[] }> {
  requireOperator(caller);
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
