import { createHash, timingSafeEqual } from 'node:crypto';
import { Firestore, Transaction, type DocumentReference } from 'firebase-admin/firestore';
import { HttpsError } from 'firebase-functions/v2/https';
import {
  accountDeletionRequestId,
  memberDisplayName,
  memberSchema,
  normalizedEmailSchema,
  organizationStateSchema,
  paths,
  subscriptionMirrorSchema,
  type Member,
  type OrganizationState,
  type Role,
  type SubscriptionStatus,
} from '@leadpulse/model';
import type { Caller } from '../common/callable';
import type { Clock } from '../common/clock';
import { readDocument } from '../common/documents';

/** What every membership handler needs. */
export interface MembershipDeps {
  db: Firestore;
  clock: Clock;
}

/** Configuration of the membership callables (params in index.ts). */
export interface MembershipLimits {
  /** Active organizations one user may own. */
  maxOrgsPerOwner: number;
  /** Days an invitation stays valid. */
  inviteTtlDays: number;
  /** Invitations of one organization pending (not expired) at once. */
  maxPendingInvites: number;
}
export const DEFAULT_MAX_ORGS_PER_OWNER = 5;
export const DEFAULT_INVITE_TTL_DAYS = 7;
export const DEFAULT_MAX_PENDING_INVITES = 100;

/** Checks configuration read from params; an unset or bad value fails loudly, naming the param. */
export function checkMembershipLimits(limits: MembershipLimits): MembershipLimits {
  if (!Number.isInteger(limits.maxOrgsPerOwner) || limits.maxOrgsPerOwner < 1) {
    throw new HttpsError('internal', `MAX_ORGS_PER_OWNER must be a positive integer, got ${limits.maxOrgsPerOwner}`);
  }
  if (!Number.isInteger(limits.inviteTtlDays) || limits.inviteTtlDays < 1 || limits.inviteTtlDays > 30) {
    throw new HttpsError('internal', `INVITE_TTL_DAYS must be an integer from 1 to 30, got ${limits.inviteTtlDays}`);
  }
  if (!Number.isInteger(limits.maxPendingInvites) || limits.maxPendingInvites < 1) {
    throw new HttpsError('internal', `MAX_PENDING_INVITES must be a positive integer, got ${limits.maxPendingInvites}`);
  }
  return limits;
}

/**
 * The caller's e-mail address as membership compares it (normalizedEmailSchema); membership binds to addresses
 * only once their owner proved them, and only to plain ASCII addresses, so no look-alike folds into another.
 */
export function requireVerifiedEmail(caller: Caller): string {
  if (!caller.email || !caller.emailVerified) {
    throw new HttpsError('failed-precondition', 'verify your e-mail address first');
  }
  const email = normalizedEmailSchema.safeParse(caller.email);
  if (!email.success) {
    throw new HttpsError('failed-precondition', 'your e-mail address has characters LeadPulse cannot match safely: sign in with a plain ASCII address');
  }
  return email.data;
}

/** The display name a new member starts with: the `name` claim of their ID token, if any, normalized. */
export function displayNameOf(caller: Caller): { displayName?: string } {
  const name = caller.claims.name;
  const displayName = typeof name === 'string' ? memberDisplayName(name) : null;
  return displayName === null ? {} : { displayName };
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Compares two hex digests in constant time. */
export function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

export interface CallerMembership {
  org: OrganizationState;
  orgRef: DocumentReference;
  member: Member;
  memberRef: DocumentReference;
}

/**
 * Reads, inside `tx`, the organization and the caller's member document, and checks that the caller has one of
 * `roles` and that the organization is not being deleted. A non-member learns nothing about the organization,
 * not even whether it exists.
 */
export async function requireCallerMembership(
  db: Firestore,
  tx: Transaction,
  orgId: string,
  caller: Caller,
  roles: readonly Role[],
): Promise<CallerMembership> {
  const orgRef = db.doc(paths.org(orgId));
  const memberRef = db.doc(paths.member(orgId, caller.uid));
  const [orgSnapshot, memberSnapshot, deletionSnapshot] = await tx.getAll(orgRef, memberRef, accountDeletionRef(db, caller.uid));
  const org = readDocument(organizationStateSchema, orgSnapshot);
  const member = readDocument(memberSchema, memberSnapshot);
  if (!org || !member) throw new HttpsError('permission-denied', 'you are not a member of this organization');
  if (deletionSnapshot.exists) throw accountBeingDeleted('your account');
  if (!roles.includes(member.role)) {
    throw new HttpsError('permission-denied', `this needs the role ${roles.join(' or ')}; you are ${member.role}`);
  }
  if (org.status !== 'active') throw new HttpsError('failed-precondition', 'the organization is being deleted');
  return { org, orgRef, member, memberRef };
}

const accountDeletionRef = (db: Firestore, uid: string) => db.doc(paths.deletionRequest(accountDeletionRequestId(uid)));
const accountBeingDeleted = (whose: string) => new HttpsError('failed-precondition', `${whose} is being deleted`);

/**
 * Refuses, inside `tx`, while `uid`'s account deletion is recorded. Every membership change reads it, and account
 * deletion reads the person's memberships by a query in the transaction that records it: whichever commits first,
 * the other sees it, so no membership, role or ownership of the person survives their deletion.
 */
export async function requireNoAccountDeletion(db: Firestore, tx: Transaction, uid: string, whose: 'your account' | 'that account'): Promise<void> {
  if ((await tx.get(accountDeletionRef(db, uid))).exists) throw accountBeingDeleted(whose === 'your account' ? whose : `the account of ${uid}`);
}

/**
 * Reads, inside `tx`, the pending invitations `uid` sent in the organization and returns the step that deletes
 * them (how many): someone who loses the admin role (demotion, removal, leaving, account deletion) no longer
 * vouches for who joins.
 */
export async function prepareInvitationRevocation(db: Firestore, tx: Transaction, orgId: string, uid: string): Promise<() => number> {
  const sent = await tx.get(db.collection(paths.invites(orgId)).where('invitedBy', '==', uid));
  return () => {
    for (const doc of sent.docs) tx.delete(doc.ref);
    return sent.size;
  };
}

/** Subscription statuses under which the organization pays for seats (a canceled one reverts to the free plan). */
const seatedStatuses: ReadonlySet<SubscriptionStatus> = new Set(['trialing', 'active', 'past_due', 'unpaid', 'paused', 'incomplete']);

/**
 * The seats the organization's subscription pays for, read inside `tx`; null when it is on no paid plan (no
 * subscription, or a canceled one): then the number of members is not bounded by seats.
 */
export async function readPurchasedSeats(db: Firestore, tx: Transaction, orgId: string): Promise<number | null> {
  const mirror = readDocument(subscriptionMirrorSchema, await tx.get(db.doc(paths.subscription(orgId))));
  if (!mirror?.subscriptionId || !mirror.status || !seatedStatuses.has(mirror.status)) return null;
  return mirror.seats;
}

/** Refuses, naming the seats, when `wanted` people would exceed the seats bought. */
export function requireSeats(seats: number | null, wanted: number, what: string): void {
  if (seats !== null && wanted > seats) {
    throw new HttpsError(
      'failed-precondition',
      `${what} would exceed the ${seats} seats the subscription pays for: the owner adds seats in the billing portal`,
      { seats },
    );
  }
}

/** Reads another member of the organization inside `tx`; `not-found` if there is none. */
export async function requireMember(db: Firestore, tx: Transaction, orgId: string, uid: string): Promise<{ member: Member; ref: DocumentReference }> {
  const ref = db.doc(paths.member(orgId, uid));
  const member = readDocument(memberSchema, await tx.get(ref));
  if (!member) throw new HttpsError('not-found', `${uid} is not a member of this organization`);
  return { member, ref };
}

/**
 * The admin role is the owner's to grant and to manage: admins manage members and viewers (and invitations for
 * them), never admins. `what` names what the caller was refused.
 */
export function requireMayManageRole(callerRole: Role, role: Role, what: 'admins' | 'invitations for admins'): void {
  if (role === 'admin' && callerRole !== 'owner') {
    throw new HttpsError('permission-denied', `only the owner manages ${what}`);
  }
}

/**
 * Throws unless `uid` owns fewer active organizations than allowed. Runs as a query inside `tx`, so that a
 * concurrent creation or transfer for the same user conflicts with this one instead of slipping past it.
 */
export async function requireOwnershipQuota(db: Firestore, tx: Transaction, uid: string, maxOrgsPerOwner: number, who: 'you' | 'the new owner'): Promise<void> {
  const owned = await tx.get(db.collection(paths.orgs()).where('ownerUid', '==', uid).where('status', '==', 'active').limit(maxOrgsPerOwner));
  if (owned.size >= maxOrgsPerOwner) {
    const subject = who === 'you' ? 'you already own' : 'the new owner already owns';
    throw new HttpsError('failed-precondition', `${subject} ${owned.size} organizations, the maximum`);
  }
}
