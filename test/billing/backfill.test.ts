/**
 * scripts/backfill-schema-version.ts, the backfill step of a schema change: upgrades every document of a kind
 * below the current version, leaves newer ones alone, counts without writing in a dry run, and can run again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import {
  AUDIT_ENTRY_VERSION,
  BILLING_RECORD_VERSION,
  DELETION_RECEIPT_VERSION,
  DELETION_REQUEST_VERSION,
  deletionReceiptSchema,
  INVITE_VERSION,
  MEMBER_VERSION,
  ORGANIZATION_VERSION,
  paths,
  RATE_LIMIT_COUNTER_VERSION,
  STRIPE_CUSTOMER_LINK_VERSION,
  STRIPE_EVENT_RECORD_VERSION,
  SUBSCRIPTION_MIRROR_VERSION,
  USAGE_EVENT_RECORD_VERSION,
  usageEventRecordSchema,
} from '@leadpulse/model';
import { backfillSchemaVersion } from '../../scripts/backfill-schema-version';
import { dumpProject } from '../support/snapshot';
import { adminFirestore, uniqueProjectId } from '../support/firestore';

let firestore: ReturnType<typeof adminFirestore>;
let db: Firestore;
beforeAll(() => {
  firestore = adminFirestore(uniqueProjectId('backfill'));
  db = firestore.db;
});
afterAll(async () => firestore.close());

const versionOf = async (path: string): Promise<unknown> => (await db.doc(path).get()).get('schemaVersion');

describe('backfillSchemaVersion', () => {
  it('upgrades the ledger page by page, leaves newer entries alone, and is a no-op the second time', async () => {
    for (let i = 0; i < 5; i++) await db.doc(paths.stripeEvent(`evt_old${i}`)).set({ type: 'invoice.paid', created: i });
    await db.doc(paths.stripeEvent('evt_next')).set({ type: 'invoice.paid', created: 9, schemaVersion: STRIPE_EVENT_RECORD_VERSION + 1 });

    const before = await dumpProject(db);
    expect(await backfillSchemaVersion(db, 'stripeEvents', { dryRun: true, pageSize: 2 })).toMatchObject({ scanned: 6, upgraded: 5, newer: 1 });
    expect(await dumpProject(db)).toEqual(before);

    expect(await backfillSchemaVersion(db, 'stripeEvents', { pageSize: 2 })).toMatchObject({ scanned: 6, upgraded: 5, newer: 1, changedMeanwhile: 0 });
    expect(await versionOf(paths.stripeEvent('evt_old3'))).toBe(STRIPE_EVENT_RECORD_VERSION);
    expect((await db.doc(paths.stripeEvent('evt_old3')).get()).data()).toEqual({
      type: 'invoice.paid',
      created: 3,
      schemaVersion: STRIPE_EVENT_RECORD_VERSION,
    });
    expect(await versionOf(paths.stripeEvent('evt_next'))).toBe(STRIPE_EVENT_RECORD_VERSION + 1);

    expect(await backfillSchemaVersion(db, 'stripeEvents', { pageSize: 2 })).toMatchObject({ upgraded: 0 });
  });

  it('upgrades subscription mirrors only, across organizations', async () => {
    await db.doc(paths.subscription('org-a')).set({ seats: 1 });
    await db.doc(paths.subscription('org-b')).set({ seats: 2 });
    await db.doc(`${paths.billingDocs('org-a')}/other`).set({ note: 'not a mirror' });

    expect(await backfillSchemaVersion(db, 'subscriptionMirrors')).toMatchObject({ scanned: 2, upgraded: 2 });
    expect(await versionOf(paths.subscription('org-b'))).toBe(SUBSCRIPTION_MIRROR_VERSION);
    expect(await versionOf(`${paths.billingDocs('org-a')}/other`)).toBeUndefined();
  });

  it('upgrades billing records and customer links', async () => {
    await db.doc(paths.billingRecord('in_old')).set({ total: 100 });
    await db.doc(paths.billingRecord('in_new')).set({ total: 200, schemaVersion: BILLING_RECORD_VERSION });
    await db.doc(paths.stripeCustomer('cus_old')).set({ orgId: 'org-a' });

    expect(await backfillSchemaVersion(db, 'billingRecords')).toMatchObject({ scanned: 2, upgraded: 1, newer: 0 });
    expect((await db.doc(paths.billingRecord('in_old')).get()).data()).toEqual({ total: 100, schemaVersion: BILLING_RECORD_VERSION });
    expect(await backfillSchemaVersion(db, 'stripeCustomers')).toMatchObject({ scanned: 1, upgraded: 1 });
    expect(await versionOf(paths.stripeCustomer('cus_old'))).toBe(STRIPE_CUSTOMER_LINK_VERSION);
  });

  it('upgrades deletion receipts; a receipt without a version (1) reads the same before and after', async () => {
    const receipt = {
      kind: 'organization',
      subjectId: 'org-gone',
      requestedAt: Timestamp.fromMillis(1000),
      completedAt: Timestamp.fromMillis(2000),
      deletedDocuments: 3,
      collections: { orgs: 1, contacts: 2 },
      leftoverDocuments: 0,
    };
    await db.doc(paths.deletionReceipt('organization-org-gone')).set(receipt);
    expect(deletionReceiptSchema.parse((await db.doc(paths.deletionReceipt('organization-org-gone')).get()).data())).toMatchObject(receipt);

    expect(await backfillSchemaVersion(db, 'deletionReceipts')).toMatchObject({ scanned: 1, upgraded: 1 });
    const upgraded = deletionReceiptSchema.parse((await db.doc(paths.deletionReceipt('organization-org-gone')).get()).data());
    expect(upgraded).toEqual({ ...receipt, schemaVersion: DELETION_RECEIPT_VERSION });
  });

  it('upgrades usage events of versions 1 and 2 to a version 3 record with a shard, and leaves version 3 alone', async () => {
    const at = Timestamp.fromMillis(1000);
    const payload = { event: 'page_viewed', page: 'contacts' };
    await db.doc(paths.usageEvent('ev-v1')).set({ payload, receivedAt: at, expiresAt: at });
    await db.doc(paths.usageEvent('ev-v2')).set({ schemaVersion: 2, payload, receivedAt: at, expiresAt: at });
    const current = { schemaVersion: USAGE_EVENT_RECORD_VERSION, shard: 7, payload, receivedAt: at, expiresAt: at };
    await db.doc(paths.usageEvent('ev-v3')).set(current);

    expect(await backfillSchemaVersion(db, 'usageEvents')).toMatchObject({ scanned: 3, upgraded: 2, newer: 0 });
    for (const id of ['ev-v1', 'ev-v2']) {
      const upgraded = (await db.doc(paths.usageEvent(id)).get()).data();
      // The whole record as the writer would store it, so the job's (shard, receivedAt) query finds it.
      expect(usageEventRecordSchema.parse(upgraded)).toEqual({ ...current, shard: expect.any(Number) });
    }
    expect((await db.doc(paths.usageEvent('ev-v3')).get()).data()).toEqual(current);
    expect(await backfillSchemaVersion(db, 'usageEvents')).toMatchObject({ scanned: 3, upgraded: 0 });
  });

  it('upgrades rate-limit counters', async () => {
    const at = Timestamp.fromMillis(1000);
    await db.doc(paths.rateLimit('usage-user-old')).set({ windowStart: at, count: 1, expiresAt: at });

    expect(await backfillSchemaVersion(db, 'rateLimits')).toMatchObject({ scanned: 1, upgraded: 1 });
    expect(await versionOf(paths.rateLimit('usage-user-old'))).toBe(RATE_LIMIT_COUNTER_VERSION);
  });

  it('upgrades deletion requests of both kinds', async () => {
    await db.doc(paths.deletionRequest('org-leaving')).set({ kind: 'organization', orgId: 'org-leaving' });
    await db.doc(paths.deletionRequest('account:someone')).set({ kind: 'account', schemaVersion: DELETION_REQUEST_VERSION + 1 });

    expect(await backfillSchemaVersion(db, 'deletionRequests')).toMatchObject({ scanned: 2, upgraded: 1, newer: 1 });
    expect(await versionOf(paths.deletionRequest('org-leaving'))).toBe(DELETION_REQUEST_VERSION);
    expect(await versionOf(paths.deletionRequest('account:someone'))).toBe(DELETION_REQUEST_VERSION + 1);
  });

  it("upgrades organizations, and members, invitations and audit entries only where they are an organization's", async () => {
    await db.doc(paths.org('org-old')).set({ name: 'Old', plan: 'free' });
    await db.doc(paths.org('org-next')).set({ name: 'Next', schemaVersion: ORGANIZATION_VERSION + 1 });
    await db.doc(paths.member('org-old', 'u-old')).set({ uid: 'u-old', role: 'member' });
    await db.doc(paths.member('org-next', 'u-next')).set({ uid: 'u-next', schemaVersion: MEMBER_VERSION + 1 });
    await db.doc(paths.invite('org-old', 'inv-old')).set({ role: 'viewer' });
    await db.doc(paths.auditEntry('org-old', 'entry-old')).set({ action: 'org.created' });
    // Same collection ids outside an organization: not these kinds.
    const strays = ['elsewhere/x/members/u-stray', `${paths.contact('org-old', 'c1')}/invites/i-stray`, 'elsewhere/x/auditLog/e-stray'];
    for (const path of strays) await db.doc(path).set({ stray: true });

    expect(await backfillSchemaVersion(db, 'organizations')).toMatchObject({ scanned: 2, upgraded: 1, newer: 1, changedMeanwhile: 0 });
    expect((await db.doc(paths.org('org-old')).get()).data()).toEqual({ name: 'Old', plan: 'free', schemaVersion: ORGANIZATION_VERSION });
    expect(await versionOf(paths.org('org-next'))).toBe(ORGANIZATION_VERSION + 1);
    expect(await backfillSchemaVersion(db, 'members')).toMatchObject({ scanned: 2, upgraded: 1, newer: 1 });
    expect(await versionOf(paths.member('org-old', 'u-old'))).toBe(MEMBER_VERSION);
    expect(await versionOf(paths.member('org-next', 'u-next'))).toBe(MEMBER_VERSION + 1);
    expect(await backfillSchemaVersion(db, 'invites')).toMatchObject({ scanned: 1, upgraded: 1 });
    expect(await versionOf(paths.invite('org-old', 'inv-old'))).toBe(INVITE_VERSION);
    expect(await backfillSchemaVersion(db, 'auditEntries')).toMatchObject({ scanned: 1, upgraded: 1 });
    expect(await versionOf(paths.auditEntry('org-old', 'entry-old'))).toBe(AUDIT_ENTRY_VERSION);
    for (const path of strays) expect(await versionOf(path)).toBeUndefined();
  });

  it('skips a document changed between its read and its write, reports it, and upgrades it on the next run', async () => {
    await db.doc(paths.auditEntry('org-busy', 'entry-a')).set({ action: 'member.joined' });
    await db.doc(paths.auditEntry('org-busy', 'entry-b')).set({ action: 'member.left' });
    const changeOne = async () => {
      await db.doc(paths.auditEntry('org-busy', 'entry-b')).update({ targetUid: 'deleted-tombstone' });
    };

    expect(await backfillSchemaVersion(db, 'auditEntries', { afterRead: changeOne })).toMatchObject({ changedMeanwhile: 1 });
    expect(await versionOf(paths.auditEntry('org-busy', 'entry-a'))).toBe(AUDIT_ENTRY_VERSION);
    // The concurrent change is kept, not overwritten with what the backfill read.
    expect((await db.doc(paths.auditEntry('org-busy', 'entry-b')).get()).data()).toEqual({ action: 'member.left', targetUid: 'deleted-tombstone' });

    expect(await backfillSchemaVersion(db, 'auditEntries')).toMatchObject({ changedMeanwhile: 0 });
    expect((await db.doc(paths.auditEntry('org-busy', 'entry-b')).get()).data()).toEqual({
      action: 'member.left',
      targetUid: 'deleted-tombstone',
      schemaVersion: AUDIT_ENTRY_VERSION,
    });
  });
});
