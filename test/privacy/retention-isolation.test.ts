/**
 * The retention job isolates what it works on: a deletion request it cannot read is reported and passed over;
 * each rule gets its own share of the time budget, so a flood in one class leaves time for the others; a large
 * purge stops at its share between two pages and the next run resumes it exactly.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import { accountDeletionRequestId, auditEntrySchema, paths, serverCollections, USAGE_EVENT_SHARDS } from '@leadpulse/model';
import { resumeAccountDeletion, type AccountDeletionDeps } from '../../functions/src/accounts/account-deletion';
import { SKIPPED_ITEM_MESSAGE } from '../../functions/src/common/logging';
import { requestOrganizationDeletion } from '../../functions/src/privacy/org-deletion';
import { logRetentionReport, runRetention, type RetentionDeps } from '../../functions/src/privacy/retention';
import { DAY, START, caller, freshProject, manualClock, RecordingAuth, recordingCancellation, seedOrg, usageEventRecord } from './support';

// The alert lines, captured (and kept out of the test output).
const logged = vi.hoisted(() => ({ error: vi.fn(), info: vi.fn() }));
vi.mock('firebase-functions/logger', async (original) => ({
  ...(await original<typeof import('firebase-functions/logger')>()),
  error: logged.error,
  info: logged.info,
}));

let db: Firestore;
let close: () => Promise<void>;
let time: ReturnType<typeof manualClock>;
let accountDeps: AccountDeletionDeps;
let deps: RetentionDeps;

beforeEach(() => {
  ({ db, close } = freshProject('privacy-retention-isolation'));
  time = manualClock();
  const billing = recordingCancellation();
  accountDeps = { db, clock: time.clock, auth: new RecordingAuth(), orgDeletion: { graceDays: 7, cancelSubscription: billing.cancel }, pageSize: 2 };
  deps = { db, clock: time.clock, closeBilling: billing.close, pageSize: 2, resumeAccountDeletion: resumeAccountDeletion(accountDeps) };
});
afterEach(async () => {
  logged.error.mockClear();
  logged.info.mockClear();
  await close();
});

const ago = (days: number) => Timestamp.fromMillis(time.clock().getTime() - days * DAY);
const ids = async (collection: string) => (await db.collection(collection).get()).docs.map((d) => d.id).sort();
const alertedItems = () =>
  logged.error.mock.calls.filter(([message]) => message === SKIPPED_ITEM_MESSAGE).map(([, fields]) => (fields as { item: string }).item);

describe('runRetention', () => {
  it('passes over an unreadable deletion request of each kind, reports and logs it, and applies every other rule', async () => {
    await seedOrg(db, { orgId: 'orgA', now: START, members: [{ uid: 'owner-a', role: 'owner' }], contacts: 2 });
    await requestOrganizationDeletion({ ...accountDeps.orgDeletion, db, clock: time.clock }, caller('owner-a'), { orgId: 'orgA' });
    // A field a newer release added is no fault: the request is read and the purge runs.
    await db.doc(paths.deletionRequest('orgA')).update({ addedByANewerRelease: true });
    // Documents in the tree that fit no schema: the purge lists and deletes, it never parses them.
    await db.doc(paths.contact('orgA', 'junk')).set({ nonsense: true });
    await db.doc(paths.member('orgA', 'owner-a')).update({ role: 'emperor' });
    await db.doc(paths.subscription('orgA')).set({ status: 'bogus' });
    // A request missing its deadline, and an account deletion missing its tombstone: unreadable.
    await db
      .doc(paths.deletionRequest('orgBroken'))
      .set({ kind: 'organization', orgId: 'orgBroken', requestedBy: 'x', requestedAt: ago(1), graceEndsAt: ago(1), state: 'pending', purge: null });
    await db
      .doc(paths.deletionRequest(accountDeletionRequestId('ghost')))
      .set({ kind: 'account', uid: 'ghost', initiatedBy: 'self', reason: null, requestedAt: ago(1), memberOrgIds: [], scheduledOrgIds: [], found: {} });
    time.advance(8 * DAY);
    await db.doc(paths.usageEvent('old')).set(usageEventRecord(ago(181).toDate(), 0));
    await seedOrg(db, { orgId: 'orgB', now: START, members: [{ uid: 'owner-b', role: 'owner' }] });
    await db.doc(paths.auditEntry('orgB', 'old')).set(auditEntrySchema.parse({ action: 'member.joined', actorUid: 'owner-b', at: ago(181) }));

    const report = await runRetention(deps);

    expect(report.skipped).toEqual([
      { item: paths.deletionRequest('orgBroken'), error: expect.stringMatching(/^deletionRequests\/orgBroken is invalid at deadline/) },
      { item: paths.deletionRequest(accountDeletionRequestId('ghost')), error: expect.stringMatching(/is invalid at tombstone/) },
    ]);
    expect(report.organizations).toEqual([{ orgId: 'orgA', outcome: 'purged', deletedDocuments: expect.any(Number) }]);
    expect(report.purged).toMatchObject({ usageEvents: 1, auditLog: 1 });
    expect(report.complete).toBe(true);
    expect((await db.doc(paths.org('orgA')).get()).exists).toBe(false);
    expect(await ids(serverCollections.usageEvents)).toEqual([]);
    expect(await ids(paths.auditLog('orgB'))).toEqual([]);
    // Left for an operator, untouched.
    expect(await ids(serverCollections.deletionRequests)).toEqual([accountDeletionRequestId('ghost'), 'orgBroken']);
    expect(alertedItems()).toEqual(report.skipped.map((skipped) => skipped.item));

    logRetentionReport(report);
    expect(logged.error).toHaveBeenLastCalledWith('retention run needs attention', report);
  });

  it('gives each rule its own share of the budget: a flood of usage events leaves time for every other rule', async () => {
    for (let first = 0; first < 80; first += 40) {
      const batch = db.batch();
      for (let i = first; i < first + 40; i++) batch.set(db.doc(paths.usageEvent(`flood-${i}`)), usageEventRecord(ago(200).toDate(), i % USAGE_EVENT_SHARDS));
      await batch.commit();
    }
    await seedOrg(db, { orgId: 'orgB', now: START, members: [{ uid: 'owner-b', role: 'owner' }] });
    await db.doc(paths.auditEntry('orgB', 'old')).set(auditEntrySchema.parse({ action: 'member.joined', actorUid: 'owner-b', at: ago(181) }));
    await db.doc(paths.stripeEvent('evt_old')).set({ type: 'invoice.paid', receivedAt: ago(181) });
    // Every look at the time finds it 1 ms later: a page costs 1 ms, and the 40 pages of the flood would take 40.
    let elapsed = 0;
    const report = await runRetention({ ...deps, budgetMs: 90, elapsedMs: () => elapsed++ });

    expect(report.unfinished).toEqual({ usageEvents: 'out_of_time' });
    expect(report.complete).toBe(false);
    expect(report.purged.usageEvents).toBeGreaterThan(0);
    expect(report.purged.usageEvents).toBeLessThan(80);
    expect(report.purged).toMatchObject({ auditLog: 1, stripeEvents: 1 });
    expect(await ids(paths.auditLog('orgB'))).toEqual([]);
    expect(await ids(serverCollections.stripeEvents)).toEqual([]);
  });

  it('stops a large purge at its share of the budget between two pages; the next run resumes it and counts exactly', async () => {
    const seeded = await seedOrg(db, { orgId: 'orgBig', now: START, members: [{ uid: 'owner-big', role: 'owner' }], contacts: 8, messagesPerContact: 1 });
    await requestOrganizationDeletion({ ...accountDeps.orgDeletion, db, clock: time.clock }, caller('owner-big'), { orgId: 'orgBig' });
    time.advance(7 * DAY);
    // Each deleted page takes 100 ms; the organizations rule's share of 900 ms is 100 ms.
    let elapsed = 0;
    const pages: number[] = [];
    const first = await runRetention({
      ...deps,
      budgetMs: 900,
      elapsedMs: () => elapsed,
      onPage: (phase, page) => {
        if (phase === 'deleted') {
          pages.push(page.page);
          elapsed += 100;
        }
      },
    });
    expect(pages).toEqual([1, 2]);
    expect(first.organizations).toEqual([{ orgId: 'orgBig', outcome: 'paused' }]);
    expect(first.unfinished).toEqual({ organizations: 'out_of_time' });
    expect((await db.doc(paths.org('orgBig')).get()).exists).toBe(true);

    // The lease was released: the next run takes over at once and finishes.
    const second = await runRetention(deps);
    const expected = Object.values(seeded.counts).reduce((a, b) => a + b, 0) + 1; // + the request's audit entry
    expect(second.organizations).toEqual([{ orgId: 'orgBig', outcome: 'purged', deletedDocuments: expected }]);
    expect(second.complete).toBe(true);
    expect((await db.doc(paths.org('orgBig')).get()).exists).toBe(false);
  });
});
