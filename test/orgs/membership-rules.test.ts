/**
 * Membership changes as the rules see them (through @firebase/rules-unit-testing and the repository's
 * firestore.rules): the rules read the member document, so a change takes effect on the very next request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertFails, assertSucceeds, type RulesTestEnvironment } from '@firebase/rules-unit-testing';
import type { Firestore } from 'firebase-admin/firestore';
import { paths } from '@leadpulse/model';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { rulesTestEnvironment } from '../support/rules';
import { acceptInvitation, changeRole, inviteMember, leaveOrganization, removeMember } from '../../functions/src/orgs';
import { caller, deps, seedOrg, uniqueUid, type Deps, type SeededOrg } from './support';

const projectId = uniqueProjectId('orgs-rules');
let env: RulesTestEnvironment;
let db: Firestore;
let close: () => Promise<void>;
let d: Deps;

beforeAll(async () => {
  env = await rulesTestEnvironment(projectId);
  ({ db, close } = adminFirestore(projectId));
  // Real Firestore timestamps: the rules compare times with request.time.
  d = deps(db, () => new Date());
});
afterAll(async () => {
  await env?.cleanup();
  await close?.();
});

/** The web client of a signed-in user (unsigned test token, as the emulator accepts). */
function clientOf(user: { uid: string; email: string | null }) {
  return env.authenticatedContext(user.uid, { email: user.email ?? undefined, email_verified: true }).firestore();
}

const readOrgAs = (user: { uid: string; email: string | null }, org: SeededOrg) => clientOf(user).doc(paths.org(org.orgId)).get();
const listContactsAs = (user: { uid: string; email: string | null }, org: SeededOrg) => clientOf(user).collection(paths.contacts(org.orgId)).get();
const listAuditLogAs = (user: { uid: string; email: string | null }, org: SeededOrg) => clientOf(user).collection(paths.auditLog(org.orgId)).get();

describe('membership changes take effect on the next request', () => {
  it('a new member is allowed as soon as acceptInvitation returns', async () => {
    const org = await seedOrg(d, 'rules-join');
    const newcomer = caller(uniqueUid('newcomer'));
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: newcomer.email, role: 'member' });
    await assertFails(readOrgAs(newcomer, org));
    await assertFails(listContactsAs(newcomer, org));

    await acceptInvitation(d, newcomer, { orgId: org.orgId, inviteId: link.inviteId, token: link.token });
    await assertSucceeds(readOrgAs(newcomer, org));
    await assertSucceeds(listContactsAs(newcomer, org));
  });

  it('a removed member is denied on the very next read', async () => {
    const org = await seedOrg(d, 'rules-remove');
    await assertSucceeds(readOrgAs(org.member, org));
    await assertSucceeds(listContactsAs(org.member, org));

    await removeMember(d, org.admin, { orgId: org.orgId, uid: org.member.uid });
    await assertFails(readOrgAs(org.member, org));
    await assertFails(listContactsAs(org.member, org));
    // Everyone else keeps access.
    await assertSucceeds(readOrgAs(org.viewer, org));
  });

  it('a member who left is denied on the very next read', async () => {
    const org = await seedOrg(d, 'rules-leave');
    await assertSucceeds(readOrgAs(org.viewer, org));
    await leaveOrganization(d, org.viewer, { orgId: org.orgId });
    await assertFails(readOrgAs(org.viewer, org));
  });

  it('a role change is in force on the next request, both ways', async () => {
    const org = await seedOrg(d, 'rules-role');
    await assertFails(listAuditLogAs(org.member, org));
    await changeRole(d, org.owner, { orgId: org.orgId, uid: org.member.uid, role: 'admin' });
    const entries = await assertSucceeds(listAuditLogAs(org.member, org));
    expect(entries.docs.map((doc) => doc.get('action'))).toContain('member.role_changed');
    await changeRole(d, org.owner, { orgId: org.orgId, uid: org.member.uid, role: 'viewer' });
    await assertFails(listAuditLogAs(org.member, org));
  });
});
