/**
 * Shared helpers of the membership tests: callers, a controllable clock, readers and assertions of membership
 * state, and organizations seeded through the handlers themselves ("nothing written" is ../support/snapshot).
 */
import { expect } from 'vitest';
import type { Firestore } from 'firebase-admin/firestore';
import { AUDIT_ENTRY_VERSION, paths, type Member, type Organization } from '@leadpulse/model';
import type { Caller } from '../../functions/src/common/callable';
import * as orgs from '../../functions/src/orgs';
import { manualClock as clockFrom } from '../support/clock';
import { uniqueUid } from '../support/firestore';

export { uniqueUid };

export const START = new Date('2030-01-15T09:00:00.000Z');

/** A clock the test moves by hand, from START unless told otherwise. */
export const manualClock = (start = START) => clockFrom(start);

/** A signed-in caller with a verified address `<uid>@example.com` unless told otherwise. */
export function caller(uid: string, options: { email?: string | null; emailVerified?: boolean; name?: string } = {}): Caller {
  const email = options.email === undefined ? `${uid}@example.com` : options.email;
  const claims: Record<string, unknown> = { email, email_verified: options.emailVerified ?? true };
  if (options.name !== undefined) claims.name = options.name;
  return { uid, email, emailVerified: options.emailVerified ?? true, claims };
}

export async function readOrg(db: Firestore, orgId: string): Promise<Organization> {
  return (await db.doc(paths.org(orgId)).get()).data() as Organization;
}

export async function readMember(db: Firestore, orgId: string, uid: string): Promise<Member | undefined> {
  return (await db.doc(paths.member(orgId, uid)).get()).data() as Member | undefined;
}

export async function readMembers(db: Firestore, orgId: string): Promise<Member[]> {
  return (await db.collection(paths.members(orgId)).get()).docs.map((doc) => doc.data() as Member);
}

export async function readAuditLog(db: Firestore, orgId: string): Promise<Record<string, unknown>[]> {
  return (await db.collection(paths.auditLog(orgId)).orderBy('at').get()).docs.map((doc) => withoutTtlAndVersion(doc.data()));
}

/**
 * An audit entry without its TTL field and its version, once checked: `expiresAt` is `at` + 179 days
 * (firestore.indexes.json's TTL policy deletes the entry within 24 hours after, so by 180 days: P7), and
 * `schemaVersion` is the current one (every writer stamps it).
 */
export function withoutTtlAndVersion<T extends Record<string, unknown>>(entry: T): Omit<T, 'expiresAt' | 'schemaVersion'> {
  const { expiresAt, schemaVersion, ...rest } = entry;
  const millis = (value: unknown) => (value as { toMillis(): number }).toMillis();
  expect(millis(expiresAt) - millis(rest.at)).toBe(179 * 24 * 60 * 60 * 1000);
  expect(schemaVersion).toBe(AUDIT_ENTRY_VERSION);
  return rest;
}

/**
 * Asserts the audit entries of one action (optionally about one target) are exactly `expected`, in any order:
 * entries written at the same clock time have no order of their own.
 */
export async function expectAuditEntries(
  db: Firestore,
  orgId: string,
  filter: { action: string; targetUid?: string; targetId?: string },
  expected: Record<string, unknown>[],
): Promise<void> {
  let query = db.collection(paths.auditLog(orgId)).where('action', '==', filter.action);
  if (filter.targetUid) query = query.where('targetUid', '==', filter.targetUid);
  if (filter.targetId) query = query.where('targetId', '==', filter.targetId);
  const entries = (await query.get()).docs.map((doc) => withoutTtlAndVersion(doc.data()));
  expect(entries).toHaveLength(expected.length);
  expect(entries).toEqual(expect.arrayContaining(expected));
}

/** The one-owner invariant: exactly one member is owner, and the organization names them. */
export async function expectExactlyOneOwner(db: Firestore, orgId: string): Promise<string> {
  const owners = (await readMembers(db, orgId)).filter((member) => member.role === 'owner');
  expect(owners).toHaveLength(1);
  expect((await readOrg(db, orgId)).ownerUid).toBe(owners[0].uid);
  return owners[0].uid;
}

export interface SeededOrg {
  orgId: string;
  owner: Caller;
  admin: Caller;
  member: Caller;
  viewer: Caller;
}

export type Deps = orgs.MembershipDeps & orgs.MembershipLimits;

export function deps(db: Firestore, clock: () => Date, limits: Partial<orgs.MembershipLimits> = {}): Deps {
  return {
    db,
    clock,
    maxOrgsPerOwner: limits.maxOrgsPerOwner ?? orgs.DEFAULT_MAX_ORGS_PER_OWNER,
    inviteTtlDays: limits.inviteTtlDays ?? orgs.DEFAULT_INVITE_TTL_DAYS,
    maxPendingInvites: limits.maxPendingInvites ?? orgs.DEFAULT_MAX_PENDING_INVITES,
  };
}

/** Invites `invitee`'s address with `role` and accepts as `invitee`. */
export async function join(d: Deps, orgId: string, inviter: Caller, invitee: Caller, role: 'admin' | 'member' | 'viewer'): Promise<void> {
  const link = await orgs.inviteMember(d, inviter, { orgId, email: invitee.email, role });
  await orgs.acceptInvitation(d, invitee, { orgId: link.orgId, inviteId: link.inviteId, token: link.token });
}

/** An organization with one member per role, built through the handlers. */
export async function seedOrg(d: Deps, label = 'org'): Promise<SeededOrg> {
  const owner = caller(uniqueUid(`${label}-owner`));
  const admin = caller(uniqueUid(`${label}-admin`));
  const member = caller(uniqueUid(`${label}-member`));
  const viewer = caller(uniqueUid(`${label}-viewer`));
  const { orgId } = await orgs.createOrganization(d, owner, { name: `${label} Inc.` });
  await join(d, orgId, owner, admin, 'admin');
  await join(d, orgId, owner, member, 'member');
  await join(d, orgId, owner, viewer, 'viewer');
  return { orgId, owner, admin, member, viewer };
}
