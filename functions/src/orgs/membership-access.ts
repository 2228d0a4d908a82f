import { createHash, timingSafeEqual } from 'node:crypto';
import { Firestore, Transaction, type DocumentReference } from 'firebase-admin/firestore';
import { HttpsError } from 'firebase-functions/v2/https';
import { memberSchema, organizationStateSchema, paths, type Member, type OrganizationState, type Role } from '@leadpulse/model';
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
}
export const DEFAULT_MAX_ORGS_PER_OWNER = 5;
export const DEFAULT_INVITE_TTL_DAYS = 7;

/** Checks configuration read from params; an unset or bad value fails loudly, naming the param. */
export function checkMembershipLimits(limits: MembershipLimits): MembershipLimits {
  if (!Number.isInteger(limits.maxOrgsPerOwner) || limits.maxOrgsPerOwner < 1) {
    throw new HttpsError('internal', `MAX_ORGS_PER_OWNER must be a positive integer, got ${limits.maxOrgsPerOwner}`);
  }
  if (!Number.isInteger(limits.inviteTtlDays) || limits.inviteTtlDays < 1 || limits.inviteTtlDays > 30) {
    throw new HttpsError('internal', `INVITE_TTL_DAYS must be an integer from 1 to 30, got ${limits.inviteTtlDays}`);
  }
  return limits;
}

/** The caller's e-mail address, lower-cased; membership binds to addresses only once their owner proved them. */
export function requireVerifiedEmail(caller: Caller): string {
  if (!caller.email || !caller.emailVerified) {
    throw new HttpsError('failed-precondition', 'verify your e-mail address first');
  }
  return caller.email.trim().toLowerCase();
}

/** The display name a new member starts with: the `name` claim of their ID token, if any. */
export function displayNameOf(caller: Caller): { displayName?: string } {
  const name = caller.claims.name;
  if (typeof name !== 'string' || name.trim() === '') return {};
  return { displayName: name.trim().slice(0, 100) };
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
  const [orgSnapshot, memberSnapshot] = await tx.getAll(orgRef, memberRef);
  const org = readDocument(organizationStateSchema, orgSnapshot);
  const member = readDocument(memberSchema, memberSnapshot);
  if (!org || !member) throw new HttpsError('permission-denied', 'you are not a member of this organization');
  if (!roles.includes(member.role)) {
    throw new HttpsError('permission-denied', `this needs the role ${roles.join(' or ')}; you are ${member.role}`);
  }
  if (org.status !== 'active') throw new HttpsError('failed-precondition', 'the organization is being deleted');
  return { org, orgRef, member, memberRef };
}

/** Reads another member of the organization inside `tx`; `not-found` if there is none. */
export async function requireMember(
  db: Firestore,
  tx: Transaction,
  orgId: string,
  uid: string,
): Promise<{ member: Member; ref: DocumentReference }> {
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
export async function requireOwnershipQuota(
  db: Firestore,
  tx: Transaction,
  uid: string,
  maxOrgsPerOwner: number,
  who: 'you' | 'the new owner',
): Promise<void> {
  const owned = await tx.get(
    db.collection(paths.orgs()).where('ownerUid', '==', uid).where('status', '==', 'active').limit(maxOrgsPerOwner),
  );
  if (owned.size >= maxOrgsPerOwner) {
    const subject = who === 'you' ? 'you already own' : 'the new owner already owns';
    throw new HttpsError('failed-precondition', `${subject} ${owned.size} organizations, the maximum`);
  }
}
