/**
 * scripts/backfill-schema-version.ts, the backfill step of a schema change: upgrades every document of a kind
 * below the current version, leaves newer ones alone, counts without writing in a dry run, and can run again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import {
  BILLING_RECORD_VERSION,
  DELETION_RECEIPT_VERSION,
  DELETION_REQUEST_VERSION,
  deletionReceiptSchema,
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
});
