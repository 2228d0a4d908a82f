import { Timestamp } from 'firebase-admin/firestore';
import { HttpsError } from 'firebase-functions/v2/https';
import {
  organizationStateSchema,
  paths,
  serverCollections,
  stripeCustomerSchema,
  storedStripeEventRecordSchema,
  stripeEventRecordSchema,
  subscriptionMirrorSchema,
  STRIPE_CUSTOMER_LINK_VERSION,
  SUBSCRIPTION_MIRROR_VERSION,
  type SubscriptionMirror,
  stampedVersion,
} from '@leadpulse/model';
import { readDocument } from '../common/documents';
import { skipItem, type SkippedItem } from '../common/logging';
import { deriveAccessState, prepareAccessUpdate } from '../orgs/access-state';
import { writeAuditEntry } from '../orgs/audit';
import { applyEvent, type BillingDeps, type ProcessResult } from './apply-change';

/**
 * The organization's Stripe customer, created on first use. Stripe receives the organization id and the billing
 * e-mail, nothing else (P13). The idempotency key is derived from the organization (and the customer it replaces),
 * so concurrent first checkouts get the same customer from Stripe instead of two.
 */
export async function ensureOrgCustomer(deps: BillingDeps, orgId: string, billingEmail: string): Promise<string> {
  const mirror = readDocument(subscriptionMirrorSchema, await deps.db.doc(paths.subscription(orgId)).get());
  if (mirror && !mirror.customerDeleted) return mirror.customerId;
  const idempotencyKey = mirror ? `org-customer-${orgId}-after-${mirror.customerId}` : `org-customer-${orgId}`;
  const customer = await deps.stripe.customers.create({ email: billingEmail, metadata: { orgId } }, { idempotencyKey });
  await linkCustomerToOrg(deps, { orgId, customerId: customer.id, auditActorUid: null });
  return customer.id;
}

export interface CustomerLink {
  orgId: string;
  customerId: string;
  /** Who linked it, for an audit entry; null when the link is part of an action audited on its own (checkout). */
  auditActorUid: string | null;
}

/**
 * Makes `customerId` the organization's customer: writes the link (`stripeCustomers/{id}`) and the mirror in one
 * transaction, then re-applies the events that arrived for this customer before the link existed. Idempotent.
 */
export async function linkCustomerToOrg(deps: BillingDeps, link: CustomerLink): Promise<ProcessResult[]> {
  const { db } = deps;
  const orgRef = db.doc(paths.org(link.orgId));
  const linkRef = db.doc(paths.stripeCustomer(link.customerId));
  const mirrorRef = db.doc(paths.subscription(link.orgId));
  await db.runTransaction(async (tx) => {
    const [orgSnapshot, linkSnapshot, mirrorSnapshot] = await tx.getAll(orgRef, linkRef, mirrorRef);
    const org = readDocument(organizationStateSchema, orgSnapshot);
    if (!org) throw new HttpsError('not-found', `organization ${link.orgId} does not exist`);
    if (org.status !== 'active') throw new HttpsError('failed-precondition', 'the organization is being deleted');
    const existingLink = readDocument(stripeCustomerSchema, linkSnapshot);
    if (existingLink && existingLink.orgId !== link.orgId) {
      throw new HttpsError('failed-precondition', `customer ${link.customerId} belongs to another organization`);
    }
    const mirror = readDocument(subscriptionMirrorSchema, mirrorSnapshot);
    if (mirror && mirror.customerId !== link.customerId && !mirror.customerDeleted) {
      throw new HttpsError('failed-precondition', `the organization already has customer ${mirror.customerId}`);
    }
    const now = deps.clock();
    const createLink = () => {
      if (!existingLink)
        tx.create(linkRef, stripeCustomerSchema.parse({ schemaVersion: STRIPE_CUSTOMER_LINK_VERSION, orgId: link.orgId, createdAt: Timestamp.fromDate(now) }));
    };
    if (mirror?.customerId === link.customerId) return createLink();

    const access = mirror ? mirror.access : deriveAccessState({ orgStatus: org.status, subscriptionStatus: null, lapsedSince: null, now });
    const writeAccess = access === org.access ? null : await prepareAccessUpdate(db, tx, link.orgId);
    createLink();
    const next: SubscriptionMirror = mirror
      ? {
          ...mirror,
          schemaVersion: stampedVersion(mirror.schemaVersion, SUBSCRIPTION_MIRROR_VERSION),
          customerId: link.customerId,
          customerDeleted: false,
          updatedAt: Timestamp.fromDate(now),
        }
      : {
          schemaVersion: SUBSCRIPTION_MIRROR_VERSION,
          customerId: link.customerId,
          customerDeleted: false,
          subscriptionId: null,
          subscriptionCreated: null,
          status: null,
          plan: null,
          priceId: null,
          seats: 0,
          currentPeriodEnd: null,
          cancelAtPeriodEnd: false,
          trialEnd: null,
          lapsedSince: null,
          access,
          lastEventCreated: 0,
          updatedAt: Timestamp.fromDate(now),
        };
    tx.set(mirrorRef, subscriptionMirrorSchema.parse(next), { merge: true });
    writeAccess?.(access, org);
    if (link.auditActorUid !== null) {
      writeAuditEntry(
        db,
        tx,
        link.orgId,
        {
          action: 'billing.subscription_changed',
          actorUid: link.auditActorUid,
          targetId: link.customerId,
          details: { customerLinked: true, replacedCustomerId: mirror?.customerId ?? null },
        },
        now,
      );
    }
  });
  return reapplyUnmatched(deps, link.customerId);
}

/** Most unmatched events one call re-applies; more are left for the next link, cancellation or an operator's replay. */
const REAPPLY_LIMIT = 500;

/** Re-applies, oldest first, the ledger entries of `customerId` that were unmatched (e.g. before it was linked). */
export function reapplyUnmatched(deps: BillingDeps, customerId: string): Promise<ProcessResult[]> {
  return reapplyUnmatchedWhere(deps, 'customerId', customerId);
}

/**
 * Re-applies, oldest first, the ledger entries parked as unmatched for `orgId` (only `org_deleting` entries name
 * an organization): run once its deletion is cancelled, so its billing is re-derived from Stripe's current truth.
 */
export function reapplyUnmatchedOfOrg(deps: BillingDeps, orgId: string): Promise<ProcessResult[]> {
  return reapplyUnmatchedWhere(deps, 'orgId', orgId);
}

/**
 * Some parked events could not be re-applied (each was reported and logged); every other one was. Thrown after
 * all of them were tried, so a caller that needs all of them (cancelling a deletion) learns it did not get them.
 */
export class ReapplyIncomplete extends Error {
  constructor(
    readonly results: ProcessResult[],
    readonly failures: SkippedItem[],
  ) {
    super(`${failures.length} parked Stripe events could not be re-applied: ${failures.map((failure) => failure.item).join(', ')}`);
    this.name = 'ReapplyIncomplete';
  }
}

/** What the ledger's order needs of an entry; an entry without it cannot be placed, and is reported. */
export const ledgerOrderSchema = stripeEventRecordSchema.pick({ created: true });

async function reapplyUnmatchedWhere(deps: BillingDeps, field: 'customerId' | 'orgId', value: string): Promise<ProcessResult[]> {
  const snapshot = await deps.db
    .collection(serverCollections.stripeEvents)
    .where(field, '==', value)
    .where('outcome', '==', 'unmatched')
    .limit(REAPPLY_LIMIT)
    .get();
  const failures: SkippedItem[] = [];
  const entries: Array<{ id: string; created: number }> = [];
  for (const doc of snapshot.docs) {
    try {
      entries.push({ id: doc.id, created: (readDocument(ledgerOrderSchema, doc) ?? { created: 0 }).created });
    } catch (error) {
      failures.push(skipItem('reapplyUnmatched', doc.ref.path, error));
    }
  }
  entries.sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
  const results: ProcessResult[] = [];
  for (const entry of entries) {
    try {
      results.push(await replayLedgerEntry(deps, entry.id));
    } catch (error) {
      failures.push(skipItem('reapplyUnmatched', paths.stripeEvent(entry.id), error));
    }
  }
  if (failures.length > 0) throw new ReapplyIncomplete(results, failures);
  return results;
}

/**
 * Re-processes one ledger entry from its stored target: the object is re-fetched, so its effect is Stripe's
 * current truth, and an entry that failed is parsed again by today's code.
 */
export async function replayLedgerEntry(deps: BillingDeps, eventId: string): Promise<ProcessResult> {
  const record = readDocument(storedStripeEventRecordSchema, await deps.db.doc(paths.stripeEvent(eventId)).get());
  if (!record) throw new HttpsError('not-found', `no ledger entry for ${eventId}`);
  return applyEvent(
    deps,
    { id: eventId, type: record.type, created: record.created, livemode: record.livemode, apiVersion: record.apiVersion },
    record.target,
    'replay',
  );
}
