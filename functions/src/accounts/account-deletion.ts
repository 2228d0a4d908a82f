import { randomInt } from 'node:crypto';
import { Timestamp, type DocumentReference, type Firestore, type Query, type QueryDocumentSnapshot, type Transaction } from 'firebase-admin/firestore';
import * as logger from 'firebase-functions/logger';
import { HttpsError } from 'firebase-functions/v2/https';
import {
  accountDeletionRequestId,
  accountDeletionRequestSchema,
  collectionGroups,
  deleteMyAccountArgsSchema,
  DELETION_RECEIPT_VERSION,
  DELETION_REQUEST_VERSION,
  deletionReceiptSchema,
  LOG_TTL_DAYS,
  eraseUserArgsSchema,
  MEMBER_VERSION,
  memberSchema,
  ORGANIZATION_VERSION,
  organizationStateSchema,
  paths,
  serverCollections,
  tombstonePrefix,
  userProfileSchema,
  type AccountDeletionInitiator,
  type AccountDeletionRequest,
  type DeletionReceipt,
  type Member,
  type OperatorErasureReason,
  type OrgCollection,
  stampedVersion,
} from '@leadpulse/model';
import { parseArgs, type Caller } from '../common/callable';
import type { Clock } from '../common/clock';
import { readDocument } from '../common/documents';
import { logError } from '../common/logging';
import { writeAuditEntry } from '../orgs/audit';
import { prepareInvitationRevocation, sha256Hex } from '../orgs/membership-access';
import { DEFAULT_PAGE_SIZE, deleteAll, drainQuery, updateAll, withBulkWriter, type BulkOptions } from '../common/bulk';
import { DAY_MS } from '../privacy/config';
import { cancelSubscriptionReporting, prepareOrgDeletion, type OrgDeletionDeps } from '../privacy/org-deletion';
import type { ResumeAccountDeletion } from '../privacy/retention';
import { requireOperator, type AccountAuth } from './account-auth';

/** The one field of the profile deletion uses: a display field gone bad (or refused since) must not block it. */
const profileEmailSchema = userProfileSchema.pick({ email: true });

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

/**
 * Invitation ids were `sha256("invite:" + address)` before they became random; audit entries written then
 * (`member.invited`, `member.joined`) still carry them, so account deletion replaces them with the tombstone too.
 */
export function legacyInviteIdFor(email: string): string {
  return sha256Hex(`invite:${email}`);
}

/**
 * The steps of an account deletion, in order; each can be repeated, so a crash anywhere is resumed by a rerun.
 * `recording` is reported inside the transaction that records the request, after its reads (tests interleave
 * membership changes there); the others once the step is done. Memberships go before the references are
 * tombstoned: from then on the person can write nothing that names them.
 */
export type AccountDeletionStep = 'recording' | 'recorded' | 'memberships' | 'anonymized' | 'profile' | 'auth';

/** The audit actor of an ownership hand-off made by account deletion (no person decided it). */
export const ACCOUNT_DELETION_ACTOR = 'system:account-deletion';

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
/** A fresh tombstone: random, so that nothing links it to the person. */
export function newTombstone(): string {
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

  for (const orgId of request.memberOrgIds) await removeMembership(deps, orgId, uid, request);
  await withdrawInvitationsTo(deps, request.emails);
  await deps.onStep?.('memberships');

  const tombstone = request.tombstone;
  await withBulkWriter(db, deps, async (writer) => {
    for (const reference of personReferences) {
      await drainQuery(referencing(db, reference, uid), deps.pageSize ?? DEFAULT_PAGE_SIZE, (refs) =>
        updateAll(writer, refs, { [reference.field]: tombstone }),
      );
    }
    const auditLogGroup: OrgCollection = 'auditLog';
    for (const email of request.emails) {
      const legacyId = legacyInviteIdFor(email);
      await drainQuery(db.collectionGroup(auditLogGroup).where('targetId', '==', legacyId), deps.pageSize ?? DEFAULT_PAGE_SIZE, (refs) =>
        updateAll(writer, refs, { targetId: tombstone }),
      );
    }
  });
  await deps.onStep?.('anonymized');

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

/** Account deletion as retention resumes a stopped one (privacy's ResumeAccountDeletion), bound to `deps`. */
export function resumeAccountDeletion(deps: AccountDeletionDeps): ResumeAccountDeletion {
  return (request) => deleteAccount(deps, request.uid, request.initiatedBy, request.reason);
}

/**
 * Checks the sole-owner rule and records the deletion request, scheduling the organizations the person alone
 * makes up, in one transaction. Returns null when there is nothing of the person in Firestore.
 *
 * The memberships are read by a query inside the transaction, and every membership change reads the deletion
 * request inside its own (requireNoAccountDeletion): whichever commits first, the other sees it, so no
 * membership or ownership of the person can appear once the request exists.
 *
 * An owner of an organization with other members is refused (transfer ownership first), except when Firebase
 * Auth already deleted the user (`initiatedBy: 'auth'`): then the admin who joined earliest becomes the owner
 * (audited), or, with no admin, the organization is scheduled for deletion; the person's data goes either way.
 */
async function recordDeletion(
  deps: AccountDeletionDeps,
  uid: string,
  initiatedBy: AccountDeletionInitiator,
  reason: OperatorErasureReason | null,
): Promise<AccountDeletionRequest | null> {
  const { db } = deps;
  const requestRef = db.doc(paths.deletionRequest(accountDeletionRequestId(uid)));
  const recorded = await db.runTransaction(async (tx) => {
    const existing = readDocument(accountDeletionRequestSchema, await tx.get(requestRef));
    if (existing) return { request: existing, scheduledOrgIds: [] as string[] };
    const memberships = (await tx.get(db.collectionGroup(collectionGroups.members).where('uid', '==', uid))).docs.flatMap((doc) => {
      const orgId = doc.ref.parent.parent?.id;
      const member = readDocument(memberSchema, doc);
      return orgId && member ? [{ orgId, role: member.role, email: member.email, schemaVersion: member.schemaVersion }] : [];
    });
    const [profile, consent] = await tx.getAll(db.doc(paths.user(uid)), db.doc(paths.marketingConsent(uid)));
    const profileEmail = readDocument(profileEmailSchema, profile)?.email;
    const emails = [...new Set([...memberships.map((m) => m.email), ...(profileEmail ? [profileEmail] : [])])];
    const found: Record<string, number> = {};
    if (profile.exists) found[paths.users()] = 1;
    if (memberships.length > 0) found[collectionGroups.members] = memberships.length;
    if (consent.exists) found[serverCollections.marketingConsents] = 1;
    if (Object.keys(found).length === 0 && !(await isReferenced(db, uid))) return null;

    // Every read first (Firestore transactions read before they write), then the writes each plan holds.
    const shared: string[] = [];
    const plans: Array<(tombstone: string, now: Date) => string | null> = [];
    for (const { orgId, schemaVersion } of memberships.filter((m) => m.role === 'owner')) {
      const others = (await tx.get(db.collection(paths.members(orgId)))).docs.filter((doc) => doc.id !== uid);
      if (others.length > 0 && initiatedBy !== 'auth') {
        shared.push(orgId);
        continue;
      }
      const successor = others.length > 0 ? await earliestAdmin(db, tx, others) : null;
      if (successor) {
        const org = readDocument(organizationStateSchema, await tx.get(db.doc(paths.org(orgId))));
        const versions = { org: org?.schemaVersion, successor: successor.schemaVersion, person: schemaVersion };
        plans.push((tombstone, now) => {
          handOverOwnership(db, tx, { orgId, uid, successor: successor.uid, versions }, tombstone, now);
          return null;
        });
        continue;
      }
      const prepared = await prepareOrgDeletion(db, tx, orgId);
      if (prepared.org && !prepared.existing) {
        plans.push((tombstone, now) => {
          prepared.schedule(tombstone, now, deps.orgDeletion.graceDays);
          return orgId;
        });
      }
    }
    if (shared.length > 0) throw soleOwnerRefusal(shared);
    await deps.onStep?.('recording');

    const now = deps.clock();
    const tombstone = newTombstone();
    const scheduled = plans.map((plan) => plan(tombstone, now)).filter((orgId): orgId is string => orgId !== null);
    const created = accountDeletionRequestSchema.parse({
      schemaVersion: DELETION_REQUEST_VERSION,
      kind: 'account',
      uid,
      tombstone,
      initiatedBy,
      reason,
      requestedAt: Timestamp.fromDate(now),
      memberOrgIds: memberships.map((m) => m.orgId),
      scheduledOrgIds: scheduled,
      emails,
      found,
    } satisfies AccountDeletionRequest);
    tx.create(requestRef, created);
    return { request: created, scheduledOrgIds: scheduled };
  });
  if (!recorded) return null;
  for (const orgId of recorded.scheduledOrgIds) await cancelSubscriptionReporting(deps.orgDeletion.cancelSubscription, orgId);
  return recorded.request;
}

/** The admin among `members` who joined earliest (ties: by uid) and is not being deleted themselves, if any. */
async function earliestAdmin(db: Firestore, tx: Transaction, members: QueryDocumentSnapshot[]): Promise<Member | null> {
  const admins = members
    .flatMap((doc) => {
      const member = readDocument(memberSchema, doc);
      return member?.role === 'admin' ? [member] : [];
    })
    .sort((a, b) => a.joinedAt.toMillis() - b.joinedAt.toMillis() || (a.uid < b.uid ? -1 : 1));
  if (admins.length === 0) return null;
  const requests = await tx.getAll(...admins.map((admin) => db.doc(paths.deletionRequest(accountDeletionRequestId(admin.uid)))));
  const index = requests.findIndex((request) => !request.exists);
  return index === -1 ? null : admins[index];
}

interface OwnershipHandOver {
  orgId: string;
  /** The person being deleted. */
  uid: string;
  successor: string;
  /** The stored `schemaVersion` of each document it changes, as read in the transaction (never lowered). */
  versions: { org: number | undefined; successor: number | undefined; person: number | undefined };
}

/**
 * Makes `successor` the owner in place of the person being deleted (whose membership the next step removes; until
 * then it is an admin one), with an audit entry that names the person only by their tombstone.
 */
function handOverOwnership(db: Firestore, tx: Transaction, handOver: OwnershipHandOver, tombstone: string, now: Date): void {
  const { orgId, uid, successor, versions } = handOver;
  tx.update(db.doc(paths.org(orgId)), { ownerUid: successor, schemaVersion: stampedVersion(versions.org, ORGANIZATION_VERSION) });
  tx.update(db.doc(paths.member(orgId, successor)), { role: 'owner', schemaVersion: stampedVersion(versions.successor, MEMBER_VERSION) });
  tx.update(db.doc(paths.member(orgId, uid)), { role: 'admin', schemaVersion: stampedVersion(versions.person, MEMBER_VERSION) });
  writeAuditEntry(
    db,
    tx,
    orgId,
    {
      action: 'org.ownership_transferred',
      actorUid: ACCOUNT_DELETION_ACTOR,
      targetUid: successor,
      details: { previousOwnerUid: tombstone, reason: 'owner_account_deleted' },
    },
    now,
  );
}

function soleOwnerRefusal(orgIds: string[]): HttpsError {
  return new HttpsError('failed-precondition', `the account owns organizations that have other members (${orgIds.join(', ')}): transfer ownership first`, {
    orgIds,
  });
}

async function isReferenced(db: Firestore, uid: string): Promise<boolean> {
  for (const reference of personReferences) {
    if (!(await referencing(db, reference, uid).select().limit(1).get()).empty) return true;
  }
  return false;
}

/**
 * Deletes the person's member document, revokes the invitations they sent there (they hold no role any more),
 * and records it in that organization's audit log, once.
 */
async function removeMembership(deps: AccountDeletionDeps, orgId: string, uid: string, request: AccountDeletionRequest): Promise<void> {
  const { db } = deps;
  const memberRef = db.doc(paths.member(orgId, uid));
  await db.runTransaction(async (tx) => {
    if (!(await tx.get(memberRef)).exists) return;
    const revoke = await prepareInvitationRevocation(db, tx, orgId, uid);
    tx.delete(memberRef);
    writeAuditEntry(
      db,
      tx,
      orgId,
      {
        action: 'account.deleted',
        actorUid: request.tombstone,
        targetUid: request.tombstone,
        details: { initiatedBy: request.initiatedBy, invitationsRevoked: revoke() },
      },
      deps.clock(),
    );
  });
}

/**
 * Deletes the pending invitations addressed to the person, in every organization: an invitation is the only
 * place an address is kept outside a membership, and nobody it names is left to accept it.
 */
async function withdrawInvitationsTo(deps: AccountDeletionDeps, emails: readonly string[]): Promise<void> {
  const { db } = deps;
  const invitesGroup: OrgCollection = 'invites';
  await withBulkWriter(db, deps, async (writer) => {
    for (const email of emails) {
      await drainQuery(db.collectionGroup(invitesGroup).where('email', '==', email), deps.pageSize ?? DEFAULT_PAGE_SIZE, (refs) => deleteAll(writer, refs));
    }
  });
}

/** Replaces the request (which names the uid) with the receipt (which does not), atomically. */
async function finish(deps: AccountDeletionDeps, requestRef: DocumentReference, tombstone: string): Promise<string> {
  const { db } = deps;
  const receiptRef = db.doc(paths.deletionReceipt(tombstone));
  await db.runTransaction(async (tx) => {
    const request = readDocument(accountDeletionRequestSchema, await tx.get(requestRef));
    if (!request) return; // A concurrent run (the Auth trigger) finished it.
    const completedAt = deps.clock();
    const receipt = deletionReceiptSchema.parse({
      schemaVersion: DELETION_RECEIPT_VERSION,
      kind: 'account',
      subjectId: request.tombstone,
      initiatedBy: request.initiatedBy,
      reason: request.reason,
      requestedAt: request.requestedAt,
      completedAt: Timestamp.fromDate(completedAt),
      expiresAt: Timestamp.fromMillis(completedAt.getTime() + LOG_TTL_DAYS * DAY_MS),
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
