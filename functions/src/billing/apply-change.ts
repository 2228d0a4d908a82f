import { Timestamp, type DocumentReference, type Firestore, type Transaction } from 'firebase-admin/firestore';
import type Stripe from 'stripe';
import {
  LOG_TTL_DAYS,
  billingRecordSchema,
  ORGANIZATION_VERSION,
  organizationStateSchema,
  paths,
  stripeCustomerSchema,
  stripeEventRecordSchema,
  subscriptionMirrorSchema,
  storedStripeEventRecordSchema,
  STRIPE_CUSTOMER_LINK_VERSION,
  STRIPE_EVENT_RECORD_VERSION,
  SUBSCRIPTION_MIRROR_VERSION,
  type EventOutcome,
  type EventOutcomeReason,
  type StripeCustomerLink,
  type StripeEventRecord,
  type StripeEventTarget,
  type SubscriptionMirror,
  stampedVersion,
} from '@leadpulse/model';
import type { Clock } from '../common/clock';
import { readDocument } from '../common/documents';
import { deriveAccessState, prepareAccessUpdate } from '../orgs/access-state';
import { writeAuditEntry } from '../orgs/audit';
import { INITIAL_PLAN } from '../orgs/create-organization';
import { DAY_MS } from '../privacy/config';
import { nextBillingRecord } from './billing-records';
import type { BillingCatalog } from './catalog';
import { fetchFacts, failureOf, snapshotSubscription, type StripeFacts, type SubscriptionSnapshot } from './stripe-fetch';
import { billingChangeOf, isHandledEventType, payloadCustomerOf } from './stripe-objects';
import { auditableChange, lapseStartOf, mirrorFieldsOf, orgPlanOf, replacesMirrored, statusForAccess } from './subscription-state';

/** What the billing handlers need; the Stripe client is passed in so tests point it at a local server. */
export interface BillingDeps {
  db: Firestore;
  stripe: Stripe;
  clock: Clock;
  catalog: BillingCatalog;
}

/** The audit log's actor for changes Stripe reported (not a person). */
export const STRIPE_ACTOR_UID = 'system:stripe';

/** The event a change came from. */
export interface EventMeta {
  id: string;
  type: string;
  /** Seconds. */
  created: number;
  livemode: boolean;
  apiVersion: string | null;
}

export interface ProcessResult {
  eventId: string;
  outcome: EventOutcome;
  reason: EventOutcomeReason | null;
  orgId: string | null;
  /** The event was already in the ledger: nothing was done. */
  duplicate: boolean;
}

/** What one part of an event's effect will do, decided after all reads; `write` stages the writes. */
interface Effect {
  outcome: EventOutcome;
  reason: EventOutcomeReason | null;
  orgId: string | null;
  write: () => void;
}

const nothing = () => undefined;
const skip = (outcome: EventOutcome, reason: EventOutcomeReason | null, orgId: string | null): Effect => ({
  outcome,
  reason,
  orgId,
  write: nothing,
});

/**
 * Applies one event: finds out from Stripe what it concerns (outside any transaction), then applies that and
 * records the event in the ledger in ONE transaction. An event that cannot be applied is recorded `failed` with
 * its reason; `reason: 'retrying'` means the failure may pass (Stripe or Firestore unavailable) and the caller
 * should make Stripe re-send it (a replay throws instead, leaving the entry as it was). mode `new`: an event already in the ledger (other than `failed`) is a duplicate
 * and does nothing. mode `replay`: re-processes a ledger entry from Stripe's current truth (always safe).
 */
export async function applyEvent(deps: BillingDeps, event: EventMeta, target: StripeEventTarget, mode: 'new' | 'replay'): Promise<ProcessResult> {
  if (!isHandledEventType(event.type)) {
    return recordFailure(deps, event, target, null, mode, { reason: 'invalid_payload', detail: `type: ${event.type} is not handled` });
  }
  const change = billingChangeOf(event.type, target);
  if (!change.ok) return recordFailure(deps, event, target, null, mode, { reason: 'invalid_payload', detail: change.reason });
  let facts: StripeFacts;
  try {
    facts = await fetchFacts(deps, change.value);
  } catch (error) {
    const failure = failureOf(error);
    // A replay that may succeed later leaves the entry as it was (its caller reports the error).
    if (!failure.permanent && mode === 'replay') throw error;
    return recordFailure(deps, event, target, payloadCustomerOf(target, change.value.kind), mode, failure);
  }
  return processChange(deps, event, target, facts, mode);
}

/** Most characters of a failure's detail the ledger keeps. */
const DETAIL_LIMIT = 1000;

/**
 * Records that an event could not be applied, unless (mode `new`) it has meanwhile been processed by a concurrent
 * delivery. Nothing but the ledger entry is written.
 */
export async function recordFailure(
  deps: Pick<BillingDeps, 'db' | 'clock'>,
  event: EventMeta,
  target: StripeEventTarget,
  customerId: string | null,
  mode: 'new' | 'replay',
  failure: { reason: EventOutcomeReason; detail: string },
): Promise<ProcessResult> {
  const ledgerRef = deps.db.doc(paths.stripeEvent(event.id));
  return deps.db.runTransaction(async (tx) => {
    const previous = readDocument(storedStripeEventRecordSchema, await tx.get(ledgerRef));
    if (mode === 'new' && previous && previous.outcome !== 'failed') {
      return { eventId: event.id, outcome: previous.outcome, reason: previous.reason, orgId: previous.orgId, duplicate: true };
    }
    const now = deps.clock();
    tx.set(
      ledgerRef,
      stripeEventRecordSchema.parse({
        ...ledgerFields(event, target, previous, mode, now),
        customerId: customerId ?? previous?.customerId ?? null,
        orgId: previous?.orgId ?? null,
        outcome: 'failed',
        reason: failure.reason,
        detail: failure.detail.slice(0, DETAIL_LIMIT),
      }),
      // Merged, as below: fields a newer release wrote survive.
      { merge: true },
    );
    return { eventId: event.id, outcome: 'failed' as const, reason: failure.reason, orgId: previous?.orgId ?? null, duplicate: false };
  });
}

function ledgerFields(event: EventMeta, target: StripeEventTarget, previous: StripeEventRecord | null, mode: 'new' | 'replay', now: Date) {
  const receivedAt = previous?.receivedAt ?? Timestamp.fromDate(now);
  const receivedMs = receivedAt.seconds * 1000 + Math.floor(receivedAt.nanoseconds / 1e6);
  return {
    // Never lowered: an entry a newer release wrote keeps its version (and, merged, its fields).
    schemaVersion: stampedVersion(previous?.schemaVersion, STRIPE_EVENT_RECORD_VERSION),
    type: event.type,
    created: event.created,
    livemode: event.livemode,
    apiVersion: event.apiVersion,
    target,
    receivedAt,
    expiresAt: Timestamp.fromMillis(receivedMs + LOG_TTL_DAYS * DAY_MS),
    processedAt: Timestamp.fromDate(now),
    replayCount: previous ? previous.replayCount + (mode === 'replay' ? 1 : 0) : 0,
  };
}

/**
 * Applies facts fetched from Stripe and records the event in the ledger, in ONE transaction: either both are
 * stored or neither (a failure anywhere leaves nothing, and Stripe's retry starts from scratch). No Stripe call
 * is made here.
 */
async function processChange(
  deps: BillingDeps,
  event: EventMeta,
  target: StripeEventTarget,
  facts: StripeFacts,
  mode: 'new' | 'replay',
): Promise<ProcessResult> {
  const { db } = deps;
  const ledgerRef = db.doc(paths.stripeEvent(event.id));
  const linkRef = facts.customerId === null ? null : db.doc(paths.stripeCustomer(facts.customerId));
  return db.runTransaction(async (tx) => {
    // The ledger entry and the customer link in one round trip (the webhook has already turned duplicates
    // away with a single read; this re-check settles concurrent deliveries of one event).
    const [ledgerSnapshot, linkSnapshot] = linkRef ? await tx.getAll(ledgerRef, linkRef) : [await tx.get(ledgerRef), null];
    const previous = readDocument(storedStripeEventRecordSchema, ledgerSnapshot);
    if (mode === 'new' && previous && previous.outcome !== 'failed') {
      return { eventId: event.id, outcome: previous.outcome, reason: previous.reason, orgId: previous.orgId, duplicate: true };
    }
    if (mode === 'replay' && !previous) throw new Error(`stripeEvents/${event.id} does not exist: nothing to replay`);
    const now = deps.clock();
    const link = linkRef && linkSnapshot ? { ref: linkRef, value: readDocument(stripeCustomerSchema, linkSnapshot) } : null;
    const effect = await planEffect(deps, tx, event, facts, link, now);
    const record: StripeEventRecord = stripeEventRecordSchema.parse({
      ...ledgerFields(event, target, previous, mode, now),
      customerId: facts.customerId,
      orgId: effect.orgId,
      outcome: effect.outcome,
      reason: effect.reason,
      detail: null,
    });
    // The ledger entry is staged first and the effect after it; both go out in the one commit.
    // Merged: fields a newer release wrote (unknown to this one) survive its replay.
    if (previous) tx.set(ledgerRef, record, { merge: true });
    else tx.create(ledgerRef, record);
    effect.write();
    return { eventId: event.id, outcome: effect.outcome, reason: effect.reason, orgId: effect.orgId, duplicate: false };
  });
}

/** The event type an operator's resync writes in audit entries (no Stripe event caused it). */
const RESYNC_EVENT_TYPE = 'operator.resync';

/**
 * Mirrors one subscription of a linked customer as Stripe has it now, without an event (an operator's resync):
 * fetched first, applied in one transaction with the same rules as events, its watermark the time of the fetch.
 */
export async function syncSubscriptionFromStripe(
  deps: BillingDeps,
  target: { orgId: string; customerId: string; subscriptionId: string },
): Promise<EventOutcome> {
  const snapshot = await snapshotSubscription(deps, target.subscriptionId);
  if (snapshot.subscription.customer !== target.customerId) {
    throw new Error(`Stripe says ${target.subscriptionId} belongs to ${snapshot.subscription.customer}, not ${target.customerId}`);
  }
  const event: EventMeta = {
    id: `resync-${target.subscriptionId}`,
    type: RESYNC_EVENT_TYPE,
    created: Math.floor(snapshot.fetchedAt / 1000),
    livemode: false,
    apiVersion: null,
  };
  return deps.db.runTransaction(async (tx) => {
    const effect = await planSubscriptionSync(deps, tx, event, { orgId: target.orgId, customerId: target.customerId, snapshot }, deps.clock());
    effect.write();
    return effect.outcome;
  });
}

/** Reads everything else the change needs (Firestore requires all reads before the first write) and decides. */
async function planEffect(
  deps: BillingDeps,
  tx: Transaction,
  event: EventMeta,
  facts: StripeFacts,
  customerLink: { ref: DocumentReference; value: StripeCustomerLink | null } | null,
  now: Date,
): Promise<Effect> {
  const { db } = deps;
  if (facts.kind === 'nothing' || customerLink === null) {
    return skip('ignored', facts.kind === 'nothing' ? facts.reason : 'no_customer', customerLink?.value?.orgId ?? null);
  }
  const { ref: linkRef, value: link } = customerLink;
  if (!link) {
    if (facts.kind !== 'invoice') return skip('unmatched', 'unknown_customer', null);
    // The 7-year record (P6) does not wait for a link, which may never come: the ledger entry is purged after 180 days.
    const writeRecord = await planBillingRecord(db, tx, facts, null);
    return { ...skip('unmatched', 'unknown_customer', null), write: writeRecord ?? (() => undefined) };
  }
  const orgId = link.orgId;

  switch (facts.kind) {
    case 'subscription':
      return planSubscriptionSync(deps, tx, event, { orgId, customerId: facts.customerId, snapshot: facts.subscription }, now);
    case 'invoice': {
      const writeRecord = await planBillingRecord(db, tx, facts, orgId);
      const sync = facts.subscription
        ? await planSubscriptionSync(deps, tx, event, { orgId, customerId: facts.customerId, snapshot: facts.subscription }, now)
        : null;
      const record = skip(writeRecord ? 'applied' : 'stale', null, orgId);
      const combined = sync ? combine(record, sync) : record;
      return {
        ...combined,
        write: () => {
          // Billing records live outside the organization tree: written even if the organization is gone (P6).
          writeRecord?.();
          sync?.write();
        },
      };
    }
    case 'customer_deleted':
      return planCustomerDeletion(
        deps,
        tx,
        event,
        { orgId, customerId: facts.customerId, linkRef, alreadyDeleted: link.deletedAt !== undefined, linkVersion: link.schemaVersion },
        now,
      );
  }
}

/** Reads the invoice's billing record inside `tx`; returns its write when it changes (nextBillingRecord), else null. */
async function planBillingRecord(
  db: Firestore,
  tx: Transaction,
  facts: Extract<StripeFacts, { kind: 'invoice' }>,
  orgId: string | null,
): Promise<(() => void) | null> {
  const { invoice, refund, fetchedAt } = facts.invoice;
  const recordRef = db.doc(paths.billingRecord(invoice.invoiceId));
  const existing = readDocument(billingRecordSchema, await tx.get(recordRef));
  const next = nextBillingRecord(existing, invoice, refund, facts.customerId, orgId, fetchedAt);
  return next ? () => tx.set(recordRef, billingRecordSchema.parse(next)) : null;
}

/** The ledger outcome of an event with two parts: waiting beats done, done beats nothing-to-do. */
function combine(first: Effect, second: Effect): Omit<Effect, 'write'> {
  const precedence: EventOutcome[] = ['unmatched', 'applied', 'superseded', 'stale', 'ignored'];
  const winner = precedence.indexOf(first.outcome) <= precedence.indexOf(second.outcome) ? first : second;
  return { outcome: winner.outcome, reason: winner.reason, orgId: first.orgId ?? second.orgId };
}

interface SyncTarget {
  orgId: string;
  customerId: string;
  snapshot: SubscriptionSnapshot;
}

/**
 * Brings the organization's mirror (and its access state) to Stripe's current truth about one subscription,
 * fetched before the transaction. Ordering: an event older than the mirror's watermark for the same subscription
 * is stale (the mirror was written from a fetch made after a newer event, which includes this one's change); so
 * is a fetch that started before the one the mirror holds (`fetchedAt`), whatever order the commits come in.
 */
async function planSubscriptionSync(deps: BillingDeps, tx: Transaction, event: EventMeta, target: SyncTarget, now: Date): Promise<Effect> {
  const { db } = deps;
  const orgRef = db.doc(paths.org(target.orgId));
  const mirrorRef = db.doc(paths.subscription(target.orgId));
  const [orgSnapshot, mirrorSnapshot] = await tx.getAll(orgRef, mirrorRef);
  const org = readDocument(organizationStateSchema, orgSnapshot);
  if (!org) return skip('ignored', 'org_missing', target.orgId);
  // Nothing is written under an organization being purged; cancelling its deletion re-applies the event.
  if (org.status === 'deleting') return skip('unmatched', 'org_deleting', target.orgId);
  const mirror = readDocument(subscriptionMirrorSchema, mirrorSnapshot);
  const sameSubscription = mirror?.subscriptionId === target.snapshot.subscription.id;
  if (mirror && sameSubscription && event.created < mirror.lastEventCreated) return skip('stale', null, target.orgId);

  const { subscription, openInvoices, fetchedAt } = target.snapshot;
  if (mirror && sameSubscription && mirror.fetchedAt !== undefined && mirror.fetchedAt.toMillis() > fetchedAt) {
    return skip('stale', null, target.orgId);
  }
  if (mirror && !sameSubscription && !replacesMirrored(mirror, subscription)) return skip('superseded', null, target.orgId);

  const fields = mirrorFieldsOf(subscription, deps.catalog, lapseStartOf(subscription, openInvoices));
  const access = deriveAccessState({
    orgStatus: org.status,
    subscriptionStatus: statusForAccess(fields.status),
    lapsedSince: fields.lapsedSince?.toDate() ?? null,
    now,
  });
  const next: SubscriptionMirror = {
    schemaVersion: stampedVersion(mirror?.schemaVersion, SUBSCRIPTION_MIRROR_VERSION),
    customerId: mirror?.customerId ?? target.customerId,
    customerDeleted: mirror?.customerDeleted ?? false,
    ...fields,
    access,
    lastEventCreated: mirror && sameSubscription ? Math.max(mirror.lastEventCreated, event.created) : event.created,
    fetchedAt: Timestamp.fromMillis(fetchedAt),
    updatedAt: Timestamp.fromDate(now),
  };
  const plan = orgPlanOf(next, INITIAL_PLAN);
  const writeAccess = access === org.access ? null : await prepareAccessUpdate(db, tx, target.orgId);
  return {
    outcome: 'applied',
    reason: null,
    orgId: target.orgId,
    write: () => {
      // Merged: fields a newer release wrote (unknown to this one) survive, during a rolling deploy or a rollback.
      tx.set(mirrorRef, subscriptionMirrorSchema.parse(next), { merge: true });
      if (plan !== org.plan) tx.update(orgRef, { plan, schemaVersion: stampedVersion(org.schemaVersion, ORGANIZATION_VERSION) });
      writeAccess?.(access, org);
      if (auditableChange(mirror, next, org.access, access)) {
        writeAuditEntry(
          db,
          tx,
          target.orgId,
          {
            action: 'billing.subscription_changed',
            actorUid: STRIPE_ACTOR_UID,
            targetId: subscription.id,
            details: {
              eventId: event.id,
              eventType: event.type,
              status: next.status,
              plan: next.plan,
              seats: next.seats,
              cancelAtPeriodEnd: next.cancelAtPeriodEnd,
              access,
            },
          },
          now,
        );
      }
    },
  };
}

interface CustomerDeletion {
  orgId: string;
  customerId: string;
  linkRef: DocumentReference;
  alreadyDeleted: boolean;
  /** The stored link's `schemaVersion` (absent: 1). */
  linkVersion: number | undefined;
}

/**
 * A customer deleted in Stripe: its link is kept as a tombstone (late invoice events still find the organization)
 * and the mirror is marked so that the next checkout creates a new customer. Stripe cancels the customer's
 * subscriptions itself and reports that with their own events.
 */
async function planCustomerDeletion(deps: BillingDeps, tx: Transaction, event: EventMeta, deletion: CustomerDeletion, now: Date): Promise<Effect> {
  const { db } = deps;
  const orgRef = db.doc(paths.org(deletion.orgId));
  const mirrorRef = db.doc(paths.subscription(deletion.orgId));
  const [orgSnapshot, mirrorSnapshot] = await tx.getAll(orgRef, mirrorRef);
  const org = readDocument(organizationStateSchema, orgSnapshot);
  const mirror = readDocument(subscriptionMirrorSchema, mirrorSnapshot);
  const tombstone = () => {
    if (!deletion.alreadyDeleted)
      tx.update(deletion.linkRef, {
        deletedAt: Timestamp.fromDate(now),
        schemaVersion: stampedVersion(deletion.linkVersion, STRIPE_CUSTOMER_LINK_VERSION),
      });
  };
  if (!org) return { outcome: 'ignored', reason: 'org_missing', orgId: deletion.orgId, write: tombstone };
  if (org.status === 'deleting') return { outcome: 'unmatched', reason: 'org_deleting', orgId: deletion.orgId, write: tombstone };
  const marksMirror = mirror !== null && mirror.customerId === deletion.customerId && !mirror.customerDeleted;
  if (!marksMirror && deletion.alreadyDeleted) return skip('stale', null, deletion.orgId);
  return {
    outcome: 'applied',
    reason: null,
    orgId: deletion.orgId,
    write: () => {
      tombstone();
      if (!marksMirror) return;
      tx.update(mirrorRef, { customerDeleted: true, updatedAt: Timestamp.fromDate(now) });
      writeAuditEntry(
        db,
        tx,
        deletion.orgId,
        {
          action: 'billing.subscription_changed',
          actorUid: STRIPE_ACTOR_UID,
          targetId: deletion.customerId,
          details: { eventId: event.id, eventType: event.type, customerDeleted: true },
        },
        now,
      );
    },
  };
}
