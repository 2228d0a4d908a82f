/**
 * The restore runbook rehearsed (docs/operations.md, "Backups and restore"): a project with history, a backup
 * taken as Firestore takes one (the emulator's export, imported into a second database `restored`), then, after
 * the restore point, an organization deleted and purged, an account deleted, a member removed, a contact erased,
 * data changed and data lost, all through the real handlers; then the runbook's steps in order, as
 * scripts/restore.ts runs them: copy back, re-apply deletions, resync billing from Stripe (the local Stripe).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initializeApp, deleteApp, type App } from 'firebase-admin/app';
import { getFirestore, Timestamp, type Firestore } from 'firebase-admin/firestore';
import { inviteSchema, paths, serverCollections, tombstoneSchema, userProfileSchema } from '@leadpulse/model';
import type { AccountDeletionDeps } from '../../functions/src/accounts/account-deletion';
import { deleteMyAccount } from '../../functions/src/accounts/account-deletion';
import { cancelSubscriptionHook, closeBillingHook } from '../../functions/src/billing/deletion-hooks';
import { resyncAllStripeCustomers } from '../../functions/src/billing/operators';
import { removeMember } from '../../functions/src/orgs/members';
import { copyBack, reapplyDeletions, RestoreGuard, type UserDirectory } from '../../functions/src/operations';
import { eraseContact } from '../../functions/src/privacy/contact-erasure';
import { requestOrganizationDeletion } from '../../functions/src/privacy/org-deletion';
import { runRetention, type RetentionReport } from '../../functions/src/privacy/retention';
import { resumeAccountDeletion } from '../../functions/src/accounts/account-deletion';
import { caller, RecordingAuth, seedOrg as seedPrivacyOrg, seedUser } from '../privacy/support';
import { dumpProject } from '../support/snapshot';
import { DAY_SECONDS, linkNewCustomer, readMirror, startBillingTest, type BillingTestContext } from '../billing/fixtures';

const RESTORED = 'restored';
const OPERATOR_UID = 'ops-restore';

let context: BillingTestContext;
let backups: string;
beforeAll(async () => {
  context = await startBillingTest('restore-rehearsal');
  backups = mkdtempSync(join(tmpdir(), 'leadpulse-backup-'));
});
afterAll(async () => {
  await context.close();
  rmSync(backups, { recursive: true, force: true });
});

const emulatorUrl = (path: string) => `http://${process.env.FIRESTORE_EMULATOR_HOST ?? ''}/emulator/v1/${path}`;
async function emulatorCall(method: string, path: string, body?: object): Promise<void> {
  const response = await fetch(emulatorUrl(path), { method, body: body && JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
}

/** What a backup and `gcloud firestore databases restore` produce: the export of `(default)` imported into `into`. */
async function backUp(projectId: string): Promise<string> {
  const name = `backup-${projectId}`;
  await emulatorCall('POST', `projects/${projectId}:export`, {
    database: `projects/${projectId}/databases/(default)`,
    export_directory: backups,
    export_name: name,
  });
  return join(backups, name, `${name}.overall_export_metadata`);
}
async function restore(projectId: string, backup: string, into: string): Promise<void> {
  await emulatorCall('POST', `projects/${projectId}:import`, { database: `projects/${projectId}/databases/${into}`, export_directory: backup });
}

/** Ann owns acme, Bob is an admin there, Dee an admin who is removed later, Cai deletes their account, Eve owns doomed. */
const people = { owner: 'ann-owner', admin: 'bob-admin', leaver: 'cai-leaver', removed: 'dee-removed', doomedOwner: 'eve-owner' } as const;

interface History {
  db: Firestore;
  restored: Firestore;
  projectId: string;
  app: App;
  auth: RecordingAuth;
  users: UserDirectory;
  restorePoint: Date;
  /** The backup's export (its `.overall_export_metadata` file). */
  backup: string;
  /** The retention run that purged `doomed`, as Cloud Logging keeps it. */
  retentionReport: RetentionReport;
  accountDeps: AccountDeletionDeps;
  purgeDeps: { db: Firestore; clock: () => Date; closeBilling: (orgId: string) => Promise<void> };
}

const now = () => new Date(context.clock.seconds * 1000);
const advance = (seconds: number) => {
  context.clock.seconds += seconds;
};

/** Seeds, backs up, then lives on past the restore point through the real handlers, and loses data. */
async function liveHistory(topic: string): Promise<History> {
  await context.switchProject(topic);
  // The handlers' clock is the wall clock's now, so that their timestamps and Firestore's update times agree.
  context.clock.seconds = Math.floor(Date.now() / 1000);
  const { db } = context;
  const { projectId } = context;
  const app = initializeApp({ projectId }, `${projectId}-restored`);
  const restored = getFirestore(app, RESTORED);

  const auth = new RecordingAuth();
  for (const uid of Object.values(people)) auth.addUser(uid);
  const users: UserDirectory = { existingUids: async (uids) => new Set(uids.filter((uid) => auth.users.has(uid))) };
  const accountDeps: AccountDeletionDeps = {
    db,
    clock: now,
    auth,
    orgDeletion: { graceDays: 7, cancelSubscription: cancelSubscriptionHook(() => context.deps()) },
  };
  const purgeDeps = { db, clock: now, closeBilling: closeBillingHook(() => context.deps()) };

  await seedPrivacyOrg(db, {
    orgId: 'acme',
    now: now(),
    members: [
      { uid: people.owner, role: 'owner' },
      { uid: people.admin, role: 'admin' },
      { uid: people.leaver, role: 'member' },
      { uid: people.removed, role: 'admin' },
    ],
    contacts: 6,
    messagesPerContact: 2,
    invites: 1,
    config: true,
  });
  await db.doc(paths.invite('acme', 'by-dee')).set(
    inviteSchema.parse({
      email: 'friend-of-dee@example.com',
      role: 'admin',
      tokenHash: 'b'.repeat(64),
      invitedBy: people.removed,
      createdAt: Timestamp.fromDate(now()),
      expiresAt: Timestamp.fromMillis(now().getTime() + 7 * DAY_SECONDS * 1000),
    }),
  );
  // Bob, who stays an admin, invites Cai's address: Cai's account deletion withdraws it, recording nothing.
  await db.doc(paths.invite('acme', 'to-cai')).set(
    inviteSchema.parse({
      email: `${people.leaver}@example.com`,
      role: 'admin',
      tokenHash: 'c'.repeat(64),
      invitedBy: people.admin,
      createdAt: Timestamp.fromDate(now()),
      expiresAt: Timestamp.fromMillis(now().getTime() + 7 * DAY_SECONDS * 1000),
    }),
  );
  await seedPrivacyOrg(db, { orgId: 'doomed', now: now(), members: [{ uid: people.doomedOwner, role: 'owner' }], contacts: 3, messagesPerContact: 1 });
  for (const uid of Object.values(people)) await seedUser(db, uid, now(), { consent: uid === people.leaver });
  const acmeCustomer = await linkNewCustomer(context, 'acme');
  const acmeSubscription = context.stripe.addSubscription({ customer: acmeCustomer, price: 'price_team', quantity: 3, status: 'active' });
  expect((await context.send(context.stripe.event('customer.subscription.created', acmeSubscription))).body).toMatchObject({ outcome: 'applied' });
  const doomedCustomer = await linkNewCustomer(context, 'doomed');
  const doomedSubscription = context.stripe.addSubscription({ customer: doomedCustomer, price: 'price_team', quantity: 1, status: 'active' });
  expect((await context.send(context.stripe.event('customer.subscription.created', doomedSubscription))).body).toMatchObject({ outcome: 'applied' });

  // The backup; the restore point is its snapshot time.
  const backup = await backUp(projectId);
  const restorePoint = new Date(Math.max(Date.now(), now().getTime()));
  await restore(projectId, backup, RESTORED);
  advance(3600);

  // After the restore point, through the real handlers.
  const upgraded = context.stripe.updateSubscription(acmeSubscription.id as string, { quantity: 5 });
  expect((await context.send(context.stripe.event('customer.subscription.updated', upgraded))).body).toMatchObject({ outcome: 'applied' });
  await db.doc(paths.config('acme', 'pipeline')).update({ pipelineStages: ['new', 'qualified', 'won'], updatedAt: Timestamp.fromDate(now()) });
  await removeMember({ db, clock: now }, caller(people.owner), { orgId: 'acme', uid: people.removed });
  await eraseContact({ db, clock: now }, caller(people.owner), { orgId: 'acme', contactId: 'contact000001' });
  await requestOrganizationDeletion(
    { db, clock: now, graceDays: 7, cancelSubscription: cancelSubscriptionHook(() => context.deps()) },
    caller(people.doomedOwner),
    { orgId: 'doomed' },
  );
  expect(await deleteMyAccount(accountDeps, caller(people.leaver, { auth_time: Math.floor(now().getTime() / 1000) }), { confirm: true })).toMatchObject({
    status: 'deleted',
  });
  advance(8 * DAY_SECONDS);
  const retentionReport = await runRetention({ ...purgeDeps, resumeAccountDeletion: resumeAccountDeletion(accountDeps) });
  expect(retentionReport.organizations).toEqual([expect.objectContaining({ orgId: 'doomed', outcome: 'purged' })]);

  // The damage: acme's contacts, messages and billing mirror, and one profile, lost.
  await db.recursiveDelete(db.collection(paths.contacts('acme')));
  await db.recursiveDelete(db.collection(paths.messages('acme')));
  await db.doc(paths.subscription('acme')).delete();
  await db.doc(paths.user(people.owner)).delete();

  return { db, restored, projectId, app, auth, users, restorePoint, backup, retentionReport, accountDeps, purgeDeps };
}

/** Every path of the database that names `uid` in its path or data. */
async function tracesOf(db: Firestore, needle: string): Promise<string[]> {
  return [...(await dumpProject(db))].filter(([path, doc]) => path.includes(needle) || JSON.stringify(doc.data).includes(needle)).map(([path]) => path);
}

describe('the restore runbook, rehearsed', () => {
  let history: History;
  afterAll(async () => history && deleteApp(history.app));

  it('copy back into (default): lost data returns, changes after the restore point are reported and kept, nothing deleted returns', async () => {
    history = await liveHistory('restore-copy');
    const { db, restored, users, restorePoint } = history;
    const everything = (await restored.listCollections()).map((collection) => collection.path);
    expect(everything).toEqual(expect.arrayContaining(['orgs', 'users', 'stripeCustomers', 'stripeEvents', 'marketingConsents']));

    // Step 3: copy back, the operator naming everything.
    const dryRun = await copyBack({ source: restored, target: db, guard: new RestoreGuard(db, users, restorePoint) }, { prefixes: everything, dryRun: true });
    const copy = await copyBack({ source: restored, target: db, guard: new RestoreGuard(db, users, restorePoint) }, { prefixes: everything });
    expect(copy.copied).toEqual(dryRun.copied);

    // The lost data is back: the contacts and messages not erased, the profile.
    for (const contactId of ['contact000002', 'contact000003', 'contact000004', 'contact000005']) {
      expect((await db.doc(paths.contact('acme', contactId)).get()).exists).toBe(true);
      expect((await db.doc(paths.message('acme', `${contactId}-m1`)).get()).exists).toBe(true);
    }
    expect(userProfileSchema.parse((await db.doc(paths.user(people.owner)).get()).data()).email).toBe(`${people.owner}@example.com`);

    // What changed after the restore point is reported and kept.
    expect(copy.changed.map((entry) => entry.path)).toContain(paths.config('acme', 'pipeline'));
    expect((await db.doc(paths.config('acme', 'pipeline')).get()).get('pipelineStages')).toEqual(['new', 'qualified', 'won']);
    expect(copy.overwritten).toEqual([]);

    // Nothing deleted after the restore point comes back.
    const refused = new Map(copy.refused.map((entry) => [entry.path, entry.reason]));
    for (const path of [
      paths.org('doomed'),
      paths.contact('doomed', 'contact000000'),
      paths.user(people.leaver),
      paths.member('acme', people.leaver),
      paths.marketingConsent(people.leaver),
      paths.member('acme', people.removed),
      paths.invite('acme', 'by-dee'),
      paths.invite('acme', 'to-cai'),
      paths.contact('acme', 'contact000001'),
      paths.message('acme', 'contact000001-m0'),
    ]) {
      expect((await db.doc(path).get()).exists, path).toBe(false);
      expect(refused.has(path), path).toBe(true);
    }
    expect(await tracesOf(db, 'doomed')).toEqual([paths.deletionReceipt('organization-doomed')]);
    // What acme owns stays, without who did it (P4): the deleted person's uid became a tombstone.
    expect(await tracesOf(db, people.leaver)).toEqual([]);
    expect(tombstoneSchema.safeParse((await db.doc(paths.contact('acme', 'contact000002')).get()).get('createdBy')).success).toBe(true);

    // Running it again changes nothing.
    const again = await copyBack({ source: restored, target: db, guard: new RestoreGuard(db, users, restorePoint) }, { prefixes: everything });
    expect(again.copied).toBe(0);
    expect(again.identical).toBe(copy.identical + copy.copied);

    // Step 4: nothing deleted came back, so nothing is re-applied.
    const reapplied = await reapplyDeletions({ db, users, purge: history.purgeDeps, accounts: history.accountDeps }, { restorePoint });
    expect(reapplied).toMatchObject({ organizations: [{ orgId: 'doomed', outcome: 'absent' }], accounts: { found: 0, erased: 0, failed: [] } });

    // Step 5: the mirror copied back is the one of the restore point; Stripe has 5 seats since.
    expect(await readMirror(db, 'acme')).toMatchObject({ seats: 3 });
    // A page of one customer: every page is walked.
    context.stripe.addCustomer({ email: 'walk-in@example.com' });
    const resync = await resyncAllStripeCustomers(context.deps(), OPERATOR_UID, 1);
    expect(resync.filter((report) => report.error === 'metadata.orgId names no organization')).toHaveLength(1);
    expect(resync.filter((report) => report.error === null).map((report) => report.orgId)).toEqual(['acme']);
    expect(await readMirror(db, 'acme')).toMatchObject({ seats: 5, status: 'active' });
  });

  it('restore into (default) itself: re-applying deletions purges the organization and erases the account again', async () => {
    if (history) await deleteApp(history.app);
    history = await liveHistory('restore-whole');
    const { db, users, restorePoint, projectId } = history;
    // The whole database replaced by the backup: the receipts written since are gone with it.
    await emulatorCall('DELETE', `projects/${projectId}/databases/(default)/documents`);
    await restore(projectId, history.backup, '(default)');
    expect((await db.doc(paths.org('doomed')).get()).exists).toBe(true);
    expect((await db.doc(paths.user(people.leaver)).get()).exists).toBe(true);
    expect(await db.collection(serverCollections.deletionReceipts).get()).toHaveProperty('size', 0);

    // The purged organizations come from the retention reports in the logs.
    const purgedOrgIds = history.retentionReport.organizations.filter((org) => org.outcome === 'purged').map((org) => org.orgId);
    const dryRun = await reapplyDeletions({ db, users, purge: history.purgeDeps, accounts: history.accountDeps }, { restorePoint, purgedOrgIds, dryRun: true });
    expect(dryRun).toMatchObject({ organizations: [{ orgId: 'doomed', outcome: 'would_purge' }], accounts: { found: 1, erased: 0 } });
    expect((await db.doc(paths.org('doomed')).get()).exists).toBe(true);

    const reapplied = await reapplyDeletions({ db, users, purge: history.purgeDeps, accounts: history.accountDeps }, { restorePoint, purgedOrgIds });
    expect(reapplied).toMatchObject({ organizations: [{ orgId: 'doomed', outcome: 'purged' }], accounts: { found: 1, erased: 1, failed: [] } });
    expect(await tracesOf(db, people.leaver)).toEqual([]);
    expect(await tracesOf(db, 'doomed')).toEqual([paths.deletionReceipt('organization-doomed')]);

    // Again: nothing left to do.
    const again = await reapplyDeletions({ db, users, purge: history.purgeDeps, accounts: history.accountDeps }, { restorePoint, purgedOrgIds });
    expect(again).toMatchObject({ organizations: [{ orgId: 'doomed', outcome: 'absent' }], accounts: { found: 0, erased: 0 } });

    // Billing from Stripe: the backup's mirror had 3 seats.
    expect(await readMirror(db, 'acme')).toMatchObject({ seats: 3 });
    await resyncAllStripeCustomers(context.deps(), OPERATOR_UID);
    expect(await readMirror(db, 'acme')).toMatchObject({ seats: 5 });
  });
});
