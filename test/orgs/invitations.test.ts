import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import { INVITE_VERSION, MEMBER_VERSION, ORGANIZATION_VERSION, paths } from '@leadpulse/model';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { acceptInvitation, inviteMember, revokeInvitation } from '../../functions/src/orgs';
import { prepareAccessUpdate } from '../../functions/src/orgs/access-state';
import { dumpProject, expectRefusedWithoutChange, storedText } from '../support/snapshot';
import { subscriptionMirror } from '../privacy/seed';
import {
  START,
  caller,
  deps,
  expectAuditEntries,
  manualClock,
  readAuditLog,
  readMember,
  readOrg,
  seedOrg,
  uniqueUid,
  type Deps,
  type SeededOrg,
} from './support';
import { present } from '../support/present';

const DAY_MS = 24 * 60 * 60 * 1000;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let db: Firestore;
let close: () => Promise<void>;
beforeAll(() => {
  ({ db, close } = adminFirestore(uniqueProjectId('orgs-invites')));
});
afterAll(() => close());

async function fixture(): Promise<{ d: Deps; advance: (ms: number) => void; org: SeededOrg }> {
  const { clock, advance } = manualClock();
  const d = deps(db, clock);
  return { d, advance, org: await seedOrg(d) };
}

describe('inviteMember', () => {
  it('stores only the hash of a random token, expiring after 7 days, and audits without the address', async () => {
    const { d, org } = await fixture();
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: '  New.Person@Example.COM ', role: 'admin' });

    expect(link).toEqual({
      orgId: org.orgId,
      inviteId: expect.stringMatching(/^[A-Za-z0-9]{20}$/),
      token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      expiresAt: new Date(START.getTime() + 7 * DAY_MS).toISOString(),
    });
    const stored = (await db.doc(paths.invite(org.orgId, link.inviteId)).get()).data();
    expect(stored).toEqual({
      schemaVersion: INVITE_VERSION,
      email: 'new.person@example.com',
      role: 'admin',
      tokenHash: sha256(link.token),
      invitedBy: org.owner.uid,
      createdAt: Timestamp.fromDate(START),
      expiresAt: Timestamp.fromDate(new Date(START.getTime() + 7 * DAY_MS)),
      // The TTL field (firestore.indexes.json): 6 days after expiry, so TTL has deleted it within the 7 days.
      deleteAt: Timestamp.fromDate(new Date(START.getTime() + (7 + 6) * DAY_MS)),
    });
    expect(storedText(await dumpProject(db))).not.toContain(link.token);

    await expectAuditEntries(db, org.orgId, { action: 'member.invited', targetId: link.inviteId }, [
      {
        action: 'member.invited',
        actorUid: org.owner.uid,
        targetId: link.inviteId,
        details: { role: 'admin', replaced: false },
        at: Timestamp.fromDate(START),
      },
    ]);
    expect(JSON.stringify(await readAuditLog(db, org.orgId))).not.toContain('new.person');
  });

  it('derives the invitation id from nothing about the address, so the audit log cannot be linked back to it', async () => {
    const { d, org } = await fixture();
    const address = 'linkable@example.com';
    const first = await inviteMember(d, org.owner, { orgId: org.orgId, email: address, role: 'member' });
    const again = await inviteMember(d, org.owner, { orgId: org.orgId, email: address, role: 'member' });
    expect(again.inviteId).not.toBe(first.inviteId);
    const audit = JSON.stringify(await readAuditLog(db, org.orgId));
    for (const derived of [sha256(`invite:${address}`), sha256(address)]) expect(audit).not.toContain(derived);
    // Revoked, the invitation leaves nothing that names or hashes the address.
    await revokeInvitation(d, org.owner, { orgId: org.orgId, inviteId: again.inviteId });
    const everything = storedText(await dumpProject(db));
    for (const derived of [address, sha256(`invite:${address}`), sha256(address)]) expect(everything).not.toContain(derived);
  });

  it('gives every invitation a different token', async () => {
    const { d, org } = await fixture();
    const first = await inviteMember(d, org.owner, { orgId: org.orgId, email: 'a@example.com', role: 'member' });
    const second = await inviteMember(d, org.owner, { orgId: org.orgId, email: 'b@example.com', role: 'member' });
    expect(first.token).not.toBe(second.token);
    expect(first.inviteId).not.toBe(second.inviteId);
  });

  it('honours a configured lifetime', async () => {
    const { clock } = manualClock();
    const d = { ...deps(db, clock), inviteTtlDays: 2 };
    const org = await seedOrg(d);
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: 'ttl@example.com', role: 'viewer' });
    expect(link.expiresAt).toBe(new Date(START.getTime() + 2 * DAY_MS).toISOString());
  });

  it('lets admins invite members and viewers', async () => {
    const { d, org } = await fixture();
    for (const role of ['member', 'viewer'] as const) {
      const link = await inviteMember(d, org.admin, { orgId: org.orgId, email: `${role}@example.com`, role });
      expect((await db.doc(paths.invite(org.orgId, link.inviteId)).get()).get('role')).toBe(role);
    }
  });

  it('re-inviting an address replaces the earlier invitation: the old link stops working', async () => {
    const { d, org } = await fixture();
    const invitee = caller(uniqueUid('invitee'));
    const first = await inviteMember(d, org.owner, { orgId: org.orgId, email: invitee.email, role: 'viewer' });
    const second = await inviteMember(d, org.admin, { orgId: org.orgId, email: invitee.email, role: 'member' });
    const stored = await db.collection(paths.invites(org.orgId)).where('email', '==', invitee.email).get();
    expect(stored.docs.map((doc) => doc.id)).toEqual([second.inviteId]);
    await expectAuditEntries(db, org.orgId, { action: 'member.invited', targetId: first.inviteId }, [
      expect.objectContaining({ actorUid: org.owner.uid, details: { role: 'viewer', replaced: false } }),
    ]);
    await expectAuditEntries(db, org.orgId, { action: 'member.invited', targetId: second.inviteId }, [
      expect.objectContaining({ actorUid: org.admin.uid, details: { role: 'member', replaced: true } }),
    ]);

    await expectRefusedWithoutChange(db, () => acceptInvitation(d, invitee, { orgId: org.orgId, inviteId: first.inviteId, token: first.token }), 'not-found');
    expect(await acceptInvitation(d, invitee, { orgId: org.orgId, inviteId: second.inviteId, token: second.token })).toEqual({
      orgId: org.orgId,
      role: 'member',
    });
  });

  it('refuses callers who may not invite, and admins inviting or replacing admins', async () => {
    const { d, org } = await fixture();
    const args = { orgId: org.orgId, email: 'someone@example.com', role: 'member' };
    await expectRefusedWithoutChange(db, () => inviteMember(d, org.member, args), 'permission-denied');
    await expectRefusedWithoutChange(db, () => inviteMember(d, org.viewer, args), 'permission-denied');
    await expectRefusedWithoutChange(db, () => inviteMember(d, caller(uniqueUid('stranger')), args), 'permission-denied', /not a member/);
    await expectRefusedWithoutChange(db, () => inviteMember(d, org.admin, { ...args, role: 'admin' }), 'permission-denied', /owner/);

    await inviteMember(d, org.owner, { ...args, role: 'admin' });
    await expectRefusedWithoutChange(db, () => inviteMember(d, org.admin, args), 'permission-denied', /owner/);
  });

  it('refuses an organization that does not exist as it refuses a non-member', async () => {
    const { d, org } = await fixture();
    await expectRefusedWithoutChange(
      db,
      () => inviteMember(d, org.owner, { orgId: 'no-such-org', email: 'x@example.com', role: 'member' }),
      'permission-denied',
    );
  });

  it('refuses to invite an address that already belongs to a member', async () => {
    const { d, org } = await fixture();
    await expectRefusedWithoutChange(
      db,
      () => inviteMember(d, org.owner, { orgId: org.orgId, email: present(org.member.email, 'the member email').toUpperCase(), role: 'viewer' }),
      'failed-precondition',
      /already a member/,
    );
  });

  it('refuses while the organization is being deleted', async () => {
    const { d, org } = await fixture();
    await db.doc(paths.org(org.orgId)).update({ status: 'deleting' });
    await expectRefusedWithoutChange(
      db,
      () => inviteMember(d, org.owner, { orgId: org.orgId, email: 'late@example.com', role: 'member' }),
      'failed-precondition',
      /being deleted/,
    );
  });

  it.each([
    ['no arguments', null, '(arguments)'],
    ['a missing orgId', { email: 'a@example.com', role: 'member' }, 'orgId'],
    ['an orgId with a slash', { orgId: 'a/b', email: 'a@example.com', role: 'member' }, 'orgId'],
    ['a bad e-mail', { orgId: 'org', email: 'not-an-address', role: 'member' }, 'email'],
    ['an address with the Kelvin sign', { orgId: 'org', email: '\u212Aim@example.com', role: 'member' }, 'email'],
    ['the owner role', { orgId: 'org', email: 'a@example.com', role: 'owner' }, 'role'],
    ['an unknown role', { orgId: 'org', email: 'a@example.com', role: 'superuser' }, 'role'],
    ['an unknown field', { orgId: 'org', email: 'a@example.com', role: 'member', expiresAt: 0 }, 'expiresAt'],
  ])('rejects %s as invalid-argument naming the field', async (_, args, field) => {
    const { d, org } = await fixture();
    const error = await expectRefusedWithoutChange(db, () => inviteMember(d, org.owner, args), 'invalid-argument');
    expect(error.details).toEqual({ field });
  });
});

describe('acceptInvitation', () => {
  it('consumes the invitation and creates the membership with the organization access state', async () => {
    const { d, org } = await fixture();
    // The organization turned read-only (billing lapsed): a new member starts with the same access state.
    await db.runTransaction(async (tx) => (await prepareAccessUpdate(db, tx, org.orgId))('read_only', { schemaVersion: ORGANIZATION_VERSION }));
    const invitee = caller(uniqueUid('invitee'), { email: 'Invitee@Example.com', name: 'Iris' });
    const link = await inviteMember(d, org.admin, { orgId: org.orgId, email: 'invitee@example.com', role: 'viewer' });

    expect(await acceptInvitation(d, invitee, { orgId: org.orgId, inviteId: link.inviteId, token: link.token })).toEqual({
      orgId: org.orgId,
      role: 'viewer',
    });
    expect(await readMember(db, org.orgId, invitee.uid)).toEqual({
      schemaVersion: MEMBER_VERSION,
      uid: invitee.uid,
      orgId: org.orgId,
      role: 'viewer',
      access: 'read_only',
      email: 'invitee@example.com',
      displayName: 'Iris',
      joinedAt: Timestamp.fromDate(START),
    });
    expect((await readOrg(db, org.orgId)).access).toBe('read_only');
    expect((await db.doc(paths.invite(org.orgId, link.inviteId)).get()).exists).toBe(false);
    await expectAuditEntries(db, org.orgId, { action: 'member.joined', targetUid: invitee.uid }, [
      {
        action: 'member.joined',
        actorUid: invitee.uid,
        targetUid: invitee.uid,
        targetId: link.inviteId,
        details: { role: 'viewer', invitedBy: org.admin.uid },
        at: Timestamp.fromDate(START),
      },
    ]);
  });

  it('is single use', async () => {
    const { d, org } = await fixture();
    const invitee = caller(uniqueUid('invitee'));
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: invitee.email, role: 'member' });
    const args = { orgId: org.orgId, inviteId: link.inviteId, token: link.token };
    await acceptInvitation(d, invitee, args);
    await expectRefusedWithoutChange(db, () => acceptInvitation(d, invitee, args), 'not-found', /already used/);
  });

  it('works until the expiry and not from then on', async () => {
    const { d, advance, org } = await fixture();
    const early = caller(uniqueUid('early'));
    const late = caller(uniqueUid('late'));
    const earlyLink = await inviteMember(d, org.owner, { orgId: org.orgId, email: early.email, role: 'member' });
    const lateLink = await inviteMember(d, org.owner, { orgId: org.orgId, email: late.email, role: 'member' });
    advance(7 * DAY_MS - 1);
    await acceptInvitation(d, early, { orgId: org.orgId, inviteId: earlyLink.inviteId, token: earlyLink.token });
    advance(1);
    await expectRefusedWithoutChange(
      db,
      () => acceptInvitation(d, late, { orgId: org.orgId, inviteId: lateLink.inviteId, token: lateLink.token }),
      'failed-precondition',
      /expired/,
    );
  });

  it('requires the verified address the invitation was sent to', async () => {
    const { d, org } = await fixture();
    const invitee = caller(uniqueUid('invitee'));
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: invitee.email, role: 'member' });
    const args = { orgId: org.orgId, inviteId: link.inviteId, token: link.token };

    await expectRefusedWithoutChange(db, () => acceptInvitation(d, caller(uniqueUid('other')), args), 'failed-precondition', /different e-mail/);
    await expectRefusedWithoutChange(
      db,
      () => acceptInvitation(d, caller(invitee.uid, { email: invitee.email, emailVerified: false }), args),
      'failed-precondition',
      /verify/,
    );
    await expectRefusedWithoutChange(db, () => acceptInvitation(d, caller(invitee.uid, { email: null }), args), 'failed-precondition', /verify/);
    await acceptInvitation(d, invitee, args);
  });

  it('compares addresses as Firebase Auth does: ASCII case folds, a look-alike that folds into the address does not', async () => {
    const { d, org } = await fixture();
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: 'kim@example.com', role: 'member' });
    const args = { orgId: org.orgId, inviteId: link.inviteId, token: link.token };
    // U+212A KELVIN SIGN lower-cases to an ASCII "k": a verified token for that address must not take the invitation.
    const lookAlike = caller(uniqueUid('kelvin'), { email: '\u212Aim@example.com' });
    await expectRefusedWithoutChange(db, () => acceptInvitation(d, lookAlike, args), 'failed-precondition', /ASCII/);
    const kim = caller(uniqueUid('kim'), { email: 'KIM@Example.com' });
    expect(await acceptInvitation(d, kim, args)).toEqual({ orgId: org.orgId, role: 'member' });
    expect((await readMember(db, org.orgId, kim.uid))?.email).toBe('kim@example.com');
  });

  it('treats a wrong token, an unknown invitation and an unknown organization alike', async () => {
    const { d, org } = await fixture();
    const invitee = caller(uniqueUid('invitee'));
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: invitee.email, role: 'member' });
    const wrongToken = link.token.startsWith('A') ? `B${link.token.slice(1)}` : `A${link.token.slice(1)}`;
    for (const args of [
      { orgId: org.orgId, inviteId: link.inviteId, token: wrongToken },
      { orgId: org.orgId, inviteId: 'nobodyInvitedThis0000', token: link.token },
      { orgId: 'no-such-org', inviteId: link.inviteId, token: link.token },
    ]) {
      await expectRefusedWithoutChange(db, () => acceptInvitation(d, invitee, args), 'not-found', /no such invitation/);
    }
  });

  it('refuses a caller who already is a member (e.g. after changing their address)', async () => {
    const { d, org } = await fixture();
    const newAddress = `${uniqueUid('renamed')}@example.com`;
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: newAddress, role: 'admin' });
    await expectRefusedWithoutChange(
      db,
      () => acceptInvitation(d, caller(org.viewer.uid, { email: newAddress }), { orgId: org.orgId, inviteId: link.inviteId, token: link.token }),
      'failed-precondition',
      /already a member/,
    );
    expect((await readMember(db, org.orgId, org.viewer.uid))?.role).toBe('viewer');
  });

  it('refuses while the organization is being deleted', async () => {
    const { d, org } = await fixture();
    const invitee = caller(uniqueUid('invitee'));
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: invitee.email, role: 'member' });
    await db.doc(paths.org(org.orgId)).update({ status: 'deleting' });
    await expectRefusedWithoutChange(
      db,
      () => acceptInvitation(d, invitee, { orgId: org.orgId, inviteId: link.inviteId, token: link.token }),
      'failed-precondition',
      /being deleted/,
    );
  });

  it.each([
    ['a missing token', { orgId: 'org', inviteId: 'abc' }, 'token'],
    ['a malformed token', { orgId: 'org', inviteId: 'abc', token: 'short' }, 'token'],
    ['a missing inviteId', { orgId: 'org', token: 'A'.repeat(43) }, 'inviteId'],
    ['a non-string orgId', { orgId: 7, inviteId: 'abc', token: 'A'.repeat(43) }, 'orgId'],
  ])('rejects %s as invalid-argument naming the field', async (_, args, field) => {
    const { d } = await fixture();
    const error = await expectRefusedWithoutChange(db, () => acceptInvitation(d, caller(uniqueUid('x')), args), 'invalid-argument');
    expect(error.details).toEqual({ field });
  });
});

describe('seats and pending invitations', () => {
  /** The seeded organization (4 members) on a paid plan with `seats` seats. */
  async function paidFixture(seats: number, status: 'active' | 'canceled' = 'active') {
    const { d, org } = await fixture();
    await db.doc(paths.subscription(org.orgId)).set({ ...subscriptionMirror(START, status, null), seats });
    return { d, org };
  }

  it('refuses an invitation beyond the purchased seats, counting pending invitations, naming the seats', async () => {
    const { d, org } = await paidFixture(6);
    const fifth = await inviteMember(d, org.owner, { orgId: org.orgId, email: 'fifth@example.com', role: 'member' });
    await inviteMember(d, org.admin, { orgId: org.orgId, email: 'sixth@example.com', role: 'viewer' });
    const error = await expectRefusedWithoutChange(
      db,
      () => inviteMember(d, org.owner, { orgId: org.orgId, email: 'seventh@example.com', role: 'member' }),
      'failed-precondition',
      /6 seats.*billing portal/,
    );
    expect(error.details).toEqual({ seats: 6 });
    // Re-inviting an address replaces its invitation and needs no further seat; revoking frees one.
    await inviteMember(d, org.owner, { orgId: org.orgId, email: 'fifth@example.com', role: 'viewer' });
    const refreshed = (await db.collection(paths.invites(org.orgId)).where('email', '==', 'fifth@example.com').get()).docs[0];
    expect(refreshed.id).not.toBe(fifth.inviteId);
    await revokeInvitation(d, org.owner, { orgId: org.orgId, inviteId: refreshed.id });
    await inviteMember(d, org.owner, { orgId: org.orgId, email: 'seventh@example.com', role: 'member' });
  });

  it('refuses an acceptance beyond the purchased seats (seats reduced after the invitation)', async () => {
    const { d, org } = await paidFixture(5);
    const invitee = caller(uniqueUid('invitee'));
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: invitee.email, role: 'member' });
    await db.doc(paths.subscription(org.orgId)).update({ seats: 4 });
    const args = { orgId: org.orgId, inviteId: link.inviteId, token: link.token };
    const error = await expectRefusedWithoutChange(db, () => acceptInvitation(d, invitee, args), 'failed-precondition', /4 seats/);
    expect(error.details).toEqual({ seats: 4 });
    await db.doc(paths.subscription(org.orgId)).update({ seats: 5 });
    expect(await acceptInvitation(d, invitee, args)).toEqual({ orgId: org.orgId, role: 'member' });
  });

  it('does not bound members by seats without a paid subscription (free plan, or canceled)', async () => {
    const { d, org } = await paidFixture(1, 'canceled');
    const invitee = caller(uniqueUid('invitee'));
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: invitee.email, role: 'member' });
    expect(await acceptInvitation(d, invitee, { orgId: org.orgId, inviteId: link.inviteId, token: link.token })).toMatchObject({ role: 'member' });
  });

  it('limits the invitations pending at once (resource-exhausted); expired ones do not count', async () => {
    const { clock, advance } = manualClock();
    const d = { ...deps(db, clock), maxPendingInvites: 2 };
    const org = await seedOrg(d);
    await inviteMember(d, org.owner, { orgId: org.orgId, email: 'one@example.com', role: 'member' });
    await inviteMember(d, org.owner, { orgId: org.orgId, email: 'two@example.com', role: 'member' });
    const error = await expectRefusedWithoutChange(
      db,
      () => inviteMember(d, org.admin, { orgId: org.orgId, email: 'three@example.com', role: 'member' }),
      'resource-exhausted',
      /2 pending invitations, the maximum/,
    );
    expect(error.details).toEqual({ maxPendingInvites: 2 });
    // Replacing a pending invitation is not a new one.
    await inviteMember(d, org.owner, { orgId: org.orgId, email: 'two@example.com', role: 'viewer' });
    advance(7 * DAY_MS);
    await inviteMember(d, org.owner, { orgId: org.orgId, email: 'three@example.com', role: 'member' });
  });
});

describe('revokeInvitation', () => {
  it('deletes the invitation so that its link stops working, and audits', async () => {
    const { d, org } = await fixture();
    const invitee = caller(uniqueUid('invitee'));
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: invitee.email, role: 'viewer' });
    expect(await revokeInvitation(d, org.admin, { orgId: org.orgId, inviteId: link.inviteId })).toEqual({ inviteId: link.inviteId });
    expect((await db.doc(paths.invite(org.orgId, link.inviteId)).get()).exists).toBe(false);
    await expectAuditEntries(db, org.orgId, { action: 'member.invite_revoked' }, [
      { action: 'member.invite_revoked', actorUid: org.admin.uid, targetId: link.inviteId, details: { role: 'viewer' }, at: Timestamp.fromDate(START) },
    ]);
    await expectRefusedWithoutChange(db, () => acceptInvitation(d, invitee, { orgId: org.orgId, inviteId: link.inviteId, token: link.token }), 'not-found');
  });

  it('lets only the owner revoke an admin invitation', async () => {
    const { d, org } = await fixture();
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: 'future-admin@example.com', role: 'admin' });
    const args = { orgId: org.orgId, inviteId: link.inviteId };
    await expectRefusedWithoutChange(db, () => revokeInvitation(d, org.admin, args), 'permission-denied', /owner/);
    await revokeInvitation(d, org.owner, args);
  });

  it('refuses members, viewers, strangers and unknown invitations', async () => {
    const { d, org } = await fixture();
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: 'pending@example.com', role: 'member' });
    const args = { orgId: org.orgId, inviteId: link.inviteId };
    await expectRefusedWithoutChange(db, () => revokeInvitation(d, org.member, args), 'permission-denied');
    await expectRefusedWithoutChange(db, () => revokeInvitation(d, org.viewer, args), 'permission-denied');
    await expectRefusedWithoutChange(db, () => revokeInvitation(d, caller(uniqueUid('stranger')), args), 'permission-denied');
    await expectRefusedWithoutChange(db, () => revokeInvitation(d, org.owner, { orgId: org.orgId, inviteId: 'nobodyInvitedThis0000' }), 'not-found');
    const error = await expectRefusedWithoutChange(db, () => revokeInvitation(d, org.owner, { orgId: org.orgId }), 'invalid-argument');
    expect(error.details).toEqual({ field: 'inviteId' });
  });

  it('refuses while the organization is being deleted', async () => {
    const { d, org } = await fixture();
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: 'pending@example.com', role: 'member' });
    await db.doc(paths.org(org.orgId)).update({ status: 'deleting' });
    await expectRefusedWithoutChange(db, () => revokeInvitation(d, org.owner, { orgId: org.orgId, inviteId: link.inviteId }), 'failed-precondition');
  });
});
