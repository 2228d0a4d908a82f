import { FieldValue, Timestamp, type Firestore, type Transaction } from 'firebase-admin/firestore';
import { HttpsError } from 'firebase-functions/v2/https';
import {
  cancelOrganizationDeletionArgsSchema,
  DELETION_REQUEST_VERSION,
  memberSchema,
  organizationStateSchema,
  orgDeletionRequestSchema,
  paths,
  requestOrganizationDeletionArgsSchema,
  subscriptionMirrorSchema,
  type AccessState,
  type OrgDeletionRequest,
  type OrganizationState,
} from '@leadpulse/model';
import { parseArgs, type Caller } from '../common/callable';
import type { Clock } from '../common/clock';
import { readDocument } from '../common/documents';
import { logError } from '../common/logging';
import { deriveAccessState, prepareAccessUpdate } from '../orgs/access-state';
import { writeAuditEntry } from '../orgs/audit';
import { requireOwnershipQuota } from '../orgs/membership-access';
import { statusForAccess } from '../billing/subscription-state';
import { DELETION_DEADLINE_DAYS, addDays } from './config';

/**
 * Cancels the organization's Stripe subscription at once. Must be idempotent: a no-op when there is none or it
 * is already cancelled (the purge calls it again before deleting the billing mirror).
 */
export type CancelSubscription = (orgId: string) => Promise<void>;

export interface OrgDeletionDeps {
  db: Firestore;
  clock: Clock;
  /** Days the owner may cancel (checked by checkGraceDays). */
  graceDays: number;
  cancelSubscription: CancelSubscription;
}

export interface PreparedOrgDeletion {
  org: OrganizationState | null;
  /** The deletion already requested, if any. */
  existing: OrgDeletionRequest | null;
  /**
   * Writes, in the transaction: organization `deleting`, access `none` on it and every member document (the
   * rules deny every client request from this commit on), the deletion request, and the audit entry.
   */
  schedule(requestedBy: string, now: Date, graceDays: number): OrgDeletionRequest;
}

/** Reads inside `tx` what scheduling the deletion of `orgId` needs; Firestore wants every read before any write. */
export async function prepareOrgDeletion(db: Firestore, tx: Transaction, orgId: string): Promise<PreparedOrgDeletion> {
  const orgRef = db.doc(paths.org(orgId));
  const requestRef = db.doc(paths.deletionRequest(orgId));
  const [orgSnapshot, requestSnapshot] = await tx.getAll(orgRef, requestRef);
  const org = readDocument(organizationStateSchema, orgSnapshot);
  const existing = readDocument(orgDeletionRequestSchema, requestSnapshot);
  const applyAccess = await prepareAccessUpdate(db, tx, orgId);
  return {
    org,
    existing,
    schedule(requestedBy, now, graceDays) {
      const requestedAt = Timestamp.fromDate(now);
      const request = orgDeletionRequestSchema.parse({
        schemaVersion: DELETION_REQUEST_VERSION,
        kind: 'organization',
        orgId,
        requestedBy,
        requestedAt,
        graceEndsAt: Timestamp.fromDate(addDays(now, graceDays)),
        deadline: Timestamp.fromDate(addDays(now, DELETION_DEADLINE_DAYS)),
        state: 'pending',
        purge: null,
      } satisfies OrgDeletionRequest);
      // Callers schedule only an organization that exists (an update of a missing one would fail the commit).
      applyAccess('none', org ?? {});
      tx.update(orgRef, { status: 'deleting', deletionRequestedAt: requestedAt });
      tx.create(requestRef, request);
      writeAuditEntry(
        db,
        tx,
        orgId,
        {
          action: 'org.deletion_requested',
          actorUid: requestedBy,
          targetId: orgId,
          details: { graceEndsAt: request.graceEndsAt.toDate().toISOString(), deadline: request.deadline.toDate().toISOString() },
        },
        now,
      );
      return request;
    },
  };
}

/**
 * Cancels the subscription after the deletion is recorded. A Stripe failure does not undo the request (access is
 * already gone): the purge cancels again before it deletes anything, so it is logged and reported.
 */
export async function cancelSubscriptionReporting(cancel: CancelSubscription, orgId: string): Promise<boolean> {
  try {
    await cancel(orgId);
    return true;
  } catch (error) {
    logError('could not cancel the subscription of an organization being deleted; the purge will retry', error, { orgId });
    return false;
  }
}

export interface OrgDeletionStatus {
  orgId: string;
  state: OrgDeletionRequest['state'];
  /** ISO 8601: until then the owner may cancel. */
  graceEndsAt: string;
  /** ISO 8601: everything is gone by then. */
  deadline: string;
  subscriptionCancelled: boolean;
}

/**
 * `requestOrganizationDeletion` (owner). Idempotent: a repeated or concurrent request returns the deletion
 * already recorded, so there is only ever one request, and one purge, per organization.
 */
export async function requestOrganizationDeletion(deps: OrgDeletionDeps, caller: Caller, data: unknown): Promise<OrgDeletionStatus> {
  const { orgId } = parseArgs(requestOrganizationDeletionArgsSchema, data);
  const { db } = deps;
  const request = await db.runTransaction(async (tx) => {
    const member = readDocument(memberSchema, await tx.get(db.doc(paths.member(orgId, caller.uid))));
    const prepared = await prepareOrgDeletion(db, tx, orgId);
    if (!prepared.org || !member) throw new HttpsError('permission-denied', 'you are not a member of this organization');
    if (member.role !== 'owner') throw new HttpsError('permission-denied', 'only the owner can delete the organization');
    return prepared.existing ?? prepared.schedule(caller.uid, deps.clock(), deps.graceDays);
  });
  const subscriptionCancelled = await cancelSubscriptionReporting(deps.cancelSubscription, orgId);
  return {
    orgId,
    state: request.state,
    graceEndsAt: request.graceEndsAt.toDate().toISOString(),
    deadline: request.deadline.toDate().toISOString(),
    subscriptionCancelled,
  };
}

/**
 * Re-derives the organization's billing from Stripe once its deletion is cancelled: the Stripe events parked
 * (`unmatched`, `org_deleting`) while it was being deleted are re-applied through billing's own path. Returns how
 * many were re-applied. Must be idempotent: once nothing is parked, it does nothing and asks Stripe nothing.
 */
export type ReconcileBilling = (orgId: string) => Promise<number>;

export interface CancelOrgDeletionDeps extends Pick<OrgDeletionDeps, 'db' | 'clock'> {
  reconcileBilling: ReconcileBilling;
  /** MAX_ORGS_PER_OWNER: an organization brought back counts again against its owner's bound. */
  maxOrgsPerOwner: number;
}

export interface CancelledOrgDeletion {
  orgId: string;
  /** The access the organization has now, after billing was re-derived. */
  access: AccessState;
  /** false: Stripe could not be reached; the parked events wait for an operator's replay (logged). */
  billingReconciled: boolean;
}

/**
 * `cancelOrganizationDeletion` (owner, before the grace period ends): the organization and its members get back
 * the access its billing allows. The subscription cancelled by the request stays cancelled (Stripe cannot revive
 * it); the owner subscribes again through checkout. The transaction restores access from the mirror; the Stripe
 * events that arrived meanwhile (e.g. that cancellation) were parked, so they are re-applied after the commit and
 * bring mirror, plan and access to Stripe's truth. A Stripe failure there does not undo the cancellation.
 */
export async function cancelOrganizationDeletion(deps: CancelOrgDeletionDeps, caller: Caller, data: unknown): Promise<CancelledOrgDeletion> {
  const { orgId } = parseArgs(cancelOrganizationDeletionArgsSchema, data);
  const { db } = deps;
  const restoredAccess = await db.runTransaction(async (tx) => {
    const orgRef = db.doc(paths.org(orgId));
    const requestRef = db.doc(paths.deletionRequest(orgId));
    const [orgSnapshot, memberSnapshot, requestSnapshot, mirrorSnapshot] = await tx.getAll(
      orgRef,
      db.doc(paths.member(orgId, caller.uid)),
      requestRef,
      db.doc(paths.subscription(orgId)),
    );
    const org = readDocument(organizationStateSchema, orgSnapshot);
    const member = readDocument(memberSchema, memberSnapshot);
    const request = readDocument(orgDeletionRequestSchema, requestSnapshot);
    const mirror = readDocument(subscriptionMirrorSchema, mirrorSnapshot);
    const applyAccess = await prepareAccessUpdate(db, tx, orgId);
    if (!org || !member) throw new HttpsError('permission-denied', 'you are not a member of this organization');
    if (member.role !== 'owner') throw new HttpsError('permission-denied', 'only the owner can cancel the deletion');
    if (!request) throw new HttpsError('failed-precondition', 'the organization is not being deleted');
    // Organizations being deleted do not count against the bound, so request, create, cancel would exceed it.
    await requireOwnershipQuota(db, tx, caller.uid, deps.maxOrgsPerOwner, 'you');
    const now = deps.clock();
    if (request.state !== 'pending' || now.getTime() >= request.graceEndsAt.toMillis()) {
      throw new HttpsError(
        'failed-precondition',
        `the grace period ended at ${request.graceEndsAt.toDate().toISOString()}; the deletion can no longer be cancelled`,
      );
    }
    const access = deriveAccessState({
      orgStatus: 'active',
      subscriptionStatus: mirror ? statusForAccess(mirror.status) : null,
      lapsedSince: mirror?.lapsedSince?.toDate() ?? null,
      now,
    });
    applyAccess(access, org);
    tx.update(orgRef, { status: 'active', deletionRequestedAt: FieldValue.delete() });
    tx.delete(requestRef);
    writeAuditEntry(db, tx, orgId, { action: 'org.deletion_cancelled', actorUid: caller.uid, targetId: orgId }, now);
    return access;
  });
  const reapplied = await reconcileBillingReporting(deps.reconcileBilling, orgId);
  if (reapplied === null || reapplied === 0) return { orgId, access: restoredAccess, billingReconciled: reapplied !== null };
  // The re-applied events wrote the access Stripe's truth gives (billing derives it through deriveAccessState).
  const org = readDocument(organizationStateSchema, await db.doc(paths.org(orgId)).get());
  return { orgId, access: org?.access ?? restoredAccess, billingReconciled: true };
}

/** How many parked events were re-applied; null if Stripe (or Firestore) failed: logged for an operator's replay. */
async function reconcileBillingReporting(reconcile: ReconcileBilling, orgId: string): Promise<number | null> {
  try {
    return await reconcile(orgId);
  } catch (error) {
    logError('deletion cancelled, but the Stripe events parked meanwhile could not be re-applied; replay them (replayStripeEvents)', error, { orgId });
    return null;
  }
}
