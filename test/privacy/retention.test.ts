/**
 * P5, P6, P7, P9: the retention job, driven by a controlled clock. Every data class of the table is deleted once
 * its time has come and not a moment before; deleted organizations are purged after their grace period;
 * interrupted account deletions are finished; each run reports what it deleted.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import { recordUsageEvent } from '../../functions/src/privacy/usage-events';
import { auditEntrySchema, inviteSchema, marketingConsentSchema, paths, serverCollections, USAGE_EVENT_SHARDS, usageEventShards } from '@leadpulse/model';
import { backfillSchemaVersion } from '../../scripts/backfill-schema-version';
import { deleteAccount, resumeAccountDeletion, type AccountDeletionDeps } from '../../functions/src/accounts/account-deletion';
import { requestOrganizationDeletion } from '../../functions/src/privacy/org-deletion';
import { retentionTable, runRetention, STALE_ACCOUNT_DELETION_MS, type RetentionDeps } from '../../functions/src/privacy/retention';
import { dumpProject } from '../support/snapshot';
import {
  DAY,
  START,
  caller,
  freshProject,
  manualClock,
  RecordingAuth,
  recordingCancellation,
  seedBillingRecord,
  seedOrg,
  seedUser,
  usageEventRecord,
} from './support';

let db: Firestore;
let projectId: string;
let close: () => Promise<void>;
let time: ReturnType<typeof manualClock>;
let accountDeps: AccountDeletionDeps;
let deps: RetentionDeps;
let auth: RecordingAuth;

beforeEach(() => {
  ({ db, projectId, close } = freshProject('privacy-retention'));
  time = manualClock();
  auth = new RecordingAuth();
  const billing = recordingCancellation();
  accountDeps = { db, clock: time.clock, auth, orgDeletion: { graceDays: 7, cancelSubscription: billing.cancel }, pageSize: 2 };
  deps = { db, clock: time.clock, closeBilling: billing.close, pageSize: 2, resumeAccountDeletion: resumeAccountDeletion(accountDeps) };
});
afterEach(async () => close());

const ago = (days: number, ms = 0) => Timestamp.fromMillis(START.getTime() - days * DAY - ms);

async function paths_(collection: string): Promise<string[]> {
  return (await db.collection(collection).get()).docs.map((d) => d.id).sort();
}

describe('the retention table', () => {
  it('declares every data class the promises name', () => {
    expect(retentionTable.map((rule) => rule.key)).toEqual([
      'organizations',
      'accounts',
      'usageEvents',
      'auditLog',
      'stripeEvents',
      'deletionReceipts',
      'marketingConsents',
      'invites',
      'billingRecords',
    ]);
    const days = Object.fromEntries(retentionTable.flatMap((rule) => (rule.kind === 'expiry' ? [[rule.key, rule.days]] : [])));
    expect(days).toMatchObject({ usageEvents: 180, auditLog: 180, stripeEvents: 180, marketingConsents: 30, billingRecords: 0 });
  });
});

/** One pass of Firestore's TTL deletion as of `now`: the offline emulator's `:runTtl`, on firestore.indexes.json. */
async function runTtl(now: Date): Promise<void> {
  const response = await fetch(`http://${process.env.FIRESTORE_EMULATOR_HOST}/emulator/v1/projects/${projectId}:runTtl`, {
    method: 'POST',
    body: JSON.stringify({ now: now.toISOString() }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

describe.skipIf(!process.env.LEADPULSE_OFFLINE_EMULATOR)('TTL policies (offline emulator: the Google emulator runs no TTL)', () => {
  it('usage events: TTL deletes them one day inside the 180-day window; the job backstops at 180 days', async () => {
    const user = caller('someone');
    time.set(START);
    await recordUsageEvent({ db, clock: time.clock }, user, { event: 'page_viewed', page: 'contacts' });
    time.set(new Date(START.getTime() + DAY));
    await recordUsageEvent({ db, clock: time.clock }, user, { event: 'page_viewed', page: 'pipeline' });
    const pages = async () => (await db.collection(serverCollections.usageEvents).get()).docs.map((d) => d.get('payload.page') as string).sort();

    // TTL: kept until receipt + 179 days, deleted from then on (production: within the next 24 hours).
    await runTtl(new Date(START.getTime() + 179 * DAY - 1));
    expect(await pages()).toEqual(['contacts', 'pipeline']);
    await runTtl(new Date(START.getTime() + 179 * DAY));
    expect(await pages()).toEqual(['pipeline']);

    // TTL late (not run): the retention job still keeps the window exact, kept at 180 days, gone 1 ms later.
    time.set(new Date(START.getTime() + DAY + 180 * DAY));
    expect((await runRetention(deps)).purged.usageEvents).toBe(0);
    expect(await pages()).toEqual(['pipeline']);
    time.advance(1);
    expect((await runRetention(deps)).purged.usageEvents).toBe(1);
    expect(await pages()).toEqual([]);
  });

  it("Stripe event ledger: TTL deletes entries on expiresAt (receipt + 179 days); older entries without it are the job's", async () => {
    const received = Timestamp.fromDate(START);
    await db
      .doc(paths.stripeEvent('evt_ttl'))
      .set({ type: 'invoice.paid', receivedAt: received, expiresAt: Timestamp.fromMillis(START.getTime() + 179 * DAY) });
    await db.doc(paths.stripeEvent('evt_legacy')).set({ type: 'invoice.paid', receivedAt: received });
    const ids = async () => paths_(serverCollections.stripeEvents);

    await runTtl(new Date(START.getTime() + 179 * DAY - 1));
    expect(await ids()).toEqual(['evt_legacy', 'evt_ttl']);
    await runTtl(new Date(START.getTime() + 179 * DAY));
    expect(await ids()).toEqual(['evt_legacy']);

    time.set(new Date(START.getTime() + 180 * DAY));
    expect((await runRetention(deps)).purged.stripeEvents).toBe(0);
    time.advance(1);
    expect((await runRetention(deps)).purged.stripeEvents).toBe(1);
    expect(await ids()).toEqual([]);
  });

  it("audit log: TTL deletes entries of every organization on expiresAt (action + 179 days); older entries are the job's", async () => {
    time.set(START);
    await seedOrg(db, { orgId: 'orgA', now: START, members: [{ uid: 'owner-a', role: 'owner' }] });
    await seedOrg(db, { orgId: 'orgB', now: START, members: [{ uid: 'owner-b', role: 'owner' }] });
    const at = Timestamp.fromDate(START);
    const expiresAt = Timestamp.fromMillis(START.getTime() + 179 * DAY);
    await db.doc(paths.auditEntry('orgA', 'ttl-a')).set(auditEntrySchema.parse({ action: 'member.joined', actorUid: 'owner-a', at, expiresAt }));
    await db.doc(paths.auditEntry('orgB', 'ttl-b')).set(auditEntrySchema.parse({ action: 'member.joined', actorUid: 'owner-b', at, expiresAt }));
    await db.doc(paths.auditEntry('orgB', 'legacy')).set(auditEntrySchema.parse({ action: 'member.joined', actorUid: 'owner-b', at }));
    const ids = ['ttl-a', 'legacy', 'ttl-b'];
    const entries = async () => [...(await paths_(paths.auditLog('orgA'))), ...(await paths_(paths.auditLog('orgB')))].filter((id) => ids.includes(id));

    await runTtl(new Date(START.getTime() + 179 * DAY - 1));
    expect(await entries()).toEqual(['ttl-a', 'legacy', 'ttl-b']);
    await runTtl(new Date(START.getTime() + 179 * DAY));
    expect(await entries()).toEqual(['legacy']);

    time.set(new Date(START.getTime() + 180 * DAY));
    await runRetention(deps);
    expect(await entries()).toEqual(['legacy']);
    time.advance(1);
    await runRetention(deps);
    expect(await entries()).toEqual([]);
  });

  it("deletion receipts: TTL deletes them on expiresAt (completion + 179 days); older receipts without it are the job's", async () => {
    const completedAt = Timestamp.fromDate(START);
    await db.doc(paths.deletionReceipt('ttl')).set({ kind: 'organization', completedAt, expiresAt: Timestamp.fromMillis(START.getTime() + 179 * DAY) });
    await db.doc(paths.deletionReceipt('legacy')).set({ kind: 'organization', completedAt });
    const ids = async () => paths_(serverCollections.deletionReceipts);

    await runTtl(new Date(START.getTime() + 179 * DAY - 1));
    expect(await ids()).toEqual(['legacy', 'ttl']);
    await runTtl(new Date(START.getTime() + 179 * DAY));
    expect(await ids()).toEqual(['legacy']);

    time.set(new Date(START.getTime() + 180 * DAY));
    expect((await runRetention(deps)).purged.deletionReceipts).toBe(0);
    time.advance(1);
    expect((await runRetention(deps)).purged.deletionReceipts).toBe(1);
    expect(await ids()).toEqual([]);
  });

  it('invitations: TTL deletes them 6 days after they expire (deleteAt); the job backstops at 7 days', async () => {
    await seedOrg(db, { orgId: 'orgA', now: START, members: [{ uid: 'owner-a', role: 'owner' }] });
    const invite = (expiresAt: Date, withDeleteAt: boolean) =>
      inviteSchema.parse({
        email: 'x@example.com',
        role: 'member',
        tokenHash: 'c'.repeat(64),
        invitedBy: 'owner-a',
        createdAt: Timestamp.fromMillis(expiresAt.getTime() - 7 * DAY),
        expiresAt: Timestamp.fromDate(expiresAt),
        ...(withDeleteAt ? { deleteAt: Timestamp.fromMillis(expiresAt.getTime() + 6 * DAY) } : {}),
      });
    await db.doc(paths.invite('orgA', 'ttl')).set(invite(START, true));
    await db.doc(paths.invite('orgA', 'legacy')).set(invite(START, false));
    const ids = async () => paths_(paths.invites('orgA'));

    await runTtl(new Date(START.getTime() + 6 * DAY - 1));
    expect(await ids()).toEqual(['legacy', 'ttl']);
    await runTtl(new Date(START.getTime() + 6 * DAY));
    expect(await ids()).toEqual(['legacy']);

    // An invitation without the TTL field (written before it existed) is the job's: kept at 7 days, gone 1 ms later.
    time.set(new Date(START.getTime() + 7 * DAY));
    expect((await runRetention(deps)).purged.invites).toBe(0);
    time.advance(1);
    expect((await runRetention(deps)).purged.invites).toBe(1);
    expect(await ids()).toEqual([]);
  });
});

describe('runRetention', () => {
  it('deletes each class exactly when its time has come, and reports it', async () => {
    time.set(START);
    const at = Timestamp.fromDate(START);
    // Usage events: 180 days after receipt.
    await db.doc(paths.usageEvent('old')).set(usageEventRecord(ago(180, 1).toDate(), 3));
    await db.doc(paths.usageEvent('edge')).set(usageEventRecord(ago(180).toDate(), 3));
    await db.doc(paths.usageEvent('new')).set(usageEventRecord(ago(1).toDate(), 3));
    // Audit log entries (in any organization): 180 days.
    await seedOrg(db, { orgId: 'orgA', now: START, members: [{ uid: 'owner-a', role: 'owner' }] });
    for (const [id, when] of [
      ['old1', ago(200)],
      ['old2', ago(181)],
      ['recent', ago(179)],
    ] as const) {
      await db.doc(paths.auditEntry('orgA', id)).set(auditEntrySchema.parse({ action: 'member.joined', actorUid: 'owner-a', at: when }));
    }
    // Stripe event ledger: 180 days after receipt (billing's record shape; only receivedAt matters here).
    await db.doc(paths.stripeEvent('evt_old')).set({ type: 'invoice.paid', receivedAt: ago(181) });
    await db.doc(paths.stripeEvent('evt_new')).set({ type: 'invoice.paid', receivedAt: ago(30) });
    // Deletion receipts: 180 days.
    await db.doc(paths.deletionReceipt('organization-gone')).set({ kind: 'organization', completedAt: ago(181) });
    await db.doc(paths.deletionReceipt('organization-recent')).set({ kind: 'organization', completedAt: ago(10) });
    // Marketing data: 30 days after opting out; kept while opted in.
    const consent = (status: 'opted_in' | 'opted_out', optedOutAt: Timestamp | null) =>
      marketingConsentSchema.parse({ email: 'a@example.com', status, source: 'settings', updatedAt: at, optedOutAt });
    await db.doc(paths.marketingConsent('out-long-ago')).set(consent('opted_out', ago(31)));
    await db.doc(paths.marketingConsent('out-recently')).set(consent('opted_out', ago(29)));
    await db.doc(paths.marketingConsent('still-in')).set(consent('opted_in', null));
    // Invitations: 7 days after they expire.
    const invite = (expiresAt: Timestamp) =>
      inviteSchema.parse({ email: 'x@example.com', role: 'member', tokenHash: 'c'.repeat(64), invitedBy: 'owner-a', createdAt: ago(40), expiresAt });
    await db.doc(paths.invite('orgA', 'expired-long-ago')).set(invite(ago(8)));
    await db.doc(paths.invite('orgA', 'expired-recently')).set(invite(ago(6)));
    await db.doc(paths.invite('orgA', 'valid')).set(invite(ago(-3)));
    // Billing records: 7 years (until retainUntil).
    await seedBillingRecord(db, 'orgA', 'in_7yAgo', new Date(START.getTime() - 7 * 365 * DAY - 1));
    await seedBillingRecord(db, 'orgA', 'in_recent1', new Date(START.getTime() - 6 * 365 * DAY));

    const report = await runRetention(deps);

    expect(report.purged).toEqual({
      organizations: 0,
      usageEvents: 1,
      auditLog: 2,
      stripeEvents: 1,
      deletionReceipts: 1,
      marketingConsents: 1,
      invites: 1,
      billingRecords: 1,
    });
    expect(report).toMatchObject({ now: START.toISOString(), complete: true, organizations: [], accounts: [], overdueOrganizations: [] });
    expect(await paths_(serverCollections.usageEvents)).toEqual(['edge', 'new']);
    expect(await paths_(paths.auditLog('orgA'))).toEqual(['recent']);
    expect(await paths_(serverCollections.stripeEvents)).toEqual(['evt_new']);
    expect(await paths_(serverCollections.deletionReceipts)).toEqual(['organization-recent']);
    expect(await paths_(serverCollections.marketingConsents)).toEqual(['out-recently', 'still-in']);
    expect(await paths_(paths.invites('orgA'))).toEqual(['expired-recently', 'valid']);
    expect(await paths_(serverCollections.billingRecords)).toEqual(['in_recent1']);

    // A second run at the same time finds nothing more.
    const again = await runRetention(deps);
    expect(Object.values(again.purged).every((count) => count === 0)).toBe(true);

    // Thirty days on, the rest of the opted-out marketing data and the edge usage event go too.
    time.advance(2 * DAY);
    const later = await runRetention(deps);
    expect(later.purged).toMatchObject({ usageEvents: 1, marketingConsents: 1 });
    expect(await paths_(serverCollections.marketingConsents)).toEqual(['still-in']);
  });

  it('deletes usage events of every shard exactly 180 days after receipt, across pages', async () => {
    time.set(START);
    const batch = db.batch();
    for (const shard of usageEventShards) {
      batch.set(db.doc(paths.usageEvent(`old-${shard}`)), usageEventRecord(ago(180, 1).toDate(), shard));
      batch.set(db.doc(paths.usageEvent(`edge-${shard}`)), usageEventRecord(ago(180).toDate(), shard));
      batch.set(db.doc(paths.usageEvent(`new-${shard}`)), usageEventRecord(ago(1).toDate(), shard));
    }
    await batch.commit();
    const left = async (prefix: string) => (await paths_(serverCollections.usageEvents)).filter((id) => id.startsWith(prefix));

    // Ten shards, pages of 2: the job pages across shards until none is left.
    expect((await runRetention(deps)).purged.usageEvents).toBe(USAGE_EVENT_SHARDS);
    expect(await left('old-')).toEqual([]);
    expect(await left('edge-')).toHaveLength(USAGE_EVENT_SHARDS);

    time.advance(1);
    expect((await runRetention(deps)).purged.usageEvents).toBe(USAGE_EVENT_SHARDS);
    expect(await left('edge-')).toEqual([]);
    expect(await left('new-')).toEqual(usageEventShards.map((shard) => `new-${shard}`).sort());
  });

  it('deletes the oldest usage events first whatever their shard, so that a short budget starves no shard', async () => {
    // The higher the shard, the older its event: reading shard after shard would start with the youngest.
    const batch = db.batch();
    for (const shard of usageEventShards) batch.set(db.doc(paths.usageEvent(`s${shard}`)), usageEventRecord(ago(200 + shard).toDate(), shard));
    await batch.commit();
    let elapsed = 0;
    const report = await runRetention({ ...deps, budgetMs: 10, elapsedMs: () => elapsed++ });

    const deleted = report.purged.usageEvents;
    expect(report.unfinished.usageEvents).toBe('out_of_time');
    expect(deleted).toBeGreaterThan(0);
    const youngestFirst = usageEventShards.map((shard) => `s${shard}`);
    expect(await paths_(serverCollections.usageEvents)).toEqual(youngestFirst.slice(0, USAGE_EVENT_SHARDS - deleted).sort());
  });

  it('finds an event written before shards existed only once the backfill gave it one', async () => {
    const legacy = usageEventRecord(ago(181).toDate(), 0);
    await db.doc(paths.usageEvent('legacy')).set({ payload: legacy.payload, receivedAt: legacy.receivedAt, expiresAt: legacy.expiresAt, schemaVersion: 2 });
    // Not in the (shard, receivedAt) index: the rollout runs the backfill before the job reads by shard.
    expect((await runRetention(deps)).purged.usageEvents).toBe(0);

    expect(await backfillSchemaVersion(db, 'usageEvents')).toMatchObject({ upgraded: 1 });
    expect((await runRetention(deps)).purged.usageEvents).toBe(1);
    expect(await paths_(serverCollections.usageEvents)).toEqual([]);
  });

  it('purges a deleted organization once its grace period is over, and never another one', async () => {
    const seeded = await seedOrg(db, { orgId: 'orgA', now: START, members: [{ uid: 'owner-a', role: 'owner' }], contacts: 3, messagesPerContact: 1 });
    await seedOrg(db, { orgId: 'orgB', now: START, members: [{ uid: 'owner-b', role: 'owner' }], contacts: 2 });
    await requestOrganizationDeletion({ ...accountDeps.orgDeletion, db, clock: time.clock }, caller('owner-a'), { orgId: 'orgA' });

    time.advance(7 * DAY - 1);
    const early = await runRetention(deps);
    expect(early.organizations).toEqual([]);
    expect((await db.doc(paths.org('orgA')).get()).exists).toBe(true);

    time.advance(1);
    const due = await runRetention(deps);
    const expected = Object.values(seeded.counts).reduce((a, b) => a + b, 0) + 1; // + the request's audit entry
    expect(due.organizations).toEqual([{ orgId: 'orgA', outcome: 'purged', deletedDocuments: expected }]);
    expect(due.purged.organizations).toBe(expected);
    const remaining = [...(await dumpProject(db)).keys()];
    expect(remaining.filter((path) => path.startsWith('orgs/orgA'))).toEqual([]);
    expect(remaining.filter((path) => path.startsWith('orgs/orgB')).length).toBe(4);
  });

  it('finishes an account deletion that stopped, once it has been idle for 15 minutes', async () => {
    await seedUser(db, 'quitter', START, { consent: true });
    auth.addUser('quitter');
    await seedOrg(db, {
      orgId: 'orgA',
      now: START,
      members: [
        { uid: 'owner-a', role: 'owner' },
        { uid: 'quitter', role: 'member' },
      ],
      contacts: 2,
    });
    const crashing = { ...accountDeps, onStep: (step: string) => (step === 'recorded' ? Promise.reject(new Error('instance died')) : undefined) };
    await expect(deleteAccount(crashing, 'quitter', 'self')).rejects.toThrow('instance died');

    time.advance(STALE_ACCOUNT_DELETION_MS - 1);
    expect((await runRetention(deps)).accounts).toEqual([]);
    time.advance(1);
    expect((await runRetention(deps)).accounts).toEqual([{ outcome: 'deleted' }]);
    expect((await db.doc(paths.user('quitter')).get()).exists).toBe(false);
    expect((await db.doc(paths.member('orgA', 'quitter')).get()).exists).toBe(false);
    expect(auth.users.has('quitter')).toBe(false);
    expect(await paths_(serverCollections.deletionRequests)).toEqual([]);
  });

  it('stops starting new work when its time budget is spent, and says so', async () => {
    for (let i = 0; i < 5; i++) await db.doc(paths.usageEvent(`e${i}`)).set(usageEventRecord(ago(200).toDate(), i));
    const report = await runRetention({ ...deps, budgetMs: -1 });
    expect(report.complete).toBe(false);
    expect(await paths_(serverCollections.usageEvents)).toHaveLength(5);
  });
});
