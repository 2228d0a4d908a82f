/**
 * scripts/backfill-schema-version.ts, the backfill step of a schema change: upgrades every document of a kind
 * below the current version, leaves newer ones alone, counts without writing in a dry run, and can run again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Firestore } from 'firebase-admin/firestore';
import { paths, STRIPE_EVENT_RECORD_VERSION, SUBSCRIPTION_MIRROR_VERSION } from '@leadpulse/model';
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
});
