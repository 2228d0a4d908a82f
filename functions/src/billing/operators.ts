import { HttpsError } from 'firebase-functions/v2/https';
import {
  linkStripeCustomerArgsSchema,
  replayStripeEventsArgsSchema,
  serverCollections,
  stripeEventRecordSchema,
  type StripeEventRecord,
  type EventOutcome,
  type EventOutcomeReason,
} from '@leadpulse/model';
import { parseArgs, type Caller } from '../common/callable';
import { readDocument } from '../common/documents';
import { requireOperator, type OperatorAuth } from '../common/operators';
import type { BillingDeps, ProcessResult } from './apply-change';
import { linkCustomerToOrg, replayLedgerEntry } from './customers';

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
  deps: OperatorBillingDeps,
  caller: Caller,
  data: unknown,
): Promise<{ reapplied: ReplayReport[] }> {
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
  const results = await linkCustomerToOrg(deps, { orgId: args.orgId, customerId: args.customerId, auditActorUid: caller.uid });
  return { reapplied: results.map(reportOf) };
}

/**
 * Operators: re-processes ledger entries, named ones or the unmatched ones (optionally of one customer). Each
 * entry's effect is re-derived from Stripe's current truth, so replaying an applied event changes nothing.
 */
export async function replayStripeEvents(deps: OperatorBillingDeps, caller: Caller, data: unknown): Promise<{ results: ReplayReport[] }> {
  await requireOperator(deps.operators, caller);
  const args = parseArgs(replayStripeEventsArgsSchema, data);
  let eventIds: string[];
  if ('eventIds' in args) {
    eventIds = args.eventIds;
  } else {
    let query = deps.db.collection(serverCollections.stripeEvents).where('outcome', '==', args.outcome);
    if (args.customerId) query = query.where('customerId', '==', args.customerId);
    const snapshot = await query.limit(args.limit).get();
    eventIds = snapshot.docs
      .map((doc) => ({ id: doc.id, created: (readDocument(stripeEventRecordSchema, doc) as StripeEventRecord).created }))
      .sort((a, b) => a.created - b.created || a.id.localeCompare(b.id))
      .map((entry) => entry.id);
  }
  const results: ReplayReport[] = [];
  for (const eventId of eventIds) {
    try {
      results.push(reportOf(await replayLedgerEntry(deps, eventId)));
    } catch (error) {
      results.push({ eventId, outcome: null, reason: null, error: (error as Error).message });
    }
  }
  return { results };
}
