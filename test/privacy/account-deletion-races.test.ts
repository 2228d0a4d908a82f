/**
 * Account deletion is exclusive with every membership change (issue 13, findings 2 and 3). The deletion's step
 * hook runs a membership change at each step — inside the transaction that records the request (started there,
 * not awaited: it must wait for that transaction), and after each later step — and the end state must hold: the
 * change was refused, the organization has exactly one owner who exists, and the person's uid is nowhere.
 * Then the Auth trigger for the only owner of a shared organization: ownership passes to the earliest admin, or
 * the organization is scheduled for deletion; operators can assign an owner.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FieldValue, type Firestore } from 'firebase-admin/firestore';
import { MEMBER_VERSION, ORGANIZATION_VERSION, paths } from '@leadpulse/model';
import { deleteAccount, onAuthUserDeleted, type AccountDeletionDeps, type AccountDeletionStep } from '../../functions/src/accounts/account-deletion';
import {
  acceptInvitation,
  assignOwner,
  changeRole,
  createOrganization,
  inviteMember,
  leaveOrganization,
  removeMember,
  revokeInvitation,
  transferOwnership,
} from '../../functions/src/orgs';
import type { Caller } from '../../functions/src/common/callable';
import { dumpProject, expectRefusedWithoutChange, storedText } from '../support/snapshot';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import {
  caller,
  deps as membershipDeps,
  expectExactlyOneOwner,
  join,
  manualClock,
  readMember,
  readOrg,
  seedOrg,
  uniqueUid,
  type Deps,
  type SeededOrg,
} from '../orgs/support';
import { cancelOrganizationDeletion } from '../../functions/src/privacy/org-deletion';
import { RecordingAuth, recordingCancellation } from './support';

let db: Firestore;
let close: () => Promise<void>;
let time: ReturnType<typeof manualClock>;
let d: Deps;
let auth: RecordingAuth;
let deletionDeps: AccountDeletionDeps;

beforeEach(() => {
  ({ db, close } = adminFirestore(uniqueProjectId('privacy-races')));
  time = manualClock();
  d = membershipDeps(db, time.clock);
  auth = new RecordingAuth();
  deletionDeps = { db, clock: time.clock, auth, orgDeletion: { graceDays: 7, cancelSubscription: recordingCancellation().cancel }, pageSize: 5 };
});
afterEach(async () => close());

const steps: AccountDeletionStep[] = ['recording', 'recorded', 'memberships', 'anonymized', 'profile', 'auth'];

/**
 * Deletes `person`'s account and runs `change` when the deletion reaches `at`: inside the recording transaction
 * the change is only started (it has to wait for that transaction); after a committed step it runs to its end.
 * Returns how the change ended.
 */
async function deleteWhile(person: string, at: AccountDeletionStep, change: () => Promise<unknown>): Promise<PromiseSettledResult<unknown>> {
  let running: Promise<unknown> | undefined;
  const onStep = async (step: AccountDeletionStep) => {
    if (step !== at || running) return;
    running = change();
    // Settled and inspected after the deletion; handled here so that a refusal is not reported as unhandled.
    const settled = running.catch(() => undefined);
    if (step === 'recording') void settled;
    else await settled;
  };
  expect(await deleteAccount({ ...deletionDeps, onStep }, person, 'self')).toMatchObject({ status: 'deleted' });
  expect(running, `the deletion reached "${at}"`).toBeDefined();
  const [outcome] = await Promise.allSettled([running]);
  return outcome;
}

/**
 * The change was refused: the account is being deleted or, once its memberships are gone, the person is no
 * longer a member of the organization the change names.
 */
/** deleteWhile for several changes started together at `at`; answers how each ended, by name. */
async function deleteWhileAll(
  person: string,
  at: AccountDeletionStep,
  changes: Record<string, () => Promise<unknown>>,
): Promise<Record<string, PromiseSettledResult<unknown>>> {
  const names = Object.keys(changes);
  const outcome = await deleteWhile(person, at, async () => {
    const settled = await Promise.allSettled(names.map((name) => changes[name]()));
    return Object.fromEntries(names.map((name, index) => [name, settled[index]]));
  });
  expect(outcome.status).toBe('fulfilled');
  return (outcome as PromiseFulfilledResult<Record<string, PromiseSettledResult<unknown>>>).value;
}

function expectRefusedBecauseDeleted(outcome: PromiseSettledResult<unknown>): void {
  expect(outcome.status).toBe('rejected');
  expect((outcome as PromiseRejectedResult).reason).toSatisfy(
    (error: { code?: string; message?: string }) =>
      (error.code === 'failed-precondition' && /being deleted/.test(error.message ?? '')) ||
      (error.code === 'not-found' && /is not a member/.test(error.message ?? '')),
  );
}

async function expectUidNowhere(uid: string): Promise<void> {
  expect(storedText(await dumpProject(db))).not.toContain(uid);
}

describe('account deletion against membership changes, at every step', () => {
  let org: SeededOrg;
  beforeEach(async () => {
    org = await seedOrg(d, 'race');
  });

  for (const at of steps) {
    it(`refuses every membership change of the person, all at once (at "${at}")`, async () => {
      const person = org.admin;
      const other = await createOrganization(d, org.owner, { name: 'Other' });
      const toPerson = await inviteMember(d, org.owner, { orgId: other.orgId, email: person.email ?? '', role: 'member' });
      const byPerson = await inviteMember(d, person, { orgId: org.orgId, email: 'friend@example.com', role: 'viewer' });
      const changes: Record<string, () => Promise<unknown>> = {
        invite: () => inviteMember(d, person, { orgId: org.orgId, email: 'another@example.com', role: 'member' }),
        revoke: () => revokeInvitation(d, person, { orgId: org.orgId, inviteId: byPerson.inviteId }),
        leave: () => leaveOrganization(d, person, { orgId: org.orgId }),
        remove: () => removeMember(d, org.owner, { orgId: org.orgId, uid: person.uid }),
        demote: () => changeRole(d, org.owner, { orgId: org.orgId, uid: person.uid, role: 'viewer' }),
        transfer: () => transferOwnership(d, org.owner, { orgId: org.orgId, newOwnerUid: person.uid }),
        accept: () => acceptInvitation(d, person, { orgId: other.orgId, inviteId: toPerson.inviteId, token: toPerson.token }),
        create: () => createOrganization(d, person, { name: 'Escape' }),
      };
      const outcomes = await deleteWhileAll(person.uid, at, changes);
      for (const [name, outcome] of Object.entries(outcomes)) {
        expect(outcome.status, name).toBe('rejected');
        expect(((outcome as PromiseRejectedResult).reason as { code?: string }).code, name).toMatch(/^(failed-precondition|not-found|permission-denied)$/);
      }
      expect(await expectExactlyOneOwner(db, org.orgId)).toBe(org.owner.uid);
      expect(await readMember(db, other.orgId, person.uid)).toBeUndefined();
      await expectUidNowhere(person.uid);
    });

    it(`refuses a transfer of ownership to the person (at "${at}"); the organization keeps its living owner`, async () => {
      const outcome = await deleteWhile(org.admin.uid, at, () => transferOwnership(d, org.owner, { orgId: org.orgId, newOwnerUid: org.admin.uid }));
      expectRefusedBecauseDeleted(outcome);
      expect(await expectExactlyOneOwner(db, org.orgId)).toBe(org.owner.uid);
      expect(await readMember(db, org.orgId, org.admin.uid)).toBeUndefined();
      await expectUidNowhere(org.admin.uid);
    });

    it(`refuses the person accepting an invitation (at "${at}"); no membership of theirs survives`, async () => {
      const other = await createOrganization(d, org.owner, { name: 'Other' });
      const link = await inviteMember(d, org.owner, { orgId: other.orgId, email: org.member.email, role: 'admin' });
      const outcome = await deleteWhile(org.member.uid, at, () =>
        acceptInvitation(d, org.member, { orgId: other.orgId, inviteId: link.inviteId, token: link.token }),
      );
      expectRefusedBecauseDeleted(outcome);
      expect(await readMember(db, other.orgId, org.member.uid)).toBeUndefined();
      await expectUidNowhere(org.member.uid);
    });

    it(`refuses the person creating an organization and a promotion of the person (at "${at}")`, async () => {
      const created = await deleteWhile(org.viewer.uid, at, () => createOrganization(d, org.viewer, { name: 'Escape' }));
      expectRefusedBecauseDeleted(created);
      const promoted = await deleteWhile(org.member.uid, at, () => changeRole(d, org.owner, { orgId: org.orgId, uid: org.member.uid, role: 'admin' }));
      expectRefusedBecauseDeleted(promoted);
      await expectUidNowhere(org.viewer.uid);
      await expectUidNowhere(org.member.uid);
    });
  }
});

describe('the only owner of a shared organization deleted in Firebase Auth', () => {
  async function sharedOrg(): Promise<{ orgId: string; owner: Caller; earlyAdmin: Caller; lateAdmin: Caller; member: Caller }> {
    const owner = caller(uniqueUid('owner'));
    // The earliest admin's uid sorts last, so a choice by uid would pick the other one.
    const earlyAdmin = caller(`zz-${uniqueUid('early')}`);
    const lateAdmin = caller(`aa-${uniqueUid('late')}`);
    const member = caller(uniqueUid('member'));
    const { orgId } = await createOrganization(d, owner, { name: 'Shared' });
    await join(d, orgId, owner, member, 'member');
    time.advance(1000);
    await join(d, orgId, owner, earlyAdmin, 'admin');
    time.advance(1000);
    await join(d, orgId, owner, lateAdmin, 'admin');
    return { orgId, owner, earlyAdmin, lateAdmin, member };
  }

  it('passes ownership to the admin who joined earliest, audited, and deletes the person', async () => {
    const { orgId, owner, earlyAdmin } = await sharedOrg();
    expect(await onAuthUserDeleted(deletionDeps, owner.uid)).toMatchObject({ status: 'deleted', scheduledOrgIds: [] });
    expect(await expectExactlyOneOwner(db, orgId)).toBe(earlyAdmin.uid);
    expect(await readOrg(db, orgId)).toMatchObject({ status: 'active', ownerUid: earlyAdmin.uid });
    const handOver = (await db.collection(paths.auditLog(orgId)).where('action', '==', 'org.ownership_transferred').get()).docs.map((doc) => doc.data());
    expect(handOver).toEqual([
      expect.objectContaining({
        actorUid: 'system:account-deletion',
        targetUid: earlyAdmin.uid,
        details: { previousOwnerUid: expect.stringMatching(/^deleted-/), reason: 'owner_account_deleted' },
      }),
    ]);
    await expectUidNowhere(owner.uid);
  });

  it("the hand-over and an operator's assignment raise documents written before versions (1) and keep newer versions", async () => {
    const { orgId, owner, earlyAdmin, lateAdmin } = await sharedOrg();
    const version = async (path: string) => (await db.doc(path).get()).get('schemaVersion') as unknown;
    await db.doc(paths.org(orgId)).update({ schemaVersion: FieldValue.delete() });
    await db.doc(paths.member(orgId, earlyAdmin.uid)).update({ schemaVersion: FieldValue.delete() });
    await onAuthUserDeleted(deletionDeps, owner.uid);
    expect(await readOrg(db, orgId)).toMatchObject({ ownerUid: earlyAdmin.uid, schemaVersion: ORGANIZATION_VERSION });
    expect(await readMember(db, orgId, earlyAdmin.uid)).toMatchObject({ role: 'owner', schemaVersion: MEMBER_VERSION });

    await db.doc(paths.org(orgId)).update({ schemaVersion: ORGANIZATION_VERSION + 1 });
    await db.doc(paths.member(orgId, earlyAdmin.uid)).update({ schemaVersion: MEMBER_VERSION + 1 });
    await db.doc(paths.member(orgId, lateAdmin.uid)).update({ schemaVersion: FieldValue.delete() });
    const operator = caller(uniqueUid('operator'));
    auth.addUser(operator.uid, { operator: true });
    await assignOwner({ ...d, operators: auth }, { ...operator, claims: { ...operator.claims, operator: true } }, { orgId, uid: lateAdmin.uid });
    expect(await version(paths.org(orgId))).toBe(ORGANIZATION_VERSION + 1);
    expect(await readMember(db, orgId, earlyAdmin.uid)).toMatchObject({ role: 'admin', schemaVersion: MEMBER_VERSION + 1 });
    expect(await readMember(db, orgId, lateAdmin.uid)).toMatchObject({ role: 'owner', schemaVersion: MEMBER_VERSION });
  });

  it('schedules the organization for deletion when no admin is left, and deletes the person', async () => {
    const owner = caller(uniqueUid('owner'));
    const member = caller(uniqueUid('member'));
    const { orgId } = await createOrganization(d, owner, { name: 'Adminless' });
    await join(d, orgId, owner, member, 'member');
    expect(await onAuthUserDeleted(deletionDeps, owner.uid)).toMatchObject({ status: 'deleted', scheduledOrgIds: [orgId] });
    expect(await readOrg(db, orgId)).toMatchObject({ status: 'deleting', access: 'none', ownerUid: expect.stringMatching(/^deleted-/) });
    expect(await readMember(db, orgId, member.uid)).toMatchObject({ role: 'member', access: 'none' });
    expect((await db.doc(paths.deletionRequest(orgId)).get()).exists).toBe(true);
    await expectUidNowhere(owner.uid);
  });

  it('lets an operator assign another owner afterwards; nobody else, and not a revoked operator', async () => {
    const { orgId, owner, earlyAdmin, lateAdmin, member } = await sharedOrg();
    await onAuthUserDeleted(deletionDeps, owner.uid);
    const operator = caller(uniqueUid('operator'));
    auth.addUser(operator.uid, { operator: true });
    const revoked = caller(uniqueUid('revoked'));
    auth.addUser(revoked.uid, {});
    const assignDeps = { ...d, operators: auth };
    const args = { orgId, uid: lateAdmin.uid };
    for (const attacker of [earlyAdmin, lateAdmin, { ...revoked, claims: { ...revoked.claims, operator: true } }]) {
      await expectRefusedWithoutChange(db, () => assignOwner(assignDeps, attacker, args), 'permission-denied');
    }
    const asOperator = { ...operator, claims: { ...operator.claims, operator: true } };
    await expectRefusedWithoutChange(db, () => assignOwner(assignDeps, asOperator, { orgId, uid: uniqueUid('stranger') }), 'not-found');
    expect(await assignOwner(assignDeps, asOperator, args)).toEqual({ orgId, ownerUid: lateAdmin.uid });
    expect(await expectExactlyOneOwner(db, orgId)).toBe(lateAdmin.uid);
    expect(await readMember(db, orgId, earlyAdmin.uid)).toMatchObject({ role: 'admin' });
    expect(await readMember(db, orgId, member.uid)).toMatchObject({ role: 'member' });
    const audit = (await db.collection(paths.auditLog(orgId)).where('actorUid', '==', operator.uid).get()).docs.map((doc) => doc.data());
    expect(audit).toEqual([
      expect.objectContaining({
        action: 'org.ownership_transferred',
        targetUid: lateAdmin.uid,
        details: { previousOwnerUid: earlyAdmin.uid, assignedByOperator: true },
      }),
    ]);
  });

  it('lets an operator give an organization scheduled that way an owner, who may then cancel its deletion', async () => {
    const owner = caller(uniqueUid('owner'));
    const member = caller(uniqueUid('member'));
    const { orgId } = await createOrganization(d, owner, { name: 'Rescued' });
    await join(d, orgId, owner, member, 'member');
    // A name an older release accepted and this one refuses (a blank letter at its end) blocks neither step.
    await db.doc(paths.org(orgId)).update({ name: 'Rescued\u2800' });
    await onAuthUserDeleted(deletionDeps, owner.uid);
    const operator = caller(uniqueUid('operator'));
    auth.addUser(operator.uid, { operator: true });
    const asOperator = { ...operator, claims: { ...operator.claims, operator: true } };
    expect(await assignOwner({ ...d, operators: auth }, asOperator, { orgId, uid: member.uid })).toEqual({ orgId, ownerUid: member.uid });
    const billing = recordingCancellation();
    expect(
      await cancelOrganizationDeletion({ db, clock: time.clock, reconcileBilling: billing.reconcile, maxOrgsPerOwner: 5 }, member, { orgId }),
    ).toMatchObject({ access: 'full' });
    expect(await readOrg(db, orgId)).toMatchObject({ status: 'active', ownerUid: member.uid });
    expect(await expectExactlyOneOwner(db, orgId)).toBe(member.uid);
  });

  it('still refuses the person’s own request (the callable) while they own a shared organization', async () => {
    const { orgId, owner } = await sharedOrg();
    await expect(deleteAccount(deletionDeps, owner.uid, 'self')).rejects.toMatchObject({ code: 'failed-precondition' });
    expect(await expectExactlyOneOwner(db, orgId)).toBe(owner.uid);
  });
});
