/**
 * The hourly grace sweep isolates each organization: a document it cannot read is reported and passed over, and
 * organizations it leaves as they are (being deleted) never keep the ones behind them waiting.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FieldValue, Timestamp, type Firestore } from 'firebase-admin/firestore';
import { MEMBER_VERSION, ORGANIZATION_VERSION, paths, subscriptionMirrorSchema, type SubscriptionMirror } from '@leadpulse/model';
import { sweepLapsedGrace } from '../../functions/src/billing/grace-sweep';
import { SKIPPED_ITEM_MESSAGE } from '../../functions/src/common/logging';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { seedOrg } from './fixtures';

// The alert lines the jobs log, captured (and kept out of the test output).
const logged = vi.hoisted(() => ({ error: vi.fn() }));
vi.mock('firebase-functions/logger', async (original) => ({ ...(await original<typeof import('firebase-functions/logger')>()), error: logged.error }));

const DAY_MS = 86_400_000;
const now = new Date('2031-03-01T12:00:00Z');
const clock = () => now;

// Each test its own project: one's unreadable documents are not the other's.
let firestore: ReturnType<typeof adminFirestore>;
let db: Firestore;
beforeEach(() => {
  firestore = adminFirestore(uniqueProjectId('grace-sweep'));
  db = firestore.db;
});
afterEach(async () => {
  logged.error.mockClear();
  await firestore.close();
});

/** A canceled subscription's mirror, lapsed `daysAgo` days before `now`, still on full access. */
function lapsedMirror(orgId: string, daysAgo: number): SubscriptionMirror {
  return subscriptionMirrorSchema.parse({
    customerId: `cus_${orgId.replace(/[^A-Za-z0-9]/g, '')}`,
    customerDeleted: false,
    subscriptionId: `sub_${orgId.replace(/[^A-Za-z0-9]/g, '')}`,
    subscriptionCreated: 1_900_000_000,
    status: 'canceled',
    plan: 'team',
    priceId: 'price_team',
    seats: 3,
    currentPeriodEnd: null,
    cancelAtPeriodEnd: false,
    trialEnd: null,
    lapsedSince: Timestamp.fromMillis(now.getTime() - daysAgo * DAY_MS),
    access: 'full',
    lastEventCreated: 1_900_000_000,
    updatedAt: Timestamp.fromDate(now),
  });
}

async function accessOf(orgId: string) {
  const [org, mirror] = await Promise.all([db.doc(paths.org(orgId)).get(), db.doc(paths.subscription(orgId)).get()]);
  return { org: org.get('access') as unknown, mirror: mirror.get('access') as unknown };
}

describe('billingGraceSweep', () => {
  it('passes over an unreadable mirror and organization, reports and logs them, and turns the others read-only', async () => {
    await seedOrg(db, 'gs-bad-mirror');
    await db.doc(paths.subscription('gs-bad-mirror')).set({ ...lapsedMirror('gs-bad-mirror', 30), status: 'bogus' });
    await seedOrg(db, 'gs-bad-org');
    await db.doc(paths.org('gs-bad-org')).update({ status: 'zombie' });
    await db.doc(paths.subscription('gs-bad-org')).set(lapsedMirror('gs-bad-org', 29));
    // Its name passes the rules of old (U+00A0) and nothing the sweep reads depends on it.
    await seedOrg(db, 'gs-odd-name');
    await db.doc(paths.org('gs-odd-name')).update({ name: '\u00a0' });
    await db.doc(paths.subscription('gs-odd-name')).set(lapsedMirror('gs-odd-name', 28));
    await seedOrg(db, 'gs-lapsed');
    await db.doc(paths.subscription('gs-lapsed')).set(lapsedMirror('gs-lapsed', 20));
    await seedOrg(db, 'gs-in-grace');
    await db.doc(paths.subscription('gs-in-grace')).set(lapsedMirror('gs-in-grace', 3));

    const report = await sweepLapsedGrace({ db, clock });

    expect(await accessOf('gs-lapsed')).toEqual({ org: 'read_only', mirror: 'read_only' });
    expect(await accessOf('gs-odd-name')).toEqual({ org: 'read_only', mirror: 'read_only' });
    expect(await accessOf('gs-in-grace')).toEqual({ org: 'full', mirror: 'full' });
    expect(await accessOf('gs-bad-mirror')).toEqual({ org: 'full', mirror: 'full' });
    expect(report).toMatchObject({ checked: 4, changed: 2 });
    expect(report.skipped).toEqual([
      { item: paths.subscription('gs-bad-mirror'), error: expect.stringMatching(/^orgs\/gs-bad-mirror\/billing\/subscription is invalid at status/) },
      { item: paths.subscription('gs-bad-org'), error: expect.stringMatching(/^orgs\/gs-bad-org is invalid at status/) },
    ]);
    const alerts = logged.error.mock.calls.filter(([message]) => message === SKIPPED_ITEM_MESSAGE);
    expect(alerts.map(([, fields]) => (fields as { item: string }).item)).toEqual(report.skipped.map((s) => s.item));
    expect((alerts[0][1] as { stack_trace: string }).stack_trace).toMatch(/InvalidStoredDocument.*\n\s+at /);
  });

  it('reaches a lapsed organization behind more than a page of organizations being deleted', async () => {
    // 500 organizations lapsed longest ago, all being deleted: the sweep leaves them as they are.
    for (let first = 0; first < 500; first += 250) {
      const batch = db.batch();
      for (let i = first; i < first + 250; i++) {
        const orgId = `gs-deleting-${String(i).padStart(3, '0')}`;
        batch.set(db.doc(paths.org(orgId)), {
          name: orgId,
          ownerUid: 'u-owner',
          plan: 'team',
          status: 'deleting',
          access: 'none',
          createdAt: Timestamp.fromDate(now),
        });
        batch.set(db.doc(paths.subscription(orgId)), lapsedMirror(orgId, 100 + i));
      }
      await batch.commit();
    }
    await seedOrg(db, 'gs-behind');
    await db.doc(paths.subscription('gs-behind')).set(lapsedMirror('gs-behind', 10));

    const report = await sweepLapsedGrace({ db, clock });

    expect(await accessOf('gs-behind')).toEqual({ org: 'read_only', mirror: 'read_only' });
    expect(await accessOf('gs-deleting-000')).toEqual({ org: 'none', mirror: 'full' });
    expect(report).toMatchObject({ changed: 1, skipped: [] });
  });

  it('raises the organization and members written before versions (1) when it turns them read-only, and keeps newer versions', async () => {
    await seedOrg(db, 'gs-old', [
      { uid: 'gs-old-owner', role: 'owner' },
      { uid: 'gs-old-admin', role: 'admin' },
    ]);
    // As an older release wrote them (no schemaVersion), but the admin's by a newer release.
    await db.doc(paths.org('gs-old')).update({ schemaVersion: FieldValue.delete() });
    await db.doc(paths.member('gs-old', 'gs-old-owner')).update({ schemaVersion: FieldValue.delete() });
    await db.doc(paths.member('gs-old', 'gs-old-admin')).update({ schemaVersion: MEMBER_VERSION + 1 });
    await db.doc(paths.subscription('gs-old')).set(lapsedMirror('gs-old', 20));
    await seedOrg(db, 'gs-newer');
    await db.doc(paths.org('gs-newer')).update({ schemaVersion: ORGANIZATION_VERSION + 1 });
    await db.doc(paths.member('gs-newer', 'gs-newer-owner')).update({ schemaVersion: FieldValue.delete() });
    await db.doc(paths.subscription('gs-newer')).set(lapsedMirror('gs-newer', 20));

    await sweepLapsedGrace({ db, clock });

    const version = async (path: string) => (await db.doc(path).get()).get('schemaVersion') as unknown;
    expect(await accessOf('gs-old')).toEqual({ org: 'read_only', mirror: 'read_only' });
    expect(await version(paths.org('gs-old'))).toBe(ORGANIZATION_VERSION);
    expect(await version(paths.member('gs-old', 'gs-old-owner'))).toBe(MEMBER_VERSION);
    expect(await version(paths.member('gs-old', 'gs-old-admin'))).toBe(MEMBER_VERSION + 1);
    expect(await accessOf('gs-newer')).toEqual({ org: 'read_only', mirror: 'read_only' });
    expect(await version(paths.org('gs-newer'))).toBe(ORGANIZATION_VERSION + 1);
    expect(await version(paths.member('gs-newer', 'gs-newer-owner'))).toBe(MEMBER_VERSION);
  });

  it('turns an organization read-only whose documents hold a version that is none, and stamps them with its own', async () => {
    await seedOrg(db, 'gs-garbled', [
      { uid: 'gs-garbled-owner', role: 'owner' },
      { uid: 'gs-garbled-admin', role: 'admin' },
    ]);
    await db.doc(paths.org('gs-garbled')).update({ schemaVersion: 'two' });
    await db.doc(paths.member('gs-garbled', 'gs-garbled-owner')).update({ schemaVersion: 0 });
    await db.doc(paths.member('gs-garbled', 'gs-garbled-admin')).update({ schemaVersion: 1.5 });
    await db.doc(paths.subscription('gs-garbled')).set(lapsedMirror('gs-garbled', 20));

    const report = await sweepLapsedGrace({ db, clock });

    expect(report.skipped).toEqual([]);
    expect(await accessOf('gs-garbled')).toEqual({ org: 'read_only', mirror: 'read_only' });
    const stored = async (path: string) => (await db.doc(path).get()).data();
    expect(await stored(paths.org('gs-garbled'))).toMatchObject({ access: 'read_only', schemaVersion: ORGANIZATION_VERSION });
    expect(await stored(paths.member('gs-garbled', 'gs-garbled-owner'))).toMatchObject({ access: 'read_only', schemaVersion: MEMBER_VERSION });
    expect(await stored(paths.member('gs-garbled', 'gs-garbled-admin'))).toMatchObject({ access: 'read_only', schemaVersion: MEMBER_VERSION });
    expect(logged.error).not.toHaveBeenCalled();
  });
});
