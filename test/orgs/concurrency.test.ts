/**
 * Concurrent membership changes: every handler reads what it changes inside its transaction, so conflicting
 * calls serialize (the emulator, like Firestore, retries the loser) and the invariants hold in every outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Firestore } from 'firebase-admin/firestore';
import { HttpsError } from 'firebase-functions/v2/https';
import { ORGANIZATION_VERSION, paths } from '@leadpulse/model';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { prepareAccessUpdate } from '../../functions/src/orgs/access-state';
import { acceptInvitation, changeRole, createOrganization, inviteMember, leaveOrganization, removeMember, transferOwnership } from '../../functions/src/orgs';
import { caller, deps, expectExactlyOneOwner, join, manualClock, readAuditLog, readMembers, readOrg, seedOrg, uniqueUid, type Deps } from './support';

let db: Firestore;
let close: () => Promise<void>;
let d: Deps;
beforeAll(() => {
  ({ db, close } = adminFirestore(uniqueProjectId('orgs-concurrency')));
  d = deps(db, manualClock().clock);
});
afterAll(() => close());

/** Runs the calls at once; returns which succeeded, and checks every failure is a deliberate refusal. */
async function race(calls: Array<() => Promise<unknown>>, allowedCodes: HttpsError['code'][]): Promise<boolean[]> {
  const results = await Promise.allSettled(calls.map((call) => call()));
  for (const result of results) {
    if (result.status === 'rejected') {
      expect(result.reason).toBeInstanceOf(HttpsError);
      expect(allowedCodes, String(result.reason)).toContain((result.reason as HttpsError).code);
    }
  }
  return results.map((result) => result.status === 'fulfilled');
}

/** Exactly one owner, and every member document carries the organization's access state. */
async function expectInvariants(orgId: string): Promise<string> {
  const owner = await expectExactlyOneOwner(db, orgId);
  const { access } = await readOrg(db, orgId);
  for (const member of await readMembers(db, orgId)) expect(member.access).toBe(access);
  return owner;
}

describe('concurrent accepts', () => {
  it('of one invitation by the same person: exactly one wins', async () => {
    const org = await seedOrg(d);
    const invitee = caller(uniqueUid('invitee'));
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: invitee.email, role: 'member' });
    const accept = () => acceptInvitation(d, invitee, { orgId: org.orgId, inviteId: link.inviteId, token: link.token });
    const outcomes = await race([accept, accept, accept], ['not-found']);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect((await readMembers(db, org.orgId)).filter((member) => member.uid === invitee.uid)).toHaveLength(1);
    expect((await readAuditLog(db, org.orgId)).filter((entry) => entry.action === 'member.joined' && entry.targetUid === invitee.uid)).toHaveLength(1);
  });

  it('of one invitation by two accounts with the same verified address: exactly one becomes a member', async () => {
    const org = await seedOrg(d);
    const email = `${uniqueUid('shared')}@example.com`;
    const accounts = [caller(uniqueUid('first'), { email }), caller(uniqueUid('second'), { email })];
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email, role: 'viewer' });
    const outcomes = await race(
      accounts.map((account) => () => acceptInvitation(d, account, { orgId: org.orgId, inviteId: link.inviteId, token: link.token })),
      ['not-found'],
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const joined = (await readMembers(db, org.orgId)).filter((member) => member.email === email);
    expect(joined.map((member) => member.uid)).toEqual([accounts[outcomes.indexOf(true)].uid]);
  });
});

describe('exactly one owner under concurrency', () => {
  it('two transfers at once: one wins, the other finds the caller no longer owner', async () => {
    const org = await seedOrg(d);
    const secondAdmin = caller(uniqueUid('admin2'));
    await join(d, org.orgId, org.owner, secondAdmin, 'admin');
    const outcomes = await race(
      [org.admin, secondAdmin].map((target) => () => transferOwnership(d, org.owner, { orgId: org.orgId, newOwnerUid: target.uid })),
      ['permission-denied'],
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const winner = outcomes[0] ? org.admin : secondAdmin;
    expect(await expectInvariants(org.orgId)).toBe(winner.uid);
  });

  it('a transfer racing the new owner leaving: either the transfer or the leave, never an ownerless org', async () => {
    const org = await seedOrg(d);
    const [transferred, left] = await race(
      [() => transferOwnership(d, org.owner, { orgId: org.orgId, newOwnerUid: org.admin.uid }), () => leaveOrganization(d, org.admin, { orgId: org.orgId })],
      ['not-found', 'failed-precondition'],
    );
    expect(transferred !== left).toBe(true);
    expect(await expectInvariants(org.orgId)).toBe(transferred ? org.admin.uid : org.owner.uid);
  });

  it('a transfer racing a demotion and a removal of the new owner', async () => {
    const org = await seedOrg(d);
    const outcomes = await race(
      [
        () => transferOwnership(d, org.owner, { orgId: org.orgId, newOwnerUid: org.admin.uid }),
        () => changeRole(d, org.owner, { orgId: org.orgId, uid: org.admin.uid, role: 'member' }),
        () => removeMember(d, org.owner, { orgId: org.orgId, uid: org.admin.uid }),
      ],
      ['not-found', 'failed-precondition', 'permission-denied'],
    );
    expect(await expectInvariants(org.orgId)).toBe(outcomes[0] ? org.admin.uid : org.owner.uid);
    // A demotion or removal first leaves no admin to transfer to; a transfer first makes the target the owner,
    // whom neither can touch.
    expect(outcomes.filter(Boolean).length).toBeGreaterThanOrEqual(1);
    if (outcomes[0]) expect(outcomes.slice(1)).toEqual([false, false]);
  });

  it('a storm of transfers, leaves and role changes keeps one owner and one audit entry per success', async () => {
    const org = await seedOrg(d);
    const admins = [org.admin];
    for (let i = 0; i < 2; i += 1) {
      const extra = caller(uniqueUid(`admin${i}`));
      await join(d, org.orgId, org.owner, extra, 'admin');
      admins.push(extra);
    }
    const auditBefore = (await readAuditLog(db, org.orgId)).length;
    const outcomes = await race(
      [
        () => transferOwnership(d, org.owner, { orgId: org.orgId, newOwnerUid: admins[0].uid }),
        () => transferOwnership(d, org.owner, { orgId: org.orgId, newOwnerUid: admins[1].uid }),
        () => leaveOrganization(d, admins[0], { orgId: org.orgId }),
        () => leaveOrganization(d, org.owner, { orgId: org.orgId }),
        () => changeRole(d, org.owner, { orgId: org.orgId, uid: admins[2].uid, role: 'viewer' }),
        () => changeRole(d, org.admin, { orgId: org.orgId, uid: org.member.uid, role: 'viewer' }),
      ],
      ['not-found', 'failed-precondition', 'permission-denied'],
    );
    await expectInvariants(org.orgId);
    expect((await readAuditLog(db, org.orgId)).length - auditBefore).toBe(outcomes.filter(Boolean).length);
  });
});

describe('access state in step under concurrency', () => {
  it('membership changes racing an access-state update (billing) leave every member document in step', async () => {
    const org = await seedOrg(d);
    const invitee = caller(uniqueUid('invitee'));
    const link = await inviteMember(d, org.owner, { orgId: org.orgId, email: invitee.email, role: 'member' });
    const outcomes = await race(
      [
        () => db.runTransaction(async (tx) => (await prepareAccessUpdate(db, tx, org.orgId))('read_only', { schemaVersion: ORGANIZATION_VERSION })),
        () => acceptInvitation(d, invitee, { orgId: org.orgId, inviteId: link.inviteId, token: link.token }),
        () => changeRole(d, org.owner, { orgId: org.orgId, uid: org.viewer.uid, role: 'member' }),
        () => transferOwnership(d, org.owner, { orgId: org.orgId, newOwnerUid: org.admin.uid }),
      ],
      [],
    );
    expect(outcomes).toEqual([true, true, true, true]);
    expect((await readOrg(db, org.orgId)).access).toBe('read_only');
    await expectInvariants(org.orgId);
    expect(await readMembers(db, org.orgId)).toHaveLength(5);
  });
});

describe('bounded ownership under concurrency', () => {
  it('concurrent creations by one user stop at the bound', async () => {
    const bounded = { ...d, maxOrgsPerOwner: 2 };
    const owner = caller(uniqueUid('owner'));
    const outcomes = await race(
      Array.from({ length: 4 }, (_, i) => () => createOrganization(bounded, owner, { name: `Org ${i}` })),
      ['failed-precondition'],
    );
    expect(outcomes.filter(Boolean)).toHaveLength(2);
    expect((await db.collection(paths.orgs()).where('ownerUid', '==', owner.uid).get()).size).toBe(2);
  });
});
