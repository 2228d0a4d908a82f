/**
 * Schema versions of the organization's own documents (docs/operations.md, "Schema evolution"): every membership
 * callable stamps its kind's version on what it writes; a document an older release wrote (no `schemaVersion`,
 * version 1) is read, updated and raised; one a newer release stamped keeps its version and its unknown fields.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FieldValue, type Firestore } from 'firebase-admin/firestore';
import { AUDIT_ENTRY_VERSION, INVITE_VERSION, MEMBER_VERSION, ORGANIZATION_VERSION, paths } from '@leadpulse/model';
import { acceptInvitation, changeRole, inviteMember, revokeInvitation, transferOwnership } from '../../functions/src/orgs';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { caller, deps, manualClock, seedOrg, uniqueUid, type Deps } from './support';

let db: Firestore;
let close: () => Promise<void>;
let d: Deps;
beforeAll(() => {
  ({ db, close } = adminFirestore(uniqueProjectId('orgs-versions')));
  d = deps(db, manualClock().clock);
});
afterAll(() => close());

const stored = async (path: string) => (await db.doc(path).get()).data() ?? {};
/** As an older release wrote it: without the field. */
const asVersionOne = (path: string) => db.doc(path).update({ schemaVersion: FieldValue.delete() });
/** As a newer release wrote it: a higher version and a field this release does not know. */
const asNewer = (path: string, version: number) => db.doc(path).update({ schemaVersion: version, addedByNextRelease: true });
const auditVersions = async (orgId: string, action: string) =>
  (await db.collection(paths.auditLog(orgId)).where('action', '==', action).get()).docs.map((doc) => doc.get('schemaVersion') as unknown);

describe('membership writers and schema versions', () => {
  it('changeRole raises a member written before versions and keeps a newer one', async () => {
    const org = await seedOrg(d, 'ver-role');
    await asVersionOne(paths.member(org.orgId, org.member.uid));
    await asNewer(paths.member(org.orgId, org.viewer.uid), MEMBER_VERSION + 1);

    await changeRole(d, org.owner, { orgId: org.orgId, uid: org.member.uid, role: 'viewer' });
    await changeRole(d, org.owner, { orgId: org.orgId, uid: org.viewer.uid, role: 'member' });

    expect(await stored(paths.member(org.orgId, org.member.uid))).toMatchObject({ role: 'viewer', schemaVersion: MEMBER_VERSION });
    expect(await stored(paths.member(org.orgId, org.viewer.uid))).toMatchObject({
      role: 'member',
      schemaVersion: MEMBER_VERSION + 1,
      addedByNextRelease: true,
    });
    expect(await auditVersions(org.orgId, 'member.role_changed')).toEqual([AUDIT_ENTRY_VERSION, AUDIT_ENTRY_VERSION]);
  });

  it('transferOwnership raises the organization and both members from version 1, or keeps their newer versions', async () => {
    const org = await seedOrg(d, 'ver-transfer');
    for (const path of [paths.org(org.orgId), paths.member(org.orgId, org.owner.uid), paths.member(org.orgId, org.admin.uid)]) await asVersionOne(path);

    await transferOwnership(d, org.owner, { orgId: org.orgId, newOwnerUid: org.admin.uid });

    expect(await stored(paths.org(org.orgId))).toMatchObject({ ownerUid: org.admin.uid, schemaVersion: ORGANIZATION_VERSION });
    expect(await stored(paths.member(org.orgId, org.admin.uid))).toMatchObject({ role: 'owner', schemaVersion: MEMBER_VERSION });
    expect(await stored(paths.member(org.orgId, org.owner.uid))).toMatchObject({ role: 'admin', schemaVersion: MEMBER_VERSION });

    await asNewer(paths.org(org.orgId), ORGANIZATION_VERSION + 1);
    await asNewer(paths.member(org.orgId, org.owner.uid), MEMBER_VERSION + 1);
    await asNewer(paths.member(org.orgId, org.admin.uid), MEMBER_VERSION + 1);

    await transferOwnership(d, org.admin, { orgId: org.orgId, newOwnerUid: org.owner.uid });

    const newer = { addedByNextRelease: true };
    expect(await stored(paths.org(org.orgId))).toMatchObject({ ownerUid: org.owner.uid, schemaVersion: ORGANIZATION_VERSION + 1, ...newer });
    expect(await stored(paths.member(org.orgId, org.owner.uid))).toMatchObject({ role: 'owner', schemaVersion: MEMBER_VERSION + 1, ...newer });
    expect(await stored(paths.member(org.orgId, org.admin.uid))).toMatchObject({ role: 'admin', schemaVersion: MEMBER_VERSION + 1, ...newer });
  });

  it('an invitation written before versions is accepted (the member is stamped) or revoked (the audit entry is)', async () => {
    const org = await seedOrg(d, 'ver-invite');
    const invitee = caller(uniqueUid('invitee'));
    const accepted = await inviteMember(d, org.admin, { orgId: org.orgId, email: invitee.email, role: 'member' });
    const revoked = await inviteMember(d, org.admin, { orgId: org.orgId, email: 'someone.else@example.com', role: 'viewer' });
    expect(await stored(paths.invite(org.orgId, accepted.inviteId))).toMatchObject({ schemaVersion: INVITE_VERSION });
    await asVersionOne(paths.invite(org.orgId, accepted.inviteId));
    await asVersionOne(paths.invite(org.orgId, revoked.inviteId));
    await asVersionOne(paths.org(org.orgId));

    await acceptInvitation(d, invitee, { orgId: org.orgId, inviteId: accepted.inviteId, token: accepted.token });
    await revokeInvitation(d, org.admin, { orgId: org.orgId, inviteId: revoked.inviteId });

    expect(await stored(paths.member(org.orgId, invitee.uid))).toMatchObject({ role: 'member', schemaVersion: MEMBER_VERSION });
    expect(await auditVersions(org.orgId, 'member.joined')).toContain(AUDIT_ENTRY_VERSION);
    expect(await auditVersions(org.orgId, 'member.invite_revoked')).toEqual([AUDIT_ENTRY_VERSION]);
    // Neither wrote the organization: it stays as the older release left it.
    expect((await stored(paths.org(org.orgId))).schemaVersion).toBeUndefined();
  });
});
