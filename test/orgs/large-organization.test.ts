/**
 * An organization of 10,000 members (issue 16). Every access change writes the new access onto all member
 * documents in the transaction that changes it (prepareAccessUpdate): one commit of 10,000 writes, which Firestore
 * accepts (its limit is 10 MiB per commit, about 64,000 such writes, docs/scale.md). The next request of any member,
 * here the last one, is judged by the new state, through firestore.rules. Costs and times: `npm run bench -- scale`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collection, doc, getDocs, serverTimestamp, setDoc, setLogLevel, type Firestore as ClientFirestore } from 'firebase/firestore';
import type { RulesTestEnvironment } from '@firebase/rules-unit-testing';
import { paths, type AccessState } from '@leadpulse/model';
import { sweepLapsedGrace } from '../../functions/src/billing/grace-sweep';
import { acceptInvitation, inviteMember, revokeInvitation } from '../../functions/src/orgs/invitations';
import { changeRole, leaveOrganization, removeMember, transferOwnership } from '../../functions/src/orgs/members';
import { cancelOrganizationDeletion, requestOrganizationDeletion } from '../../functions/src/privacy/org-deletion';
import { DAY, START, seedOrg, subscriptionMirror } from '../privacy/seed';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { countOperations, installOperationCounter } from '../support/operation-counter';
import { offlineEmulator, outcome, RulesDecisionReader, rulesTestEnvironment } from '../support/rules';
import { caller } from './support';

const MEMBERS = 10_000;
const projectId = uniqueProjectId('large-org');
const admin = adminFirestore(projectId);
const orgId = 'large';
const roster = Array.from({ length: MEMBERS }, (_, i) => ({ uid: `u${String(i).padStart(5, '0')}`, role: i === 0 ? ('owner' as const) : ('member' as const) }));
const ownerUid = roster[0].uid;
const lastUid = roster[MEMBERS - 1].uid;
const clock = () => START;
let env: RulesTestEnvironment;
let last: ClientFirestore;

const membersWithAccess = async (access?: AccessState) => {
  const members = admin.db.collection(paths.members(orgId));
  return (await (access ? members.where('access', '==', access) : members).count().get()).data().count;
};

const canWrite = async (contactId: string) =>
  (
    await outcome(() =>
      setDoc(doc(last, paths.contact(orgId, contactId)), {
        name: 'Ada',
        status: 'lead',
        createdBy: lastUid,
        createdAt: serverTimestamp(),
        updatedAt: serverTimestamp(),
      }),
    )
  ).allowed;
const canRead = async () => (await outcome(() => getDocs(collection(last, paths.contacts(orgId))))).allowed;

/** Documents read and written by a server call. */
async function cost(action: () => Promise<unknown>): Promise<{ reads: number; writes: number }> {
  const { reads, writes } = await countOperations(action);
  return { reads, writes };
}

beforeAll(async () => {
  setLogLevel('silent');
  installOperationCounter();
  await seedOrg(admin.db, { orgId, now: START, members: roster, contacts: 1 });
  // Lapsed 8 days ago and still on full access: the grace sweep (7 days) turns it read-only. Seats for every member
  // and a few invitations.
  await admin.db.doc(paths.subscription(orgId)).set({ ...subscriptionMirror(START, 'past_due', new Date(START.getTime() - 8 * DAY)), seats: MEMBERS + 10 });
  env = await rulesTestEnvironment(projectId);
  last = env.authenticatedContext(lastUid).firestore() as unknown as ClientFirestore;
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
  await admin.close();
});

describe(`an organization of ${MEMBERS.toLocaleString('en-US')} members`, () => {
  const listMembers = async () => {
    const owner = env.authenticatedContext(ownerUid).firestore() as unknown as ClientFirestore;
    return (await getDocs(collection(owner, paths.members(orgId)))).size;
  };

  it('the owner lists every member', async () => {
    expect(await listMembers()).toBe(MEMBERS);
  });

  it.skipIf(!offlineEmulator)('listing them costs one rules lookup, whatever their number', async () => {
    const decisions = new RulesDecisionReader(projectId);
    await decisions.next();
    await listMembers();
    expect((await decisions.next()).map((decision) => [decision.method, decision.allowed, decision.lookups])).toEqual([['list', true, 1]]);
  });

  it('the grace sweep turns every member read-only in one transaction; the last member can read but not write on their next request', async () => {
    expect(await canWrite('before')).toBe(true);
    expect(await membersWithAccess('full')).toBe(MEMBERS);

    const sweep = await countOperations(() => sweepLapsedGrace({ db: admin.db, clock }));
    expect(sweep.result).toEqual({ checked: 1, changed: 1, skipped: [] });
    // The candidate query, the organization, the mirror and every member; the mirror, the organization, every
    // member and the audit entry.
    expect({ reads: sweep.reads, writes: sweep.writes }).toEqual({ reads: MEMBERS + 3, writes: MEMBERS + 3 });

    expect(await membersWithAccess('read_only')).toBe(MEMBERS);
    expect(await canWrite('after')).toBe(false);
    expect(await canRead()).toBe(true);
  });

  it('membership changes work: a few documents each, but an invitation and its acceptance read every member (the seat count)', async () => {
    const deps = { db: admin.db, clock };
    const owner = caller(ownerUid);
    expect(await cost(() => changeRole(deps, owner, { orgId, uid: roster[1].uid, role: 'viewer' }))).toEqual({ reads: 5, writes: 2 });
    const invite = (email: string) => inviteMember({ ...deps, inviteTtlDays: 7, maxPendingInvites: 100 }, owner, { orgId, email, role: 'member' });
    const invited = await countOperations(() => invite('newcomer@example.com'));
    expect({ reads: invited.reads, writes: invited.writes }).toEqual({ reads: MEMBERS + 7, writes: 2 });
    const { inviteId, token } = invited.result;
    expect(await cost(() => acceptInvitation(deps, caller('newcomer'), { orgId, inviteId, token }))).toEqual({ reads: MEMBERS + 5, writes: 3 });
    const revoked = await invite('revoked@example.com');
    expect(await cost(() => revokeInvitation(deps, owner, { orgId, inviteId: revoked.inviteId }))).toEqual({ reads: 4, writes: 2 });
    expect(await cost(() => removeMember(deps, owner, { orgId, uid: roster[2].uid }))).toEqual({ reads: 5, writes: 2 });
    expect(await cost(() => leaveOrganization(deps, caller(roster[3].uid), { orgId }))).toEqual({ reads: 3, writes: 2 });
    await changeRole(deps, owner, { orgId, uid: roster[4].uid, role: 'admin' });
    const transfer = (from: string, to: string) => transferOwnership({ ...deps, maxOrgsPerOwner: 5 }, caller(from), { orgId, newOwnerUid: to });
    expect(await cost(() => transfer(ownerUid, roster[4].uid))).toEqual({ reads: 6, writes: 4 });
    await transfer(roster[4].uid, ownerUid);
  });

  it('a deletion request denies every member at once, and its cancellation gives the access back', async () => {
    // The membership test before this one added one member and removed two.
    const members = await membersWithAccess();
    expect(members).toBe(MEMBERS - 1);
    await requestOrganizationDeletion({ db: admin.db, clock, graceDays: 7, cancelSubscription: async () => undefined }, caller(ownerUid), { orgId });
    expect(await membersWithAccess('none')).toBe(members);
    expect(await canRead()).toBe(false);

    const cancelled = await cancelOrganizationDeletion({ db: admin.db, clock, reconcileBilling: async () => 0, maxOrgsPerOwner: 5 }, caller(ownerUid), {
      orgId,
    });
    // Restored from the billing mirror, which is still lapsed past its grace.
    expect(cancelled).toEqual({ orgId, access: 'read_only', billingReconciled: true });
    expect(await membersWithAccess('read_only')).toBe(members);
    expect(await canRead()).toBe(true);
    expect(await canWrite('after-cancel')).toBe(false);
  });
});
