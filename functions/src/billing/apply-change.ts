import { Timestamp, type DocumentReference, type Firestore, type Transaction } from 'firebase-admin/firestore';
import type Stripe from 'stripe';
import { z } from 'zod';
import {
  billingRecordSchema,
  organizationStateSchema,
  paths,
  stripeCustomerSchema,
  stripeEventRecordSchema,
  subscriptionMirrorSchema,
  STRIPE_EVENT_RECORD_VERSION,
  SUBSCRIPTION_MIRROR_VERSION,
  type BillingChange,
  type EventOutcome,
  type EventOutcomeReason,
  type StripeCustomerLink,
  type StripeEventRecord,
  type SubscriptionMirror,
} from '@leadpulse/model';
import type { Clock } from '../common/clock';
import { readDocument } from '../common/documents';
import { deriveAccessState, prepareAccessUpdate } from '../orgs/access-state';
import { writeAuditEntry } from '../orgs/audit';
import { INITIAL_PLAN } from '../orgs/create-organization';
import { billingRecordOf, isNewerInvoiceState } from './billing-records';
import type { BillingCatalog } from './catalog';
import { stripeSubscriptionSchema, type StripeSubscription } from './stripe-objects';
import {
  auditableChange,
  lapseStartOf,
  mirrorFieldsOf,
  needsOpenInvoices,
  orgPlanOf,
  replacesMirrored,
  statusForAccess,
  type OpenInvoice,
} from './subscription-state';

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
 * Applies one event's change and records the event in the ledger, in ONE transaction: either both are stored or
 * neither (a failure anywhere leaves nothing, and Stripe's retry starts from scratch).
 * mode `new`: an event already in the ledger is a duplicate and does nothing. mode `replay`: re-processes a
 * ledger entry (its effect is re-derived from Stripe's current truth, so replaying is always safe).
 */
export async function processChange(
  deps: BillingDeps,
  event: EventMeta,
  change: BillingChange,
  mode: 'new' | 'replay',
): Promise<ProcessResult> {
  const { db } = deps;
  const ledgerRef = db.doc(paths.stripeEvent(event.id));
  const linkRef = change.customerId === null ? null : db.doc(paths.stripeCustomer(change.customerId));
  return db.runTransaction(async (tx) => {
    // The ledger entry and the customer link in one round trip (the webhook has already turned duplicates
    // away with a single read; this re-check settles concurrent deliveries of one event).
    const [ledgerSnapshot, linkSnapshot] = linkRef ? await tx.getAll(ledgerRef, linkRef) : [await tx.get(ledgerRef), null];
    const previous = readDocument(stripeEventRecordSchema, ledgerSnapshot);
    if (mode === 'new' && previous) {
      return { eventId: event.id, outcome: previous.outcome, reason: previous.reason, orgId: previous.orgId, duplicate: true };
    }
    if (mode === 'replay' && !previous) throw new Error(`stripeEvents/${event.id} does not exist: nothing to replay`);
    const now = deps.clock();
    const link = linkRef && linkSnapshot ? { ref: linkRef, value: readDocument(stripeCustomerSchema, linkSnapshot) } : null;
    const effect = await planEffect(deps, tx, event, change, link, now);
    const record: StripeEventRecord = stripeEventRecordSchema.parse({
      // Never lowered: an entry a newer release wrote keeps its version (and, merged, its fields).
      schemaVersion: Math.max(previous?.schemaVersion ?? 1, STRIPE_EVENT_RECORD_VERSION),
      type: event.type,
      created: event.created,
      livemode: event.livemode,
      change,
      customerId: change.customerId,
      orgId: effect.orgId,
      outcome: effect.outcome,
      reason: effect.reason,
      receivedAt: previous?.receivedAt ?? Timestamp.fromDate(now),
      processedAt: Timestamp.fromDate(now),
      replayCount: previous ? previous.replayCount + 1 : 0,
    });
    // The ledger entry is staged first and the effect after it; both go out in the one commit.
    // Merged: fields a newer release wrote (unknown to this one) survive its replay.
    if (previous) tx.set(ledgerRef, record, { merge: true });
    else tx.create(ledgerRef, record);
    effect.write();
    return { eventId: event.id, outcome: effect.outcome, reason: effect.reason, orgId: effect.orgId, duplicate: false };
  });
}

/** Reads everything else the change needs (Firestore requires all reads before the first write) and decides. */
async function planEffect(
  deps: BillingDeps,
  tx: Transaction,
  event: EventMeta,
  change: BillingChange,
  customerLink: { ref: DocumentReference; value: StripeCustomerLink | null } | null,
  now: Date,
): Promise<Effect> {
  const { db } = deps;
  if (change.customerId === null || customerLink === null) return skip('ignored', 'no_subscription', null);
  const { ref: linkRef, value: link } = customerLink;
  if (!link) return skip('unmatched', 'unknown_customer', null);
  const orgId = link.orgId;

  switch (change.kind) {
    case 'subscription':
      return planSubscriptionSync(deps, tx, event, { orgId, customerId: change.customerId, subscriptionId: change.subscriptionId }, now);
    case 'checkout':
      if (change.subscriptionId === null) return skip('ignored', 'no_subscription', orgId);
      return planSubscriptionSync(deps, tx, event, { orgId, customerId: change.customerId, subscriptionId: change.subscriptionId }, now);
    case 'invoice': {
      const recordRef = db.doc(paths.billingRecord(change.invoice.invoiceId));
      const existing = readDocument(billingRecordSchema, await tx.get(recordRef));
      const recordIsNewer = isNewerInvoiceState(existing, change.invoice);
      const sync =
        change.invoice.subscriptionId === null
          ? null
          : await planSubscriptionSync(deps, tx, event, { orgId, customerId: change.customerId, subscriptionId: change.invoice.subscriptionId }, now);
      const record = skip(recordIsNewer ? 'applied' : 'stale', null, orgId);
      const combined = sync ? combine(record, sync) : record;
      return {
        ...combined,
        write: () => {
          // Billing records live outside the organization tree: written even if the organization is gone (P6).
          if (recordIsNewer) tx.set(recordRef, billingRecordSchema.parse(billingRecordOf(change.invoice, change.customerId, orgId)));
          sync?.write();
        },
      };
    }
    case 'customer_deleted':
      return planCustomerDeletion(deps, tx, event, { orgId, customerId: change.customerId, linkRef, alreadyDeleted: link.deletedAt !== undefined }, now);
  }
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
  subscriptionId: string;
}

/**
 * Brings the organization's mirror (and its access state) to Stripe's current truth about one subscription.
 * Ordering: an event older than the mirror's watermark for the same subscription is stale (the mirror was
 * written from a fetch made after a newer event, which includes this one's change). Otherwise the payload may be
 * stale (events arrive in any order, several per second), so the subscription is re-fetched from Stripe. The
 * fetch happens inside the transaction after reading the mirror, so two deliveries for the same organization
 * commit in the order they fetched: the last commit always holds the newest state.
 */
async function planSubscriptionSync(
  deps: BillingDeps,
  tx: Transaction,
  event: EventMeta,
  target: SyncTarget,
  now: Date,
): Promise<Effect> {
  const { db } = deps;
  const orgRef = db.doc(paths.org(target.orgId));
  const mirrorRef = db.doc(paths.subscription(target.orgId));
  const [orgSnapshot, mirrorSnapshot] = await tx.getAll(orgRef, mirrorRef);
  const org = readDocument(organizationStateSchema, orgSnapshot);
  if (!org) return skip('ignored', 'org_missing', target.orgId);
  // Nothing is written under an organization being purged; cancelling its deletion re-applies the event.
  if (org.status === 'deleting') return skip('unmatched', 'org_deleting', target.orgId);
  const mirror = readDocument(subscriptionMirrorSchema, mirrorSnapshot);
  const sameSubscription = mirror?.subscriptionId === target.subscriptionId;
  if (mirror && sameSubscription && event.created < mirror.lastEventCreated) return skip('stale', null, target.orgId);

  const subscription = await fetchSubscription(deps.stripe, target.subscriptionId);
  if (subscription.customer !== target.customerId) {
    throw new Error(`Stripe says ${subscription.id} belongs to ${subscription.customer}, the event says ${target.customerId}`);
  }
  if (mirror && !sameSubscription && !replacesMirrored(mirror, subscription)) return skip('superseded', null, target.orgId);

  const openInvoices = needsOpenInvoices(subscription.status) ? await fetchOpenInvoices(deps.stripe, subscription.id) : [];
  const fields = mirrorFieldsOf(subscription, deps.catalog, lapseStartOf(subscription, openInvoices));
  const access = deriveAccessState({
    orgStatus: org.status,
    subscriptionStatus: statusForAccess(fields.status),
    lapsedSince: fields.lapsedSince?.toDate() ?? null,
    now,
  });
  const next: SubscriptionMirror = {
    schemaVersion: Math.max(mirror?.schemaVersion ?? 1, SUBSCRIPTION_MIRROR_VERSION),
    customerId: mirror?.customerId ?? target.customerId,
    customerDeleted: mirror?.customerDeleted ?? false,
    ...fields,
    access,
    lastEventCreated: mirror && sameSubscription ? Math.max(mirror.lastEventCreated, event.created) : event.created,
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
      if (plan !== org.plan) tx.update(orgRef, { plan });
      writeAccess?.(access);
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
}

/**
 * A customer deleted in Stripe: its link is kept as a tombstone (late invoice events still find the organization)
 * and the mirror is marked so that the next checkout creates a new customer. Stripe cancels the customer's
 * subscriptions itself and reports that with their own events.
 */
async function planCustomerDeletion(
  deps: BillingDeps,
  tx: Transaction,
  event: EventMeta,
  deletion: CustomerDeletion,
  now: Date,
): Promise<Effect> {
  const { db } = deps;
  const orgRef = db.doc(paths.org(deletion.orgId));
  const mirrorRef = db.doc(paths.subscription(deletion.orgId));
  const [orgSnapshot, mirrorSnapshot] = await tx.getAll(orgRef, mirrorRef);
  const org = readDocument(organizationStateSchema, orgSnapshot);
  const mirror = readDocument(subscriptionMirrorSchema, mirrorSnapshot);
  const tombstone = () => {
    if (!deletion.alreadyDeleted) tx.update(deletion.linkRef, { deletedAt: Timestamp.fromDate(now) });
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

/** The subscription as Stripe has it now; an answer that fails the schema is a server fault (500, Stripe retries). */
export async function fetchSubscription(stripe: Stripe, subscriptionId: string): Promise<StripeSubscription> {
  const response = await stripe.subscriptions.retrieve(subscriptionId);
  const result = stripeSubscriptionSchema.safeParse(response);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new Error(`Stripe returned subscription ${subscriptionId} invalid at ${issue.path.join('.')}: ${issue.message}`);
}

const openInvoiceSchema = z.object({
  created: z.number().int(),
  status_transitions: z.object({ finalized_at: z.number().int().nullable() }),
});

/** The subscription's unpaid invoices (when each was issued): where its lapse began. */
async function fetchOpenInvoices(stripe: Stripe, subscriptionId: string): Promise<OpenInvoice[]> {
  const invoices: OpenInvoice[] = [];
  for await (const invoice of stripe.invoices.list({ subscription: subscriptionId, status: 'open', limit: 100 })) {
    const result = openInvoiceSchema.safeParse(invoice);
    if (!result.success) throw new Error(`Stripe returned an invalid open invoice of ${subscriptionId}: ${result.error.issues[0].message}`);
    invoices.push({ issuedAt: result.data.status_transitions.finalized_at ?? result.data.created });
  }
  return invoices;
}
