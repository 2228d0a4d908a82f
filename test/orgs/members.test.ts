import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import { ORGANIZATION_VERSION, paths } from '@leadpulse/model';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { acceptInvitation, changeRole, createOrganization, inviteMember, leaveOrganization, removeMember, transferOwnership } from '../../functions/src/orgs';
import { prepareAccessUpdate } from '../../functions/src/orgs/access-state';
import { expectRefusedWithoutChange } from '../support/snapshot';
import {
  START,
  caller,
  deps,
  expectAuditEntries,
  expectExactlyOneOwner,
  manualClock,
  readAuditLog,
  readMember,
  readMembers,
  readOrg,
  seedOrg,
  uniqueUid,
  type Deps,
  type SeededOrg,
} from './support';

let db: Firestore;
let close: () => Promise<void>;
beforeAll(() => {
  ({ db, close } = adminFirestore(uniqueProjectId('orgs-members')));
});
afterAll(() => close());

async function fixture(limits: Partial<Deps> = {}): Promise<{ d: Deps; org: SeededOrg }> {
  const d = { ...deps(db, manualClock().clock), ...limits };
  return { d, org: await seedOrg(d) };
}

const at = Timestamp.fromDate(START);

describe('changeRole', () => {
  it('lets the owner grant and take away admin, keeping the member access state in step', async () => {
    const { d, org } = await fixture();
    await db.runTransaction(async (tx) => (await prepareAccessUpdate(db, tx, org.orgId))('read_only', { schemaVersion: ORGANIZATION_VERSION }));
    // A stale copy on a member document is brought back in step by the next role change.
    await db.doc(paths.member(org.orgId, org.member.uid)).update({ access: 'full' });

    expect(await changeRole(d, org.owner, { orgId: org.orgId, uid: org.member.uid, role: 'admin' })).toEqual({ uid: org.member.uid, role: 'admin' });
    expect(await readMember(db, org.orgId, org.member.uid)).toMatchObject({ role: 'admin', access: 'read_only' });
    await changeRole(d, org.owner, { orgId: org.orgId, uid: org.admin.uid, role: 'viewer' });
    expect(await readMember(db, org.orgId, org.admin.uid)).toMatchObject({ role: 'viewer', access: 'read_only' });

    await expectAuditEntries(db, org.orgId, { action: 'member.role_changed' }, [
      { action: 'member.role_changed', actorUid: org.owner.uid, targetUid: org.member.uid, details: { from: 'member', to: 'admin' }, at },
      { action: 'member.role_changed', actorUid: org.owner.uid, targetUid: org.admin.uid, details: { from: 'admin', to: 'viewer', invitationsRevoked: 0 }, at },
    ]);
  });

  it('lets an admin move people between member and viewer', async () => {
    const { d, org } = await fixture();
    await changeRole(d, org.admin, { orgId: org.orgId, uid: org.member.uid, role: 'viewer' });
    await changeRole(d, org.admin, { orgId: org.orgId, uid: org.viewer.uid, role: 'member' });
    expect((await readMember(db, org.orgId, org.member.uid))?.role).toBe('viewer');
    expect((await readMember(db, org.orgId, org.viewer.uid))?.role).toBe('member');
  });

  it('writes nothing when the role does not change', async () => {
    const { d, org } = await fixture();
    const before = await readAuditLog(db, org.orgId);
    const memberBefore = await db.doc(paths.member(org.orgId, org.member.uid)).get();
    expect(await changeRole(d, org.admin, { orgId: org.orgId, uid: org.member.uid, role: 'member' })).toEqual({ uid: org.member.uid, role: 'member' });
    expect(await readAuditLog(db, org.orgId)).toEqual(before);
    expect((await db.doc(paths.member(org.orgId, org.member.uid)).get()).updateTime).toEqual(memberBefore.updateTime);
  });

  it('keeps admin grants with the owner', async () => {
    const { d, org } = await fixture();
    const change = (uid: string, role: string) => () => changeRole(d, org.admin, { orgId: org.orgId, uid, role });
    await expectRefusedWithoutChange(db, change(org.member.uid, 'admin'), 'permission-denied', /owner/);
    await changeRole(d, org.owner, { orgId: org.orgId, uid: org.viewer.uid, role: 'admin' });
    await expectRefusedWithoutChange(db, change(org.viewer.uid, 'member'), 'permission-denied', /owner/);
    await expectRefusedWithoutChange(db, change(org.admin.uid, 'viewer'), 'permission-denied', /owner/);
  });

  it('never changes the owner (not even by the owner): ownership moves only by transfer', async () => {
    const { d, org } = await fixture();
    for (const actor of [org.owner, org.admin]) {
      await expectRefusedWithoutChange(
        db,
        () => changeRole(d, actor, { orgId: org.orgId, uid: org.owner.uid, role: 'admin' }),
        'failed-precondition',
        /transferOwnership/,
      );
    }
    await expectExactlyOneOwner(db, org.orgId);
  });

  it('refuses members, viewers and strangers; unknown targets are not-found', async () => {
    const { d, org } = await fixture();
    const args = { orgId: org.orgId, uid: org.viewer.uid, role: 'member' };
    await expectRefusedWithoutChange(db, () => changeRole(d, org.member, args), 'permission-denied');
    await expectRefusedWithoutChange(db, () => changeRole(d, org.viewer, args), 'permission-denied');
    await expectRefusedWithoutChange(db, () => changeRole(d, caller(uniqueUid('stranger')), args), 'permission-denied', /not a member/);
    await expectRefusedWithoutChange(db, () => changeRole(d, org.owner, { ...args, uid: 'nobody' }), 'not-found');
  });

  it.each([
    ['the owner role', { orgId: 'o', uid: 'u', role: 'owner' }, 'role'],
    ['a missing uid', { orgId: 'o', role: 'member' }, 'uid'],
    ['a uid with a slash', { orgId: 'o', uid: 'a/b', role: 'member' }, 'uid'],
    ['a reserved uid', { orgId: 'o', uid: '__x__', role: 'member' }, 'uid'],
    ['an unknown field', { orgId: 'o', uid: 'u', role: 'member', access: 'full' }, 'access'],
  ])('rejects %s as invalid-argument naming the field', async (_, args, field) => {
    const { d, org } = await fixture();
    const error = await expectRefusedWithoutChange(db, () => changeRole(d, org.owner, args), 'invalid-argument');
    expect(error.details).toEqual({ field });
  });
});

describe('removeMember', () => {
  it('deletes the member document and audits; owners remove admins, admins remove members and viewers', async () => {
    const { d, org } = await fixture();
    expect(await removeMember(d, org.admin, { orgId: org.orgId, uid: org.viewer.uid })).toEqual({ uid: org.viewer.uid });
    await removeMember(d, org.admin, { orgId: org.orgId, uid: org.member.uid });
    await removeMember(d, org.owner, { orgId: org.orgId, uid: org.admin.uid });
    expect((await readMembers(db, org.orgId)).map((member) => member.uid)).toEqual([org.owner.uid]);
    await expectAuditEntries(db, org.orgId, { action: 'member.removed' }, [
      { action: 'member.removed', actorUid: org.admin.uid, targetUid: org.viewer.uid, details: { role: 'viewer' }, at },
      { action: 'member.removed', actorUid: org.admin.uid, targetUid: org.member.uid, details: { role: 'member' }, at },
      { action: 'member.removed', actorUid: org.owner.uid, targetUid: org.admin.uid, details: { role: 'admin', invitationsRevoked: 0 }, at },
    ]);
  });

  it('refuses to remove the owner, oneself, or (for an admin) another admin', async () => {
    const { d, org } = await fixture();
    await expectRefusedWithoutChange(db, () => removeMember(d, org.admin, { orgId: org.orgId, uid: org.owner.uid }), 'failed-precondition', /owner/);
    await expectRefusedWithoutChange(
      db,
      () => removeMember(d, org.owner, { orgId: org.orgId, uid: org.owner.uid }),
      'failed-precondition',
      /leaveOrganization/,
    );
    await expectRefusedWithoutChange(
      db,
      () => removeMember(d, org.admin, { orgId: org.orgId, uid: org.admin.uid }),
      'failed-precondition',
      /leaveOrganization/,
    );
    await changeRole(d, org.owner, { orgId: org.orgId, uid: org.member.uid, role: 'admin' });
    await expectRefusedWithoutChange(db, () => removeMember(d, org.admin, { orgId: org.orgId, uid: org.member.uid }), 'permission-denied', /owner/);
    await expectExactlyOneOwner(db, org.orgId);
  });

  it('refuses members, viewers and strangers; unknown targets are not-found; bad arguments name the field', async () => {
    const { d, org } = await fixture();
    const args = { orgId: org.orgId, uid: org.viewer.uid };
    await expectRefusedWithoutChange(db, () => removeMember(d, org.member, args), 'permission-denied');
    await expectRefusedWithoutChange(db, () => removeMember(d, org.viewer, { orgId: org.orgId, uid: org.member.uid }), 'permission-denied');
    await expectRefusedWithoutChange(db, () => removeMember(d, caller(uniqueUid('stranger')), args), 'permission-denied');
    await expectRefusedWithoutChange(db, () => removeMember(d, org.owner, { orgId: org.orgId, uid: 'nobody' }), 'not-found');
    const error = await expectRefusedWithoutChange(db, () => removeMember(d, org.owner, { orgId: org.orgId, uid: '' }), 'invalid-argument');
    expect(error.details).toEqual({ field: 'uid' });
  });

  it('refuses while the organization is being deleted', async () => {
    const { d, org } = await fixture();
    await db.doc(paths.org(org.orgId)).update({ status: 'deleting' });
    await expectRefusedWithoutChange(db, () => removeMember(d, org.owner, { orgId: org.orgId, uid: org.viewer.uid }), 'failed-precondition');
  });
});

describe('leaveOrganization', () => {
  it('deletes the caller’s membership and audits, for every role but the owner', async () => {
    const { d, org } = await fixture();
    for (const leaver of [org.viewer, org.member, org.admin]) {
      expect(await leaveOrganization(d, leaver, { orgId: org.orgId })).toEqual({ orgId: org.orgId });
      expect(await readMember(db, org.orgId, leaver.uid)).toBeUndefined();
    }
    await expectAuditEntries(db, org.orgId, { action: 'member.left' }, [
      { action: 'member.left', actorUid: org.viewer.uid, targetUid: org.viewer.uid, details: { role: 'viewer' }, at },
      { action: 'member.left', actorUid: org.member.uid, targetUid: org.member.uid, details: { role: 'member' }, at },
      { action: 'member.left', actorUid: org.admin.uid, targetUid: org.admin.uid, details: { role: 'admin', invitationsRevoked: 0 }, at },
    ]);
  });

  it('refuses the owner, non-members and bad arguments', async () => {
    const { d, org } = await fixture();
    await expectRefusedWithoutChange(db, () => leaveOrganization(d, org.owner, { orgId: org.orgId }), 'failed-precondition', /transfer ownership/);
    await expectRefusedWithoutChange(db, () => leaveOrganization(d, caller(uniqueUid('stranger')), { orgId: org.orgId }), 'permission-denied');
    const error = await expectRefusedWithoutChange(db, () => leaveOrganization(d, org.member, { org: org.orgId }), 'invalid-argument');
    expect(error.details).toEqual({ field: 'orgId' });
    await expectExactlyOneOwner(db, org.orgId);
  });
});

describe('losing the admin role', () => {
  const ways: Array<[string, (d: Deps, org: SeededOrg) => Promise<unknown>]> = [
    ['demoted', (d, org) => changeRole(d, org.owner, { orgId: org.orgId, uid: org.admin.uid, role: 'member' })],
    ['removed', (d, org) => removeMember(d, org.owner, { orgId: org.orgId, uid: org.admin.uid })],
    ['leaving', (d, org) => leaveOrganization(d, org.admin, { orgId: org.orgId })],
  ];
  it.each(ways)('revokes the invitations the admin sent when %s, and no one else’s', async (_, lose) => {
    const { d, org } = await fixture();
    const sentByAdmin = [
      await inviteMember(d, org.admin, { orgId: org.orgId, email: 'first@example.com', role: 'member' }),
      await inviteMember(d, org.admin, { orgId: org.orgId, email: 'second@example.com', role: 'viewer' }),
    ];
    const sentByOwner = await inviteMember(d, org.owner, { orgId: org.orgId, email: 'third@example.com', role: 'member' });
    await lose(d, org);

    const pending = await db.collection(paths.invites(org.orgId)).get();
    expect(pending.docs.map((doc) => doc.id)).toEqual([sentByOwner.inviteId]);
    const firstInvitee = caller(uniqueUid('first'), { email: 'first@example.com' });
    await expectRefusedWithoutChange(
      db,
      () => acceptInvitation(d, firstInvitee, { orgId: org.orgId, inviteId: sentByAdmin[0].inviteId, token: sentByAdmin[0].token }),
      'not-found',
    );
    const lossActions = ['member.role_changed', 'member.removed', 'member.left'];
    const entries = (await readAuditLog(db, org.orgId)).filter((entry) => lossActions.includes(String(entry.action)));
    expect(entries).toEqual([expect.objectContaining({ targetUid: org.admin.uid, details: expect.objectContaining({ invitationsRevoked: 2 }) })]);
  });
});

describe('transferOwnership', () => {
  it('makes an admin the owner and the previous owner an admin, in step with the organization', async () => {
    const { d, org } = await fixture();
    await db.runTransaction(async (tx) => (await prepareAccessUpdate(db, tx, org.orgId))('read_only', { schemaVersion: ORGANIZATION_VERSION }));
    await db.doc(paths.member(org.orgId, org.admin.uid)).update({ access: 'full' });
    await db.doc(paths.member(org.orgId, org.owner.uid)).update({ access: 'none' });
    expect(await transferOwnership(d, org.owner, { orgId: org.orgId, newOwnerUid: org.admin.uid })).toEqual({
      orgId: org.orgId,
      ownerUid: org.admin.uid,
    });
    expect((await readOrg(db, org.orgId)).ownerUid).toBe(org.admin.uid);
    expect(await readMember(db, org.orgId, org.admin.uid)).toMatchObject({ role: 'owner', access: 'read_only' });
    expect(await readMember(db, org.orgId, org.owner.uid)).toMatchObject({ role: 'admin', access: 'read_only' });
    expect(await expectExactlyOneOwner(db, org.orgId)).toBe(org.admin.uid);
    await expectAuditEntries(db, org.orgId, { action: 'org.ownership_transferred' }, [
      { action: 'org.ownership_transferred', actorUid: org.owner.uid, targetUid: org.admin.uid, details: { previousOwnerUid: org.owner.uid }, at },
    ]);

    // The former owner now is an ordinary admin: it can leave, and the new owner cannot.
    await expectRefusedWithoutChange(db, () => leaveOrganization(d, org.admin, { orgId: org.orgId }), 'failed-precondition');
    await leaveOrganization(d, org.owner, { orgId: org.orgId });
    await expectExactlyOneOwner(db, org.orgId);
  });

  it('goes only to an existing admin, and only from the owner', async () => {
    const { d, org } = await fixture();
    const transfer =
      (actor = org.owner, newOwnerUid = org.admin.uid) =>
      () =>
        transferOwnership(d, actor, { orgId: org.orgId, newOwnerUid });
    await expectRefusedWithoutChange(db, transfer(org.owner, org.member.uid), 'failed-precondition', /only to an admin/);
    await expectRefusedWithoutChange(db, transfer(org.owner, org.viewer.uid), 'failed-precondition', /only to an admin/);
    await expectRefusedWithoutChange(db, transfer(org.owner, 'nobody'), 'not-found');
    await expectRefusedWithoutChange(db, transfer(org.owner, org.owner.uid), 'failed-precondition', /already own/);
    await expectRefusedWithoutChange(db, transfer(org.admin, org.admin.uid), 'permission-denied');
    await expectRefusedWithoutChange(db, transfer(org.member), 'permission-denied');
    await expectRefusedWithoutChange(db, transfer(caller(uniqueUid('stranger'))), 'permission-denied');
    const error = await expectRefusedWithoutChange(db, () => transferOwnership(d, org.owner, { orgId: org.orgId }), 'invalid-argument');
    expect(error.details).toEqual({ field: 'newOwnerUid' });
    await expectExactlyOneOwner(db, org.orgId);
  });

  it('respects the new owner’s bound on owned organizations', async () => {
    const { d, org } = await fixture({ maxOrgsPerOwner: 1 });
    await createOrganization(d, org.admin, { name: 'The admin’s own' });
    await expectRefusedWithoutChange(
      db,
      () => transferOwnership(d, org.owner, { orgId: org.orgId, newOwnerUid: org.admin.uid }),
      'failed-precondition',
      /new owner already owns 1/,
    );
  });

  it('refuses while the organization is being deleted', async () => {
    const { d, org } = await fixture();
    await db.doc(paths.org(org.orgId)).update({ status: 'deleting' });
    await expectRefusedWithoutChange(
      db,
      () => transferOwnership(d, org.owner, { orgId: org.orgId, newOwnerUid: org.admin.uid }),
      'failed-precondition',
      /being deleted/,
    );
  });
});
