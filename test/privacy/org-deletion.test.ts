/**
 * P5 (and P6): organization deletion. The owner's request takes access away at once and records a deadline; the
 * purge deletes the whole tree in pages and leaves a receipt without personal data; billing records and every
 * other organization stay byte-for-byte as they were; concurrent requests and purges make one of each.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FieldValue, type Firestore } from 'firebase-admin/firestore';
import {
  DELETION_RECEIPT_VERSION,
  DELETION_REQUEST_VERSION,
  deletionReceiptSchema,
  MEMBER_VERSION,
  ORGANIZATION_VERSION,
  orgDeletionRequestSchema,
  paths,
  type Organization,
} from '@leadpulse/model';
import { checkGraceDays } from '../../functions/src/privacy/config';
import {
  cancelOrganizationDeletion,
  requestOrganizationDeletion,
  type CancelOrgDeletionDeps,
  type OrgDeletionDeps,
} from '../../functions/src/privacy/org-deletion';
import { orgReceiptId, purgeOrganization, type PurgeDeps } from '../../functions/src/privacy/org-purge';
import { canonical, digest, dumpProject, expectRefusedWithoutChange, under } from '../support/snapshot';
import {
  DAY,
  START,
  caller,
  freshProject,
  manualClock,
  onePersonPerRole,
  recordingCancellation,
  seedBillingRecord,
  seedOrg,
  seedUser,
  subscriptionMirror,
  uid,
  type SeededOrg,
} from './support';

let db: Firestore;
let close: () => Promise<void>;
let time: ReturnType<typeof manualClock>;
let stripe: ReturnType<typeof recordingCancellation>;
let deps: OrgDeletionDeps & CancelOrgDeletionDeps;
let purgeDeps: PurgeDeps;
let owner: string;
let admin: string;
let member: string;
let org: SeededOrg;

beforeEach(async () => {
  ({ db, close } = freshProject('privacy-orgdel'));
  time = manualClock();
  stripe = recordingCancellation();
  deps = { db, clock: time.clock, graceDays: 7, cancelSubscription: stripe.cancel, reconcileBilling: stripe.reconcile, maxOrgsPerOwner: 2 };
  purgeDeps = { db, clock: time.clock, closeBilling: stripe.close, pageSize: 7 };
  const people = onePersonPerRole('owner', 'admin', 'member');
  ({ owner, admin, member } = people.uids);
  org = await seedOrg(db, {
    orgId: 'orgA',
    now: START,
    members: people.members,
    contacts: 10,
    messagesPerContact: 2,
    invites: 2,
    auditEntries: 3,
    config: true,
    subscription: true,
    strayNestedDocuments: 2,
  });
});
afterEach(async () => close());

async function readOrg(orgId = 'orgA'): Promise<Organization | undefined> {
  return (await db.doc(paths.org(orgId)).get()).data() as Organization | undefined;
}

describe('requestOrganizationDeletion', () => {
  it('revokes access on the organization and every member at once, records grace and deadline, cancels Stripe, audits', async () => {
    const result = await requestOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' });
    expect(result).toEqual({
      orgId: 'orgA',
      state: 'pending',
      graceEndsAt: new Date(START.getTime() + 7 * DAY).toISOString(),
      deadline: new Date(START.getTime() + 30 * DAY).toISOString(),
      subscriptionCancelled: true,
    });
    expect(await readOrg()).toMatchObject({ status: 'deleting', access: 'none' });
    const members = await db.collection(paths.members('orgA')).get();
    expect(members.size).toBe(3);
    for (const doc of members.docs) expect(doc.get('access')).toBe('none');
    const request = orgDeletionRequestSchema.parse((await db.doc(paths.deletionRequest('orgA')).get()).data());
    expect(request).toMatchObject({
      schemaVersion: DELETION_REQUEST_VERSION,
      kind: 'organization',
      orgId: 'orgA',
      requestedBy: owner,
      state: 'pending',
      purge: null,
    });
    expect(request.deadline.toMillis() - request.requestedAt.toMillis()).toBeLessThanOrEqual(30 * DAY);
    const audit = await db.collection(paths.auditLog('orgA')).where('action', '==', 'org.deletion_requested').get();
    expect(audit.docs.map((d) => d.get('actorUid'))).toEqual([owner]);
    expect(stripe.calls).toEqual(['orgA']);
  });

  it('raises the organization and members written before versions (1), and its cancellation keeps newer versions', async () => {
    // seedOrg writes as an older release did: no schemaVersion anywhere. The admin's is from a newer release.
    await db.doc(paths.member('orgA', admin)).update({ schemaVersion: MEMBER_VERSION + 1 });
    await requestOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' });
    const versions = async () => ({
      org: (await readOrg())?.schemaVersion,
      ...Object.fromEntries((await db.collection(paths.members('orgA')).get()).docs.map((doc) => [doc.id, doc.get('schemaVersion') as unknown])),
    });
    expect(await versions()).toEqual({ org: ORGANIZATION_VERSION, [owner]: MEMBER_VERSION, [admin]: MEMBER_VERSION + 1, [member]: MEMBER_VERSION });

    await db.doc(paths.org('orgA')).update({ schemaVersion: ORGANIZATION_VERSION + 1 });
    await db.doc(paths.member('orgA', member)).update({ schemaVersion: FieldValue.delete() });
    await cancelOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' });
    expect(await readOrg()).toMatchObject({ status: 'active', access: 'full' });
    expect(await versions()).toEqual({ org: ORGANIZATION_VERSION + 1, [owner]: MEMBER_VERSION, [admin]: MEMBER_VERSION + 1, [member]: MEMBER_VERSION });
  });

  it('still records the deletion when Stripe fails, and says the subscription is not cancelled yet', async () => {
    stripe.failWith(new Error('Stripe is down'));
    const result = await requestOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' });
    expect(result.subscriptionCancelled).toBe(false);
    expect(await readOrg()).toMatchObject({ status: 'deleting', access: 'none' });
  });

  it('refuses an admin, a member and an outsider with permission-denied, changing nothing', async () => {
    for (const who of [admin, member, uid('outsider')]) {
      await expectRefusedWithoutChange(db, () => requestOrganizationDeletion(deps, caller(who), { orgId: 'orgA' }), 'permission-denied');
    }
    await expectRefusedWithoutChange(db, () => requestOrganizationDeletion(deps, caller(owner), { orgId: 'orgZ' }), 'permission-denied');
    expect(stripe.calls).toEqual([]);
  });

  it('rejects bad arguments naming the field, changing nothing', async () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'orgId'],
      [{ orgId: 'a/b' }, 'orgId'],
      [{ orgId: 42 }, 'orgId'],
      [{ orgId: 'orgA', force: true }, 'force'],
      [null, '(arguments)'],
    ];
    for (const [data, field] of cases) {
      const error = await expectRefusedWithoutChange(db, () => requestOrganizationDeletion(deps, caller(owner), data), 'invalid-argument');
      expect(error.details).toEqual({ field });
    }
  });

  it('concurrent requests record one deletion and one audit entry', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => requestOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' })));
    expect(new Set(results.map((r) => r.graceEndsAt)).size).toBe(1);
    const audit = await db.collection(paths.auditLog('orgA')).where('action', '==', 'org.deletion_requested').get();
    expect(audit.size).toBe(1);
  });
});

describe('ORG_DELETION_GRACE_DAYS', () => {
  it('leaves at least a day before the 30-day deadline', () => {
    expect(checkGraceDays(0)).toBe(0);
    expect(checkGraceDays(29)).toBe(29);
    for (const bad of [30, -1, 2.5]) expect(() => checkGraceDays(bad)).toThrow(/ORG_DELETION_GRACE_DAYS must be an integer from 0 to 29/);
  });
});

describe('cancelOrganizationDeletion', () => {
  it('restores access within the grace period, from the billing mirror', async () => {
    await db.doc(paths.subscription('orgA')).set(subscriptionMirror(START, 'canceled', new Date(START.getTime() - 10 * DAY)));
    await requestOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' });
    time.advance(6 * DAY);
    // Canceled for 16 days, past billing's 7-day grace: read-only until the owner subscribes again.
    expect(await cancelOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' })).toEqual({ orgId: 'orgA', access: 'read_only', billingReconciled: true });
    expect(stripe.reconciled).toEqual(['orgA']);
    const restored = await readOrg();
    expect(restored).toMatchObject({ status: 'active', access: 'read_only' });
    expect(restored?.deletionRequestedAt).toBeUndefined();
    for (const doc of (await db.collection(paths.members('orgA')).get()).docs) expect(doc.get('access')).toBe('read_only');
    expect((await db.doc(paths.deletionRequest('orgA')).get()).exists).toBe(false);
    const audit = await db.collection(paths.auditLog('orgA')).where('action', '==', 'org.deletion_cancelled').get();
    expect(audit.size).toBe(1);
    // Nothing left to purge.
    time.advance(30 * DAY);
    expect(await purgeOrganization(purgeDeps, 'orgA')).toEqual({ status: 'not_requested' });
  });

  it('gives full access back to an organization that never subscribed', async () => {
    await db.doc(paths.subscription('orgA')).delete();
    await requestOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' });
    expect(await cancelOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' })).toEqual({ orgId: 'orgA', access: 'full', billingReconciled: true });
  });

  it('counts the organization brought back against the bound on owned organizations (request, create, cancel)', async () => {
    await requestOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' });
    // While orgA is being deleted the owner creates others up to the bound of 2 active organizations.
    await seedOrg(db, { orgId: 'orgNew1', now: START, members: [{ uid: owner, role: 'owner' }] });
    await seedOrg(db, { orgId: 'orgNew2', now: START, members: [{ uid: owner, role: 'owner' }] });
    await expectRefusedWithoutChange(
      db,
      () => cancelOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' }),
      'failed-precondition',
      /2 organizations, the maximum/,
    );
    // Below the bound again, the cancellation goes through.
    await db.recursiveDelete(db.doc(paths.org('orgNew2')));
    expect(await cancelOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' })).toMatchObject({ orgId: 'orgA' });
    expect(await readOrg()).toMatchObject({ status: 'active' });
  });

  it('refuses after the grace period, for non-owners, and when nothing is being deleted', async () => {
    await expectRefusedWithoutChange(db, () => cancelOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' }), 'failed-precondition', /not being deleted/);
    await requestOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' });
    await expectRefusedWithoutChange(db, () => cancelOrganizationDeletion(deps, caller(admin), { orgId: 'orgA' }), 'permission-denied');
    await expectRefusedWithoutChange(db, () => cancelOrganizationDeletion(deps, caller(owner), { orgId: 'orgA', extra: 1 }), 'invalid-argument');
    time.advance(7 * DAY);
    await expectRefusedWithoutChange(db, () => cancelOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' }), 'failed-precondition', /grace period ended/);
  });
});

describe('purgeOrganization', () => {
  it('waits for the grace period, then deletes the whole tree, leaves a receipt, and touches nothing else', async () => {
    const otherOwner = uid('ownerB');
    await seedOrg(db, {
      orgId: 'orgB',
      now: START,
      members: [
        { uid: otherOwner, role: 'owner' },
        { uid: member, role: 'viewer' },
      ],
      contacts: 4,
      messagesPerContact: 1,
      auditEntries: 2,
      config: true,
      subscription: true,
    });
    await seedUser(db, owner, START, { consent: true });
    await seedBillingRecord(db, 'orgA', 'in_A1', START);
    await seedBillingRecord(db, 'orgB', 'in_B1', START);
    await requestOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' });

    const isPurgeBookkeeping = (path: string) => path === paths.deletionRequest('orgA') || path === paths.deletionReceipt(orgReceiptId('orgA'));
    const untouched = (path: string) => !under(paths.org('orgA'))(path) && !isPurgeBookkeeping(path);
    const before = await dumpProject(db);
    const expectedCounts = { ...org.counts, auditLog: org.counts.auditLog + 1 }; // + the deletion request's entry

    time.advance(7 * DAY - 1);
    expect(await purgeOrganization(purgeDeps, 'orgA')).toMatchObject({ status: 'in_grace' });
    expect(digest(await dumpProject(db))).toBe(digest(before));

    time.advance(1);
    const outcome = await purgeOrganization(purgeDeps, 'orgA');
    expect(outcome.status).toBe('purged');
    const after = await dumpProject(db);

    // Nothing is left under the organization, not even the documents the model does not know about.
    expect([...after.keys()].filter(under(paths.org('orgA')))).toEqual([]);
    expect(await db.doc(paths.org('orgA')).listCollections()).toEqual([]);
    // Org B, the users, the billing records (P6): byte-for-byte unchanged, write times included.
    expect(digest(after, untouched)).toBe(digest(before, untouched));
    expect(after.has(paths.billingRecord('in_A1'))).toBe(true);

    const receipt = deletionReceiptSchema.parse((await db.doc(paths.deletionReceipt(orgReceiptId('orgA'))).get()).data());
    expect(receipt).toMatchObject({
      schemaVersion: DELETION_RECEIPT_VERSION,
      kind: 'organization',
      subjectId: 'orgA',
      collections: expectedCounts,
      leftoverDocuments: 0,
    });
    expect(receipt.deletedDocuments).toBe(Object.values(expectedCounts).reduce((a, b) => a + b, 0));
    expect(receipt.completedAt.toMillis()).toBe(START.getTime() + 7 * DAY);
    // The TTL field (firestore.indexes.json): 179 days after completion, so TTL has deleted it by 180 days (P7).
    expect(receipt.expiresAt?.toMillis()).toBe(START.getTime() + (7 + 179) * DAY);
    const receiptText = canonical(after.get(paths.deletionReceipt(orgReceiptId('orgA')))?.data);
    for (const personal of [owner, admin, member, '@', 'Customer', 'Dear']) expect(receiptText).not.toContain(personal);
    expect((await db.doc(paths.deletionRequest('orgA')).get()).exists).toBe(false);
    // Cancelled at the request, closed for good (customers deleted) at the purge, before and after the tree.
    expect(stripe.calls).toEqual(['orgA']);
    expect(stripe.closed).toEqual(['orgA', 'orgA']);

    // Purging again finds nothing to do.
    expect(await purgeOrganization(purgeDeps, 'orgA')).toEqual({ status: 'not_requested' });
  });

  it('does not delete anything when Stripe cannot cancel the subscription; the next run does', async () => {
    await requestOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' });
    // A request written before versions existed (version 1) is read the same, and stamped when the purge leases it.
    await db.doc(paths.deletionRequest('orgA')).update({ schemaVersion: FieldValue.delete() });
    time.advance(7 * DAY);
    const tree = under(paths.org('orgA'));
    const before = digest(await dumpProject(db), tree);
    stripe.failWith(new Error('Stripe is down'));
    await expect(purgeOrganization(purgeDeps, 'orgA')).rejects.toThrow('Stripe is down');
    expect(digest(await dumpProject(db), tree)).toBe(before);
    expect((await db.doc(paths.deletionRequest('orgA')).get()).data()).toMatchObject({ state: 'purging', schemaVersion: DELETION_REQUEST_VERSION });
    stripe.failWith(null);
    time.advance(purgeDeps.leaseMs ?? 10 * 60 * 1000);
    expect((await purgeOrganization(purgeDeps, 'orgA')).status).toBe('purged');
  });

  it('concurrent purges of one organization: exactly one purges, counting every document once', async () => {
    await requestOrganizationDeletion(deps, caller(owner), { orgId: 'orgA' });
    time.advance(7 * DAY);
    const outcomes = await Promise.all(Array.from({ length: 4 }, (_, i) => purgeOrganization(purgeDeps, 'orgA', `run-${i}`)));
    const purged = outcomes.filter((o) => o.status === 'purged');
    expect(purged).toHaveLength(1);
    for (const other of outcomes.filter((o) => o.status !== 'purged')) expect(['leased', 'not_requested']).toContain(other.status);
    const receipt = deletionReceiptSchema.parse((await db.doc(paths.deletionReceipt(orgReceiptId('orgA'))).get()).data());
    expect(receipt.collections).toEqual({ ...org.counts, auditLog: org.counts.auditLog + 1 });
  });
});
