/**
 * The re-apply step of the restore runbook in detail (scripts/restore.ts reapply-deletions): which deletions it
 * finds, what a dry run leaves, and that one failure does not stop the rest. The whole runbook with the real
 * handlers and Stripe is test/operations/restore-rehearsal.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import { DELETION_RECEIPT_VERSION, DELETION_REQUEST_VERSION, deletionReceiptSchema, orgDeletionRequestSchema, paths } from '@leadpulse/model';
import { SKIPPED_ITEM_MESSAGE } from '../../functions/src/common/logging';
import { reapplyDeletions, type ReapplyDeletionsDeps } from '../../functions/src/operations';
import { DEFAULT_PURGE_LEASE_MS, orgReceiptId } from '../../functions/src/privacy/org-purge';
import { DAY, freshProject, manualClock, RecordingAuth, recordingCancellation, seedOrg, seedUser, START } from '../privacy/support';
import { dumpProject } from '../support/snapshot';

// The alert lines the run logs, captured (and kept out of the test output).
const logged = vi.hoisted(() => ({ error: vi.fn() }));
vi.mock('firebase-functions/logger', async (original) => ({ ...(await original<typeof import('firebase-functions/logger')>()), error: logged.error }));

const RESTORE_POINT = START;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  logged.error.mockClear();
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function receipt(db: Firestore, orgId: string, completedAt: Date): Promise<void> {
  await db.doc(paths.deletionReceipt(orgReceiptId(orgId))).set(
    deletionReceiptSchema.parse({
      schemaVersion: DELETION_RECEIPT_VERSION,
      kind: 'organization',
      subjectId: orgId,
      requestedAt: Timestamp.fromMillis(completedAt.getTime() - 8 * DAY),
      completedAt: Timestamp.fromDate(completedAt),
      deletedDocuments: 1,
      collections: { orgs: 1 },
      leftoverDocuments: 0,
    }),
  );
}

/** After a restore: organizations purged since the restore point are back in various shapes, and two people. */
async function restoredProject(topic: string) {
  const { db, close } = freshProject(topic);
  closers.push(close);
  const { clock, advance } = manualClock(START);
  const after = new Date(START.getTime() + DAY);
  // Back whole, with its request from before the restore point, still in its grace period then.
  await seedOrg(db, { orgId: 'inGrace', now: START, members: [{ uid: 'owner-a', role: 'owner' }], contacts: 2 });
  await db.doc(paths.deletionRequest('inGrace')).set(
    orgDeletionRequestSchema.parse({
      schemaVersion: DELETION_REQUEST_VERSION,
      kind: 'organization',
      orgId: 'inGrace',
      requestedBy: 'owner-a',
      requestedAt: Timestamp.fromDate(START),
      graceEndsAt: Timestamp.fromMillis(START.getTime() + 7 * DAY),
      deadline: Timestamp.fromMillis(START.getTime() + 30 * DAY),
      state: 'pending',
      purge: null,
    }),
  );
  await receipt(db, 'inGrace', new Date(START.getTime() + 7 * DAY));
  // Back without a request, and only in part: data below a missing organization document.
  await seedOrg(db, {
    orgId: 'active',
    now: START,
    members: [
      { uid: 'owner-b', role: 'owner' },
      { uid: 'member-b', role: 'member' },
    ],
    contacts: 1,
  });
  await receipt(db, 'active', after);
  await db.doc(`${paths.org('partial')}/attachments/file/versions/v1`).set({ size: 1 });
  await receipt(db, 'partial', after);
  // Purged after the restore point and not back; purged before it (not in the backup, so not back either).
  await receipt(db, 'gone', after);
  await seedOrg(db, { orgId: 'before', now: START, members: [{ uid: 'owner-c', role: 'owner' }] });
  await receipt(db, 'before', new Date(START.getTime() - DAY));
  // A person whose account was deleted (no Auth user) and one who still has theirs.
  await seedUser(db, 'erased-person', START, { consent: true });
  await seedUser(db, 'owner-b', START);
  const auth = new RecordingAuth();
  for (const uid of ['owner-a', 'owner-b', 'member-b', 'owner-c']) auth.addUser(uid);
  const billing = recordingCancellation();
  advance(10 * DAY);
  const deps: ReapplyDeletionsDeps = {
    db,
    users: { existingUids: async (uids) => new Set(uids.filter((uid) => auth.users.has(uid))) },
    purge: { db, clock, closeBilling: billing.close },
    accounts: { db, clock, auth, orgDeletion: { graceDays: 7, cancelSubscription: billing.cancel } },
  };
  return { db, deps, billing, advance };
}

const orgData = async (db: Firestore, orgId: string) => [...(await dumpProject(db)).keys()].filter((path) => path.startsWith(paths.org(orgId)));

describe('reapplyDeletions', () => {
  it('purges every organization purged since the restore point that has data again, and erases people without an Auth user', async () => {
    const { db, deps, billing } = await restoredProject('reapply-all');
    const dryRun = await reapplyDeletions(deps, { restorePoint: RESTORE_POINT, dryRun: true });
    const untouched = await dumpProject(db);
    expect(dryRun).toEqual({
      dryRun: true,
      organizations: [
        { orgId: 'active', outcome: 'would_purge' },
        { orgId: 'gone', outcome: 'absent' },
        { orgId: 'inGrace', outcome: 'would_purge' },
        { orgId: 'partial', outcome: 'would_purge' },
      ],
      accounts: { found: 1, erased: 0, failed: [] },
      unreadableReceipts: [],
    });
    expect(await dumpProject(db)).toEqual(untouched);

    const report = await reapplyDeletions(deps, { restorePoint: RESTORE_POINT });
    expect(report.organizations).toEqual([
      { orgId: 'active', outcome: 'purged', deletedDocuments: 5 }, // with the audit entry of its new request
      { orgId: 'gone', outcome: 'absent' },
      { orgId: 'inGrace', outcome: 'purged', deletedDocuments: 4 },
      { orgId: 'partial', outcome: 'purged', deletedDocuments: 1 },
    ]);
    expect(report.accounts).toEqual({ found: 1, erased: 1, failed: [] });
    for (const orgId of ['active', 'inGrace', 'partial']) expect(await orgData(db, orgId)).toEqual([]);
    expect(billing.closed).toEqual(expect.arrayContaining(['active', 'inGrace', 'partial']));
    expect((await db.doc(paths.user('erased-person')).get()).exists).toBe(false);
    expect((await db.doc(paths.marketingConsent('erased-person')).get()).exists).toBe(false);
    // Not deleted after the restore point, or still a user: left as they are.
    expect(await orgData(db, 'before')).not.toEqual([]);
    expect((await db.doc(paths.user('owner-b')).get()).exists).toBe(true);

    expect(await reapplyDeletions(deps, { restorePoint: RESTORE_POINT })).toEqual({
      dryRun: false,
      organizations: ['active', 'gone', 'inGrace', 'partial'].map((orgId) => ({ orgId, outcome: 'absent' })),
      accounts: { found: 0, erased: 0, failed: [] },
      unreadableReceipts: [],
    });
  });

  it('reports an organization whose purge fails and carries on with the others and the accounts', async () => {
    const { db, deps, billing, advance } = await restoredProject('reapply-failing');
    billing.failWith(new Error('Stripe is unavailable'));
    const report = await reapplyDeletions(deps, { restorePoint: RESTORE_POINT, purgedOrgIds: ['before'] });
    const failed = (orgId: string) => ({ orgId, outcome: 'failed', error: 'Stripe is unavailable' });
    expect(report.organizations).toEqual([failed('active'), failed('before'), { orgId: 'gone', outcome: 'absent' }, failed('inGrace'), failed('partial')]);
    expect(report.accounts).toEqual({ found: 1, erased: 1, failed: [] });
    // Access is gone at once: scheduled with no grace, the members' documents say `none`.
    expect((await db.doc(paths.member('active', 'member-b')).get()).get('access')).toBe('none');
    billing.failWith(null);
    expect((await reapplyDeletions(deps, { restorePoint: RESTORE_POINT, purgedOrgIds: ['before'] })).organizations[0]).toEqual({
      orgId: 'active',
      outcome: 'failed',
      error: expect.stringMatching(/^another purge holds it until .*: run again then$/),
    });
    advance(DEFAULT_PURGE_LEASE_MS);
    const retried = await reapplyDeletions(deps, { restorePoint: RESTORE_POINT, purgedOrgIds: ['before'] });
    expect(retried.organizations.map((org) => org.outcome)).toEqual(['purged', 'purged', 'absent', 'purged', 'purged']);
  });

  it('reads of a receipt only its kind and subject, and passes over one it cannot read, reporting it', async () => {
    const { db, deps } = await restoredProject('reapply-unreadable');
    // Damaged where the re-apply does not look: `active` is purged all the same.
    await db.doc(paths.deletionReceipt(orgReceiptId('active'))).update({ deletedDocuments: -1, collections: 'damaged' });
    // Damaged where it looks, after the restore point: reported, and the run goes on.
    const completedAt = Timestamp.fromMillis(START.getTime() + DAY);
    await db.doc(paths.deletionReceipt('bad-subject')).set({ kind: 'organization', subjectId: 'orgs/acme', completedAt });
    await db.doc(paths.deletionReceipt('no-kind')).set({ subjectId: 'acme', completedAt });

    const report = await reapplyDeletions(deps, { restorePoint: RESTORE_POINT });
    expect(report.unreadableReceipts).toEqual([
      { item: paths.deletionReceipt('bad-subject'), error: expect.stringMatching(/^deletionReceipts\/bad-subject is invalid at subjectId: /) },
      { item: paths.deletionReceipt('no-kind'), error: expect.stringMatching(/^deletionReceipts\/no-kind is invalid at kind: /) },
    ]);
    expect(report.organizations.map((org) => [org.orgId, org.outcome])).toEqual([
      ['active', 'purged'],
      ['gone', 'absent'],
      ['inGrace', 'purged'],
      ['partial', 'purged'],
    ]);
    expect(report.accounts).toEqual({ found: 1, erased: 1, failed: [] });
    for (const receipt of ['bad-subject', 'no-kind']) {
      expect(logged.error).toHaveBeenCalledWith(
        SKIPPED_ITEM_MESSAGE,
        expect.objectContaining({ job: 'reapplyDeletions', item: paths.deletionReceipt(receipt) }),
      );
    }
  });

  it('refuses bad options naming the field, changing nothing', async () => {
    const { db, deps } = await restoredProject('reapply-bad');
    const before = await dumpProject(db);
    await expect(reapplyDeletions(deps, { restorePoint: new Date('not a time') })).rejects.toThrow(/restorePoint/);
    await expect(reapplyDeletions(deps, { restorePoint: RESTORE_POINT, purgedOrgIds: ['orgs/acme'] })).rejects.toThrow(/purgedOrgIds/);
    expect(await dumpProject(db)).toEqual(before);
  });
});
