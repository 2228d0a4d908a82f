/**
 * The copy-back step of the restore runbook in detail (scripts/restore.ts copy): dry run, paging and resuming
 * after an interruption, documents that differ, the limits on overwriting, bad input. The whole runbook with the
 * real handlers is test/operations/restore-rehearsal.test.ts.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getFirestore, Timestamp, type Firestore } from 'firebase-admin/firestore';
import { AUDIT_ENTRY_VERSION, auditEntrySchema, marketingConsentSchema, paths } from '@leadpulse/model';
import { copyBack, RestoreGuard, type CopyBackReport, type UserDirectory } from '../../functions/src/operations';
import { seedOrg, START } from '../privacy/seed';
import { dumpProject } from '../support/snapshot';
import { uniqueProjectId } from '../support/firestore';

const RESTORE_POINT = new Date(START.getTime() + 60_000);
const people = ['olga-owner', 'adam-admin', 'mia-member'];
const users: UserDirectory = { existingUids: async (uids) => new Set(uids.filter((uid) => people.includes(uid))) };

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => deleteApp(app)));
});

/** A project whose `restored` database holds one organization with a bit of everything, and an empty `(default)`. */
async function project(topic: string): Promise<{ live: Firestore; restored: Firestore }> {
  const projectId = uniqueProjectId(topic);
  const app = initializeApp({ projectId }, projectId);
  apps.push(app);
  const restored = getFirestore(app, 'restored');
  await seedOrg(restored, {
    orgId: 'acme',
    now: START,
    members: [
      { uid: people[0], role: 'owner' },
      { uid: people[1], role: 'admin' },
      { uid: people[2], role: 'member' },
    ],
    contacts: 4,
    messagesPerContact: 1,
    config: true,
    strayNestedDocuments: 2,
  });
  return { live: getFirestore(app), restored };
}

const copy = (live: Firestore, restored: Firestore, options: Partial<Parameters<typeof copyBack>[1]> = {}, onPage?: (report: CopyBackReport) => void) =>
  copyBack({ source: restored, target: live, guard: new RestoreGuard(live, users, RESTORE_POINT), onPage }, { prefixes: ['orgs'], ...options });

async function dataOf(db: Firestore): Promise<Map<string, unknown>> {
  return new Map([...(await dumpProject(db))].map(([path, doc]) => [path, doc.data]));
}

describe('copyBack', () => {
  it('a dry run reports what the run then does, and writes nothing', async () => {
    const { live, restored } = await project('copy-dry');
    const dryRun = await copy(live, restored, { dryRun: true });
    expect(await dumpProject(live)).toEqual(new Map());
    expect(dryRun.copied).toBe(15);
    const run = await copy(live, restored);
    expect(run).toEqual({ ...dryRun, dryRun: false });
    expect(await dataOf(live)).toEqual(await dataOf(restored));
  });

  it('interrupted after any page and resumed from its cursor, ends as one whole run, each document copied once', async () => {
    const { restored } = await project('copy-resume');
    const whole = await copy((await project('copy-resume-whole')).live, restored, { pageSize: 3 });
    expect(whole.copied).toBe(15);
    for (const interruptAfter of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
      const { live } = await project(`copy-resume-${interruptAfter}`);
      let pages = 0;
      let cursor: string | null = null;
      const stopping = (report: CopyBackReport) => {
        cursor = report.cursor;
        if (++pages === interruptAfter) throw new Error('interrupted');
      };
      await expect(copy(live, restored, { pageSize: 3 }, stopping)).rejects.toThrow('interrupted');
      const firstPart = [...(await dumpProject(live)).keys()];
      expect(firstPart.length).toBeGreaterThan(0);
      const rest = await copy(live, restored, { pageSize: 3, startAfter: cursor });
      // Each document is created once: by the first part or by the rest, never written over.
      expect(rest).toMatchObject({ copied: whole.copied - firstPart.length, overwritten: [], changedMeanwhile: [], failed: [] });
      expect(await dataOf(live)).toEqual(await dataOf(restored));
    }
  });

  it("leaves documents that differ unless told, and never undoes an opt-out, a role change or the organization's server fields", async () => {
    const { live, restored } = await project('copy-changed');
    const consent = (status: 'opted_in' | 'opted_out') =>
      marketingConsentSchema.parse({
        email: `${people[2]}@example.com`,
        status,
        source: 'settings',
        updatedAt: Timestamp.fromDate(START),
        optedOutAt: status === 'opted_out' ? Timestamp.fromDate(START) : null,
      });
    await restored.doc(paths.marketingConsent(people[2])).set(consent('opted_in'));
    await live.doc(paths.marketingConsent(people[2])).set(consent('opted_out'));
    const restoredContact = (await restored.doc(paths.contact('acme', 'contact000000')).get()).data();
    await live.doc(paths.contact('acme', 'contact000000')).set({ ...restoredContact, status: 'customer' });
    // After the restore point: acme lapsed to read-only on another plan, and its name was damaged; Adam was demoted.
    await live.doc(paths.org('acme')).set({ ...(await restored.doc(paths.org('acme')).get()).data(), name: 'Damaged', plan: 'pro', access: 'read_only' });
    const adam = paths.member('acme', people[1]);
    await live.doc(adam).set({ ...(await restored.doc(adam).get()).data(), role: 'member', access: 'read_only' });
    await live.doc(paths.auditEntry('acme', 'demotion')).set(
      auditEntrySchema.parse({
        schemaVersion: AUDIT_ENTRY_VERSION,
        action: 'member.role_changed',
        actorUid: people[0],
        targetUid: people[1],
        details: { from: 'admin', to: 'member' },
        at: Timestamp.fromMillis(RESTORE_POINT.getTime() + 1),
      }),
    );
    const prefixes = ['orgs', 'marketingConsents'];
    const demoted = { path: adam, reason: 'member whose role changed after the restore point (audit log): the restored role is older' };
    const optOut = { path: paths.marketingConsent(people[2]), reason: 'would undo an opt-out made after the restore point (P9)' };

    const first = await copy(live, restored, { prefixes });
    expect(first.changed.map((entry) => entry.path)).toEqual([paths.org('acme'), paths.contact('acme', 'contact000000')]);
    expect(first.refused).toEqual([optOut, demoted]);
    expect((await live.doc(paths.contact('acme', 'contact000000')).get()).get('status')).toBe('customer');
    for (const uid of people) expect((await live.doc(paths.member('acme', uid)).get()).get('access')).toBe('read_only');

    await live.doc(paths.member('acme', people[2])).update({ displayName: 'Damaged' });
    const told = await copy(live, restored, { prefixes, overwriteChanged: true });
    expect(told.overwritten).toEqual([paths.org('acme'), paths.contact('acme', 'contact000000'), paths.member('acme', people[2])]);
    expect(told.refused).toEqual([optOut, demoted]);
    expect((await live.doc(paths.contact('acme', 'contact000000')).get()).get('status')).toBe('lead');
    expect((await live.doc(paths.marketingConsent(people[2])).get()).get('status')).toBe('opted_out');
    expect((await live.doc(adam).get()).get('role')).toBe('member');
    // The organization gets its name back and keeps what the server set since; its members keep its access.
    expect((await live.doc(paths.org('acme')).get()).data()).toMatchObject({ name: 'Org acme', plan: 'pro', access: 'read_only', ownerUid: people[0] });
    expect((await live.doc(paths.member('acme', people[2])).get()).data()).toMatchObject({ displayName: `Name of ${people[2]}`, access: 'read_only' });
    for (const uid of people) expect((await live.doc(paths.member('acme', uid)).get()).get('access')).toBe('read_only');
    expect(await copy(live, restored, { prefixes, overwriteChanged: true })).toMatchObject({ overwritten: [], changed: [], copied: 0 });
  });

  it('never hands ownership back: after a transfer, neither side of it is overwritten and the owner stays', async () => {
    const { live, restored } = await project('copy-transfer');
    const [olga, adam] = [paths.member('acme', people[0]), paths.member('acme', people[1])];
    await live.doc(paths.org('acme')).set({ ...(await restored.doc(paths.org('acme')).get()).data(), ownerUid: people[1] });
    await live.doc(olga).set({ ...(await restored.doc(olga).get()).data(), role: 'admin' });
    await live.doc(adam).set({ ...(await restored.doc(adam).get()).data(), role: 'owner' });
    await live.doc(paths.auditEntry('acme', 'transfer')).set(
      auditEntrySchema.parse({
        schemaVersion: AUDIT_ENTRY_VERSION,
        action: 'org.ownership_transferred',
        actorUid: people[0],
        targetUid: people[1],
        details: { previousOwnerUid: people[0] },
        at: Timestamp.fromMillis(RESTORE_POINT.getTime() + 1),
      }),
    );
    const report = await copy(live, restored, { overwriteChanged: true });
    expect(report.refused.map((entry) => entry.path)).toEqual([adam, olga]);
    expect(report.overwritten).toEqual([]);
    expect((await live.doc(paths.org('acme')).get()).get('ownerUid')).toBe(people[1]);
    expect([(await live.doc(olga).get()).get('role'), (await live.doc(adam).get()).get('role')]).toEqual(['admin', 'owner']);
  });

  it("gives a membership its organization's access as it is when the membership is written, not when it was reviewed", async () => {
    const { live, restored } = await project('copy-access-race');
    await live.doc(paths.org('acme')).set((await restored.doc(paths.org('acme')).get()).data() ?? {});
    const mia = paths.member('acme', people[2]);
    await live.doc(mia).set({ ...(await restored.doc(mia).get()).data(), displayName: 'Damaged' });
    // The organization lapses (an access change commits) between the guard's review of the members and their writes.
    class LapsingGuard extends RestoreGuard {
      override async review(docs: Parameters<RestoreGuard['review']>[0]): ReturnType<RestoreGuard['review']> {
        const reviews = await super.review(docs);
        if (docs.some((doc) => doc.path.startsWith(`${paths.members('acme')}/`))) await live.doc(paths.org('acme')).update({ access: 'read_only' });
        return reviews;
      }
    }
    const report = await copyBack(
      { source: restored, target: live, guard: new LapsingGuard(live, users, RESTORE_POINT) },
      { prefixes: [paths.members('acme')], overwriteChanged: true },
    );
    expect(report).toMatchObject({ copied: 2, overwritten: [mia], failed: [], changedMeanwhile: [] });
    for (const uid of people) expect((await live.doc(paths.member('acme', uid)).get()).get('access')).toBe('read_only');
  });

  it('copies nothing of an organization whose audit log cannot be read, and carries on with the others', async () => {
    const { live, restored } = await project('copy-unreadable');
    await seedOrg(restored, { orgId: 'globex', now: START, members: [{ uid: people[0], role: 'owner' }], contacts: 1 });
    await live
      .doc(paths.auditEntry('acme', 'damaged'))
      .set({ action: 'member.vanished', actorUid: people[0], at: Timestamp.fromMillis(RESTORE_POINT.getTime() + 1) });
    const report = await copy(live, restored);
    expect(report.copied).toBe(3);
    expect([...(await dumpProject(live)).keys()].filter((path) => path.startsWith('orgs/globex'))).toEqual([
      paths.org('globex'),
      paths.contact('globex', 'contact000000'),
      paths.member('globex', people[0]),
    ]);
    expect(report.refused).toHaveLength(15);
    expect(new Set(report.refused.map((entry) => entry.reason))).toEqual(
      new Set([expect.stringMatching(/^could not be checked: orgs\/acme\/auditLog\/damaged is invalid at action/)]),
    );
  });

  it('refuses bad options naming the field, before reading or writing anything', async () => {
    const { live, restored } = await project('copy-bad');
    await expect(copy(live, restored, { prefixes: [] })).rejects.toThrow(/prefixes[\s\S]*name at least one collection or document path/);
    await expect(copy(live, restored, { prefixes: ['orgs//acme'] })).rejects.toThrow(/must be a collection or document path/);
    await expect(copy(live, restored, { pageSize: 0 })).rejects.toThrow(/pageSize/);
    // The restore point is the guard's alone: an option of the copy that says otherwise is refused, not ignored.
    await expect(copy(live, restored, { restorePoint: RESTORE_POINT } as never)).rejects.toThrow(/restorePoint/);
    expect(await dumpProject(live)).toEqual(new Map());
  });
});

describe('scripts/restore.ts', () => {
  const run = promisify(execFile);
  const script = (...args: string[]) => scriptWith({}, ...args);
  const scriptWith = (environment: Record<string, string>, ...args: string[]) =>
    run(join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx'), [join(__dirname, '..', '..', 'scripts', 'restore.ts'), ...args], {
      env: { ...process.env, STRIPE_SECRET_KEY: undefined, ...environment },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: unknown) => error as { code: number; stderr: string },
    );

  it('refuses bad arguments with the option named and the usage, before connecting', async () => {
    const intoDefault = await script('copy', '--project', 'p', '--from', '(default)', '--restore-point', '2026-11-29T10:00:00Z', '--path', 'orgs');
    expect(intoDefault).toMatchObject({ code: 2, stderr: expect.stringContaining('--from: must be the restored database id') });
    const noTime = await script('reapply-deletions', '--project', 'p', '--restore-point', 'yesterday');
    expect(noTime).toMatchObject({ code: 2, stderr: expect.stringContaining('--restore-point: must be an ISO 8601 time') });
    expect(noTime.stderr).toContain('usage:');
    const noKey = await script('resync-billing', '--project', 'p', '--operator', 'ops-1');
    expect(noKey).toMatchObject({ code: 2, stderr: expect.stringContaining('STRIPE_SECRET_KEY must be set') });
    const longGrace = await scriptWith(
      { STRIPE_SECRET_KEY: 'sk_test_x', BILLING_CATALOG: '{}', ORG_DELETION_GRACE_DAYS: '45' },
      'reapply-deletions',
      '--project',
      'p',
      '--restore-point',
      '2026-11-29T10:00:00Z',
    );
    expect(longGrace).toMatchObject({ code: 2, stderr: expect.stringContaining('ORG_DELETION_GRACE_DAYS') });
  });
});
