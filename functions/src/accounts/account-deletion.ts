import { randomInt } from 'node:crypto';
import { Timestamp, type DocumentReference, type Firestore, type Query } from 'firebase-admin/firestore';
import * as logger from 'firebase-functions/logger';
import { HttpsError } from 'firebase-functions/v2/https';
import {
  accountDeletionRequestId,
  accountDeletionRequestSchema,
  collectionGroups,
  deleteMyAccountArgsSchema,
  deletionReceiptSchema,
  eraseUserArgsSchema,
  memberSchema,
  paths,
  serverCollections,
  tombstonePrefix,
  type AccountDeletionInitiator,
  type AccountDeletionRequest,
  type DeletionReceipt,
  type OperatorErasureReason,
  type OrgCollection,
} from '@leadpulse/model';
import { parseArgs, type Caller } from '../common/callable';
import type { Clock } from '../common/clock';
import { readDocument } from '../common/documents';
import { logError } from '../common/logging';
import { writeAuditEntry } from '../orgs/audit';
import { DEFAULT_PAGE_SIZE, deleteAll, drainQuery, updateAll, withBulkWriter, type BulkOptions } from '../privacy/bulk';
import { cancelSubscriptionReporting, prepareOrgDeletion, type OrgDeletionDeps, type PreparedOrgDeletion } from '../privacy/org-deletion';
import { requireOperator, type AccountAuth } from './account-auth';

/**
 * Every field of organization data that names a person by uid. Account deletion replaces each occurrence with
 * the person's tombstone: what the organization owns stays, without who did it. A new uid-bearing field must be
 * added here (test/privacy/account-deletion.test.ts checks the fields the model declares today).
 */
export const personReferences: ReadonlyArray<{ source: { collection: 'orgs' | 'deletionRequests' } | { collectionGroup: OrgCollection }; field: string }> = [
  { source: { collection: 'orgs' }, field: 'ownerUid' },
  { source: { collectionGroup: 'contacts' }, field: 'createdBy' },
  { source: { collectionGroup: 'messages' }, field: 'sentBy' },
  { source: { collectionGroup: 'config' }, field: 'updatedBy' },
  { source: { collectionGroup: 'invites' }, field: 'invitedBy' },
  { source: { collectionGroup: 'auditLog' }, field: 'actorUid' },
  { source: { collectionGroup: 'auditLog' }, field: 'targetUid' },
  { source: { collectionGroup: 'auditLog' }, field: 'details.invitedBy' },
  { source: { collectionGroup: 'auditLog' }, field: 'details.previousOwnerUid' },
  { source: { collection: 'deletionRequests' }, field: 'requestedBy' },
];

/** The documents naming `uid` in one reference field. */
function referencing(db: Firestore, reference: (typeof personReferences)[number], uid: string): Query {
  const base = 'collection' in reference.source ? db.collection(reference.source.collection) : db.collectionGroup(reference.source.collectionGroup);
  return base.where(reference.field, '==', uid);
}

/** The steps of an account deletion, in order; each can be repeated, so a crash anywhere is resumed by a rerun. */
export type AccountDeletionStep = 'recorded' | 'anonymized' | 'memberships' | 'profile' | 'auth';

export interface AccountDeletionDeps extends BulkOptions {
  db: Firestore;
  clock: Clock;
  auth: AccountAuth;
  /** Organizations the person was the only member of are scheduled for deletion like an owner's request. */
  orgDeletion: Pick<OrgDeletionDeps, 'graceDays' | 'cancelSubscription'>;
  /** Called after each step: progress logs. */
  onStep?: (step: AccountDeletionStep) => void | Promise<void>;
}

export type AccountDeletionResult =
  | { status: 'deleted'; receiptId: string; scheduledOrgIds: string[] }
  /** No data of the person in Firestore (e.g. the trigger after the callable finished); the Auth user is gone. */
  | { status: 'nothing_to_delete' };

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function newTombstone(): string {
  let id = tombstonePrefix;
  for (let i = 0; i < 20; i++) id += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return id;
}

/**
 * Deletes a person's account (P4; P12 through eraseUser): their profile, marketing consent, every membership and
 * their Auth user; their uid in organization data becomes a tombstone; organizations they were the only member
 * of are scheduled for deletion. Refused with `failed-precondition`, before anything changes, while they own an
 * organization that has other members. The deletion request records the tombstone and what was found, so that
 * running again (the Auth trigger after the callable, or after a crash) finishes the same deletion.
 */
export async function deleteAccount(
  deps: AccountDeletionDeps,
  uid: string,
  initiatedBy: AccountDeletionInitiator,
  reason: OperatorErasureReason | null = null,
): Promise<AccountDeletionResult> {
  const { db } = deps;
  const requestRef = db.doc(paths.deletionRequest(accountDeletionRequestId(uid)));
  let request = readDocument(accountDeletionRequestSchema, await requestRef.get());
  if (!request) {
    const recorded = await recordDeletion(deps, uid, initiatedBy, reason);
    if (!recorded) {
      await deps.auth.deleteUser(uid);
      return { status: 'nothing_to_delete' };
    }
    request = recorded;
  }
  await deps.onStep?.('recorded');

  const tombstone = request.tombstone;
  await withBulkWriter(db, deps, async (writer) => {
    for (const reference of personReferences) {
      await drainQuery(referencing(db, reference, uid), deps.pageSize ?? DEFAULT_PAGE_SIZE, (refs) =>
        updateAll(writer, refs, { [reference.field]: tombstone }),
      );
    }
  });
  await deps.onStep?.('anonymized');

  for (const orgId of request.memberOrgIds) await removeMembership(deps, orgId, uid, request);
  await deps.onStep?.('memberships');

  await withBulkWriter(db, deps, async (writer) => {
    await db.recursiveDelete(db.doc(paths.user(uid)), writer);
    await deleteAll(writer, [db.doc(paths.marketingConsent(uid))]);
  });
  await deps.onStep?.('profile');

  await deps.auth.deleteUser(uid);
  await deps.onStep?.('auth');

  const receiptId = await finish(deps, requestRef, tombstone);
  return { status: 'deleted', receiptId, scheduledOrgIds: request.scheduledOrgIds };
}

/**
 * Checks the sole-owner rule and records the deletion request, scheduling the organizations the person alone
 * makes up, in one transaction. Returns null when there is nothing of the person in Firestore.
 */
async function recordDeletion(
  deps: AccountDeletionDeps,
  uid: string,
  initiatedBy: AccountDeletionInitiator,
  reason: OperatorErasureReason | null,
): Promise<AccountDeletionRequest | null> {
  const { db } = deps;
  const memberships = (await db.collectionGroup(collectionGroups.members).where('uid', '==', uid).get()).docs.flatMap((doc) => {
    const orgId = doc.ref.parent.parent?.id;
    const member = readDocument(memberSchema, doc);
    return orgId && member ? [{ orgId, role: member.role }] : [];
  });
  const ownedOrgIds = memberships.filter((m) => m.role === 'owner').map((m) => m.orgId);
  await refuseWhileOwningSharedOrgs(db, uid, ownedOrgIds);

  const [profile, consent] = await db.getAll(db.doc(paths.user(uid)), db.doc(paths.marketingConsent(uid)));
  const found: Record<string, number> = {};
  if (profile.exists) found[paths.users()] = 1;
  if (memberships.length > 0) found[collectionGroups.members] = memberships.length;
  if (consent.exists) found[serverCollections.marketingConsents] = 1;
  if (Object.keys(found).length === 0 && !(await isReferenced(db, uid))) return null;

  const requestRef = db.doc(paths.deletionRequest(accountDeletionRequestId(uid)));
  const { request, scheduledOrgIds } = await db.runTransaction(async (tx) => {
    const existing = readDocument(accountDeletionRequestSchema, await tx.get(requestRef));
    if (existing) return { request: existing, scheduledOrgIds: [] as string[] };
    const owned: Array<{ orgId: string; prepared: PreparedOrgDeletion }> = [];
    for (const orgId of ownedOrgIds) {
      const members = await tx.get(db.collection(paths.members(orgId)).limit(2));
      if (members.docs.some((member) => member.id !== uid)) throw soleOwnerRefusal([orgId]);
      owned.push({ orgId, prepared: await prepareOrgDeletion(db, tx, orgId) });
    }
    const now = deps.clock();
    const tombstone = newTombstone();
    const scheduled = owned.filter(({ prepared }) => prepared.org && !prepared.existing).map(({ orgId, prepared }) => {
      prepared.schedule(tombstone, now, deps.orgDeletion.graceDays);
      return orgId;
    });
    const created = accountDeletionRequestSchema.parse({
      kind: 'account',
      uid,
      tombstone,
      initiatedBy,
      reason,
      requestedAt: Timestamp.fromDate(now),
      memberOrgIds: memberships.map((m) => m.orgId),
      scheduledOrgIds: scheduled,
      found,
    } satisfies AccountDeletionRequest);
    tx.create(requestRef, created);
    return { request: created, scheduledOrgIds: scheduled };
  });
  for (const orgId of scheduledOrgIds) await cancelSubscriptionReporting(deps.orgDeletion.cancelSubscription, orgId);
  return request;
}

function soleOwnerRefusal(orgIds: string[]): HttpsError {
  return new HttpsError(
    'failed-precondition',
    `the account owns organizations that have other members (${orgIds.join(', ')}): transfer ownership first`,
    { orgIds },
  );
}

/** Read-only check, before any write, so that a refused deletion changes nothing. */
async function refuseWhileOwningSharedOrgs(db: Firestore, uid: string, ownedOrgIds: string[]): Promise<void> {
  const shared: string[] = [];
  for (const orgId of ownedOrgIds) {
    const members = await db.collection(paths.members(orgId)).select().limit(2).get();
    if (members.docs.some((member) => member.id !== uid)) shared.push(orgId);
  }
  if (shared.length > 0) throw soleOwnerRefusal(shared);
}

async function isReferenced(db: Firestore, uid: string): Promise<boolean> {
  for (const reference of personReferences) {
    if (!(await referencing(db, reference, uid).select().limit(1).get()).empty) return true;
  }
  return false;
}

/** Deletes the person's member document and records it in that organization's audit log, once. */
async function removeMembership(deps: AccountDeletionDeps, orgId: string, uid: string, request: AccountDeletionRequest): Promise<void> {
  const { db } = deps;
  const memberRef = db.doc(paths.member(orgId, uid));
  await db.runTransaction(async (tx) => {
    if (!(await tx.get(memberRef)).exists) return;
    tx.delete(memberRef);
    writeAuditEntry(
      db,
      tx,
      orgId,
      { action: 'account.deleted', actorUid: request.tombstone, targetUid: request.tombstone, details: { initiatedBy: request.initiatedBy } },
      deps.clock(),
    );
  });
}

/** Replaces the request (which names the uid) with the receipt (which does not), atomically. */
async function finish(deps: AccountDeletionDeps, requestRef: DocumentReference, tombstone: string): Promise<string> {
  const { db } = deps;
  const receiptRef = db.doc(paths.deletionReceipt(tombstone));
  await db.runTransaction(async (tx) => {
    const request = readDocument(accountDeletionRequestSchema, await tx.get(requestRef));
    if (!request) return; // A concurrent run (the Auth trigger) finished it.
    const receipt = deletionReceiptSchema.parse({
      kind: 'account',
      subjectId: request.tombstone,
      initiatedBy: request.initiatedBy,
      reason: request.reason,
      requestedAt: request.requestedAt,
      completedAt: Timestamp.fromDate(deps.clock()),
      deletedDocuments: Object.values(request.found).reduce((sum, count) => sum + count, 0),
      collections: request.found,
      scheduledOrganizations: request.scheduledOrgIds.length,
    } satisfies DeletionReceipt);
    tx.set(receiptRef, receipt);
    tx.delete(requestRef);
  });
  return receiptRef.id;
}

// ---------------------------------------------------------------------------------------------------------
// Entry points: the callable for the signed-in user, the operator callable, the Auth trigger
// ---------------------------------------------------------------------------------------------------------

/** Deleting an account needs a fresh sign-in, as Firebase Auth asks of `user.delete()`: a stolen old token cannot. */
export const RECENT_SIGN_IN_MS = 5 * 60 * 1000;

/** `deleteMyAccount` (signed-in user): `{confirm: true}`. */
export async function deleteMyAccount(deps: AccountDeletionDeps, caller: Caller, data: unknown): Promise<AccountDeletionResult> {
  parseArgs(deleteMyAccountArgsSchema, data);
  const authTime = caller.claims.auth_time;
  if (typeof authTime !== 'number' || deps.clock().getTime() - authTime * 1000 > RECENT_SIGN_IN_MS) {
    throw new HttpsError('failed-precondition', 'sign in again to delete your account (the last sign-in is more than 5 minutes old)');
  }
  return deleteAccount(deps, caller.uid, 'self');
}

/** `eraseUser` (operators only, e.g. a child under 13, P12): the same deletion, for another user. */
export async function eraseUser(deps: AccountDeletionDeps, caller: Caller, data: unknown): Promise<AccountDeletionResult> {
  await requireOperator(deps.auth, caller);
  const args = parseArgs(eraseUserArgsSchema, data);
  logger.info('operator erasure', { operatorUid: caller.uid, reason: args.reason });
  return deleteAccount(deps, args.uid, 'operator', args.reason);
}

/** The log message of a failed Auth trigger (an alert policy matches it: docs/operations.md). */
export const AUTH_TRIGGER_FAILED_MESSAGE = 'account deletion after Auth user deletion failed; the trigger is retried';

/**
 * The Auth user-deleted trigger: the same deletion when the user was deleted another way (console, Admin SDK).
 * Deployed with retries (failurePolicy): a failure is logged with the uid an operator needs (to resolve a refusal,
 * e.g. transfer the organization of a sole owner, or run eraseUser) and rethrown, so the event is delivered again
 * until it succeeds; deleteAccount is idempotent, so a retry after a partial run finishes the same deletion.
 */
export async function onAuthUserDeleted(deps: AccountDeletionDeps, uid: string): Promise<AccountDeletionResult> {
  try {
    return await deleteAccount(deps, uid, 'auth');
  } catch (error) {
    logError(AUTH_TRIGGER_FAILED_MESSAGE, error, { uid, details: error instanceof HttpsError ? error.details : null });
    throw error;
  }
}
