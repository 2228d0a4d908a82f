/**
 * Scale (issue 16): how the design grows with the size of an organization and the number of organizations, on the
 * offline emulator with firestore.rules and firestore.indexes.json, and under production's BulkWriter ramp
 * (simulated on a controlled clock, test/support/production-ramp.ts).
 *
 * - Members 100 / 1,000 / 10,000: a billing access flip (the grace sweep turning a lapsed organization read-only,
 *   through prepareAccessUpdate) and the member list as the owner's client reads it; reads, writes and rules
 *   lookups of each; and that the next request of the last member is denied after the flip.
 * - Organizations 1,000 / 10,000: one retention run (three expired documents per organization).
 * - A purge of 100k, 1M and 10M documents under the production ramp, invocation by invocation, against P5's
 *   30 days; the page overhead is measured here by a real purge.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import { initializeTestEnvironment, type RulesTestEnvironment } from '@firebase/rules-unit-testing';
import { collection, doc, getDocs, serverTimestamp, setDoc, setLogLevel, type Firestore as ClientFirestore } from 'firebase/firestore';
import { startEmulator } from '@leadpulse/firestore-emulator';
import { paths } from '@leadpulse/model';
import { sweepLapsedGrace } from '../functions/src/billing/grace-sweep';
import { acceptInvitation, inviteMember, revokeInvitation } from '../functions/src/orgs/invitations';
import { changeRole, leaveOrganization, removeMember, transferOwnership } from '../functions/src/orgs/members';
import { cancelOrganizationDeletion, requestOrganizationDeletion } from '../functions/src/privacy/org-deletion';
import { DEFAULT_PAGE_SIZE } from '../functions/src/common/bulk';
import { purgeOrganization } from '../functions/src/privacy/org-purge';
import { DEFAULT_RETENTION_BUDGET_MS, retentionTable, runRetention, type RetentionDeps } from '../functions/src/privacy/retention';
import { DAY, START, seedOrg, subscriptionMirror } from '../test/privacy/seed';
import { RulesDecisionReader } from '../test/support/rules';
import { countOperations, installOperationCounter, type Counted } from '../test/support/operation-counter';
import { DAY_MS, rampSeconds, simulatePurge } from '../test/support/production-ramp';

const MEMBER_COUNTS = [100, 1_000, 10_000];
const ORG_COUNTS = [1_000, 10_000];
const PURGE_SIZES = [100_000, 1_000_000, 10_000_000];
/** Documents of the organization whose real purge gives the page overhead. */
const MEASURED_PURGE_DOCUMENTS = 10_000;
/** The organizations rule is the first of the retention table: an equal share of the whole budget. */
const PURGE_SHARE_MS = DEFAULT_RETENTION_BUDGET_MS / retentionTable.length;
const RUN_PERIOD_MS = 6 * 60 * 60 * 1000;
const GRACE_MS = 7 * DAY_MS;
const rulesText = readFileSync(join(__dirname, '..', 'firestore.rules'), 'utf8');
const noStripe = async (): Promise<undefined> => undefined;

interface Emulator {
  host: string;
  port: number;
}

const ratio = (large: number, small: number): string => (small > 0 ? `${(large / small).toFixed(1)}×` : 'n/a');
const count = (n: number): string => n.toLocaleString('en-US');

function newProject(topic: string): { projectId: string; db: Firestore; close: () => Promise<void> } {
  const projectId = `demo-bench-scale-${topic}-${randomUUID().slice(0, 8)}`;
  const app = initializeApp({ projectId }, `bench-scale-${randomUUID()}`);
  return { projectId, db: getFirestore(app), close: () => deleteApp(app) };
}

/** Whether a client call was allowed; anything but PERMISSION_DENIED is a failure of the benchmark. */
async function allowed(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'permission-denied') return false;
    throw error;
  }
}

/** What one operation cost at one organization size: server reads/writes, or a client request's rules lookups. */
interface OperationCost {
  seconds: number;
  reads: number;
  writes: number;
  /** Client requests only: document lookups the rules made. */
  lookups?: number;
}

interface MemberFigures {
  members: number;
  /** By operation, in the order they ran. */
  costs: Map<string, OperationCost>;
  /** The last member's next request after each access change: what the contract says it must be. */
  immediacy: { change: string; request: string; allowed: boolean; expected: boolean }[];
}

const callerOf = (uid: string) => ({ uid, email: `${uid}@example.com`, emailVerified: true, claims: {} });

async function benchMembers(emulator: Emulator, members: number): Promise<MemberFigures> {
  const project = newProject(`m${members}`);
  const { db } = project;
  let env: RulesTestEnvironment | null = null;
  try {
    const orgId = `org${members}`;
    const roster = Array.from({ length: members }, (_, i) => ({
      uid: `u${String(i).padStart(5, '0')}`,
      role: i === 0 ? ('owner' as const) : ('member' as const),
    }));
    await seedOrg(db, { orgId, now: START, members: roster });
    // Lapsed 8 days ago, still on full access: the grace sweep's job (grace: 7 days). Seats for every member and a few invitations.
    await db.doc(paths.subscription(orgId)).set({ ...subscriptionMirror(START, 'past_due', new Date(START.getTime() - 8 * DAY)), seats: members + 10 });

    env = await initializeTestEnvironment({ projectId: project.projectId, firestore: { host: emulator.host, port: emulator.port, rules: rulesText } });
    const ownerUid = roster[0].uid;
    const lastUid = roster[roster.length - 1].uid;
    const owner = env.authenticatedContext(ownerUid).firestore() as unknown as ClientFirestore;
    const last = env.authenticatedContext(lastUid).firestore() as unknown as ClientFirestore;
    const decisions = new RulesDecisionReader(project.projectId);
    const costs = new Map<string, OperationCost>();
    const immediacy: MemberFigures['immediacy'] = [];

    const server = async <T>(operation: string, action: () => Promise<T>): Promise<T> => {
      const counted = await countOperations(action);
      costs.set(operation, { seconds: counted.seconds, reads: counted.reads, writes: counted.writes });
      return counted.result;
    };
    /** A client request: its time, the documents it read or wrote and the rules lookups it made; whether allowed. */
    const client = async (operation: string, kind: 'read' | 'write', action: () => Promise<number>): Promise<boolean> => {
      await decisions.next();
      const started = performance.now();
      let documents = 0;
      const isAllowed = await allowed(async () => (documents = await action()));
      const seconds = (performance.now() - started) / 1000;
      const lookups = (await decisions.next()).reduce((sum, decision) => sum + decision.lookups, 0);
      costs.set(operation, { seconds, reads: kind === 'read' ? documents : 0, writes: kind === 'write' ? documents : 0, lookups });
      return isAllowed;
    };
    const listMembers = async () => (await getDocs(collection(owner, paths.members(orgId)))).size;
    const createContact = (id: string) => async () => {
      await setDoc(doc(last, paths.contact(orgId, id)), {
        name: 'Ada',
        status: 'lead',
        createdBy: lastUid,
        createdAt: serverTimestamp(),
        updatedAt: serverTimestamp(),
      });
      return 1;
    };
    const readContacts = async () => (await getDocs(collection(last, paths.contacts(orgId)))).size;
    const check = (change: string, request: string, isAllowed: boolean, expected: boolean) => immediacy.push({ change, request, allowed: isAllowed, expected });

    await getDocs(collection(owner, paths.contacts(orgId))); // opens the client's channel: not part of the figures
    const listed = await client('client: list members (owner)', 'read', listMembers);
    if (!listed || costs.get('client: list members (owner)')?.reads !== members) throw new Error(`the owner could not list the ${members} members`);
    check('none', 'create a contact', await client('client: create a contact', 'write', createContact('before')), true);

    await server('billing: grace sweep flips access to read_only', async () => {
      const outcome = await sweepLapsedGrace({ db, clock: () => START });
      if (outcome.changed !== 1) throw new Error(`the sweep changed ${outcome.changed} organizations, not 1: ${JSON.stringify(outcome.skipped)}`);
    });
    check('grace sweep → read_only', 'create a contact', await allowed(createContact('after-lapse')), false);
    check('grace sweep → read_only', 'list contacts', await allowed(readContacts), true);

    const membership = { db, clock: () => START };
    await server('changeRole (owner: member → viewer)', () => changeRole(membership, callerOf(ownerUid), { orgId, uid: roster[1].uid, role: 'viewer' }));
    const invite = (email: string) =>
      inviteMember({ ...membership, inviteTtlDays: 7, maxPendingInvites: 100 }, callerOf(ownerUid), { orgId, email, role: 'member' });
    const invitation = await server('inviteMember (owner)', () => invite('newcomer@example.com'));
    await server('acceptInvitation', () =>
      acceptInvitation(membership, callerOf('newcomer'), { orgId, inviteId: invitation.inviteId, token: invitation.token }),
    );
    const revoked = await invite('revoked@example.com');
    await server('revokeInvitation (owner)', () => revokeInvitation(membership, callerOf(ownerUid), { orgId, inviteId: revoked.inviteId }));
    await server('removeMember (owner)', () => removeMember(membership, callerOf(ownerUid), { orgId, uid: roster[2].uid }));
    await server('leaveOrganization', () => leaveOrganization(membership, callerOf(roster[3].uid), { orgId }));
    await changeRole(membership, callerOf(ownerUid), { orgId, uid: roster[4].uid, role: 'admin' });
    await server('transferOwnership (to an admin)', () =>
      transferOwnership({ ...membership, maxOrgsPerOwner: 5 }, callerOf(ownerUid), { orgId, newOwnerUid: roster[4].uid }),
    );
    await transferOwnership({ ...membership, maxOrgsPerOwner: 5 }, callerOf(roster[4].uid), { orgId, newOwnerUid: ownerUid });

    const deletion = { db, clock: () => START, graceDays: 7, cancelSubscription: noStripe };
    await server('requestOrganizationDeletion', () => requestOrganizationDeletion(deletion, callerOf(ownerUid), { orgId }));
    check('deletion requested → none', 'list contacts', await allowed(readContacts), false);
    await server('cancelOrganizationDeletion', () =>
      cancelOrganizationDeletion({ db, clock: () => START, reconcileBilling: async () => 0, maxOrgsPerOwner: 5 }, callerOf(ownerUid), { orgId }),
    );
    // Restored from the billing mirror: still lapsed past its grace, so read-only.
    check('deletion cancelled → read_only', 'list contacts', await allowed(readContacts), true);
    return { members, costs, immediacy };
  } finally {
    await env?.cleanup();
    await project.close();
  }
}

interface RetentionFigures {
  orgs: number;
  run: Counted<Awaited<ReturnType<typeof runRetention>>>;
  /** The slowest rule's deletes through its own BulkWriter at production's ramp (simulated). */
  slowestRuleRampSeconds: number;
}

async function benchRetention(orgs: number): Promise<RetentionFigures> {
  const project = newProject(`r${orgs}`);
  try {
    // Each organization: 2 audit entries 200 days old (past 180) and an invitation expired 193 days ago (past 7),
    // to be deleted; the organization and its owner's member document stay.
    const seededAt = new Date(START.getTime() - 200 * DAY);
    const parallel = 16;
    for (let first = 0; first < orgs; first += parallel) {
      const batch = Array.from({ length: Math.min(parallel, orgs - first) }, (_, i) => `org${String(first + i).padStart(5, '0')}`);
      await Promise.all(
        batch.map((orgId) => seedOrg(project.db, { orgId, now: seededAt, members: [{ uid: `${orgId}-owner`, role: 'owner' }], auditEntries: 2, invites: 1 })),
      );
    }
    const deps: RetentionDeps = {
      db: project.db,
      clock: () => START,
      resumeAccountDeletion: () => Promise.reject(new Error('no account deletion is pending in this benchmark')),
      bulkWriter: { throttling: false },
      closeBilling: noStripe,
    };
    const run = await countOperations(() => runRetention(deps));
    const expected = orgs * 3;
    const deleted = (run.result.purged.auditLog ?? 0) + (run.result.purged.invites ?? 0);
    if (deleted !== expected || !run.result.complete) throw new Error(`retention deleted ${deleted} of ${expected} (complete: ${run.result.complete})`);
    const slowest = Math.max(...Object.values(run.result.purged).map((deletes) => rampSeconds(deletes)));
    return { orgs, run, slowestRuleRampSeconds: slowest };
  } finally {
    await project.close();
  }
}

/** A real purge of MEASURED_PURGE_DOCUMENTS documents, throttling off: the time per page that is not pacing. */
async function measurePageOverhead(): Promise<{ seconds: number; pages: number; documents: number }> {
  const project = newProject('purge');
  try {
    const orgId = 'purged';
    const members = [{ uid: 'purged-owner', role: 'owner' as const }];
    await seedOrg(project.db, { orgId, now: START, members, contacts: MEASURED_PURGE_DOCUMENTS / 2 - 1, messagesPerContact: 1 });
    let now = START.getTime();
    const clock = () => new Date(now);
    await requestOrganizationDeletion(
      { db: project.db, clock, graceDays: 0, cancelSubscription: noStripe },
      { uid: members[0].uid, email: null, emailVerified: true, claims: {} },
      { orgId },
    );
    now += DAY;
    let pages = 0;
    const started = performance.now();
    const outcome = await purgeOrganization(
      {
        db: project.db,
        clock,
        closeBilling: noStripe,
        bulkWriter: { throttling: false },
        onPage: (phase) => {
          if (phase === 'deleted') pages += 1;
        },
      },
      orgId,
    );
    const seconds = (performance.now() - started) / 1000;
    if (outcome.status !== 'purged') throw new Error(`the purge did not complete: ${outcome.status}`);
    return { seconds, pages, documents: outcome.receipt.deletedDocuments };
  } finally {
    await project.close();
  }
}

function printMembers(figures: MemberFigures[]): void {
  const sizes = figures.map((f) => count(f.members));
  console.log(`cost per operation by member count (${sizes.join(' / ')}): reads, writes [, rules lookups], time; growth = time ratio`);
  for (const operation of figures[0].costs.keys()) {
    const cells = figures.map((f) => {
      const cost = f.costs.get(operation);
      if (!cost) return 'n/a';
      const lookups = cost.lookups === undefined ? '' : ` ${cost.lookups}L`;
      return `${count(cost.reads)}r ${count(cost.writes)}w${lookups} ${cost.seconds.toFixed(2)}s`;
    });
    const times = figures.map((f) => f.costs.get(operation)?.seconds ?? 0);
    const growth = times
      .slice(1)
      .map((time, i) => ratio(time, times[i]))
      .join(', ');
    console.log(`  ${operation.padEnd(48)} ${cells.map((cell) => cell.padEnd(26)).join('')}growth ${growth}`);
  }
  for (const f of figures) {
    const wrong = f.immediacy.filter((check) => check.allowed !== check.expected);
    const checks = f.immediacy.map((check) => `${check.change}: ${check.request} ${check.allowed ? 'allowed' : 'denied'}`);
    if (wrong.length === 0)
      console.log(`  ${count(f.members)} members: the last member's next request after each access change is as the contract says (${checks.length} checks)`);
    else {
      console.log(`  ${count(f.members)} members: NOT AS THE CONTRACT SAYS: ${checks.join('; ')}`);
      process.exitCode = 1;
    }
  }
  if (figures.length > 0)
    console.log(`  checks: ${figures[0].immediacy.map((check) => `${check.change} → ${check.request} ${check.expected ? 'allowed' : 'denied'}`).join('; ')}`);
}

function printRetention(figures: RetentionFigures[]): void {
  console.log('retention run (3 expired documents per organization), throttling off');
  for (const f of figures) {
    console.log(
      `  ${count(f.orgs).padStart(6)} orgs  ${f.run.seconds.toFixed(2)} s, ${count(f.run.reads)} reads, ${count(f.run.writes)} writes; ` +
        `at production's ramp the slowest rule needs ${f.slowestRuleRampSeconds.toFixed(0)} s (its share of the budget: ≥ ${(PURGE_SHARE_MS / 1000).toFixed(0)} s)`,
    );
  }
  const [small, large] = figures;
  console.log(
    `  ${count(large.orgs)}/${count(small.orgs)} ratio: time ${ratio(large.run.seconds, small.run.seconds)}, reads ${ratio(large.run.reads, small.run.reads)}, writes ${ratio(large.run.writes, small.run.writes)}`,
  );
}

function purgeTimeline(documents: number, pageOverheadMs: number) {
  return simulatePurge({
    documents,
    pageSize: DEFAULT_PAGE_SIZE,
    pageOverheadMs,
    budgetMs: PURGE_SHARE_MS,
    periodMs: RUN_PERIOD_MS,
    // Worst case: the grace period ends just after a run.
    firstRunAfterMs: GRACE_MS + RUN_PERIOD_MS,
  });
}

/** The largest organization (to 10,000 documents) whose purge is done within P5's 30 days. */
function largestWithin30Days(pageOverheadMs: number): number {
  let [fits, fails] = [0, 100_000_000];
  while (fails - fits > 10_000) {
    const middle = Math.round((fits + fails) / 2 / 10_000) * 10_000;
    if (purgeTimeline(middle, pageOverheadMs).doneAfterMs <= 30 * DAY_MS) fits = middle;
    else fails = middle;
  }
  return fits;
}

function printPurge(measured: { seconds: number; pages: number; documents: number }): void {
  const emulatorOverheadMs = (measured.seconds * 1000) / measured.pages;
  console.log(
    `purge under production's ramp (simulated): a run every 6 h, the purge pausing after its share of the retention budget ` +
      `(${(PURGE_SHARE_MS / 1000).toFixed(0)} s of ${DEFAULT_RETENTION_BUDGET_MS / 1000} s), a fresh BulkWriter (500 ops/s) per run, grace 7 days`,
  );
  console.log(
    `  page overhead measured by a real purge of ${count(measured.documents)} documents: ${emulatorOverheadMs.toFixed(1)} ms per page of 500 (${measured.pages} pages)`,
  );
  for (const pageOverheadMs of [emulatorOverheadMs, 1000]) {
    let previous: number | null = null;
    for (const documents of PURGE_SIZES) {
      const timeline = purgeTimeline(documents, pageOverheadMs);
      const days = timeline.doneAfterMs / DAY_MS;
      const afterGrace = timeline.doneAfterMs - GRACE_MS;
      const growth = previous === null ? '' : `; time after the grace period ${ratio(afterGrace, previous)} the previous size's`;
      previous = afterGrace;
      console.log(
        `  ${count(documents).padStart(11)} documents, ${pageOverheadMs.toFixed(0).padStart(4)} ms/page: ${count(timeline.invocations)} run(s) ` +
          `(${count(timeline.firstInvocationDocuments)} per run), gone ${days.toFixed(1)} days after the request ${days <= 30 ? '≤' : '> (P5 BROKEN)'} 30${growth}`,
      );
    }
    console.log(`  largest organization gone within 30 days at ${pageOverheadMs.toFixed(0)} ms/page: ${count(largestWithin30Days(pageOverheadMs))} documents`);
  }
}

export async function run(): Promise<void> {
  setLogLevel('silent');
  const previousHost = process.env.FIRESTORE_EMULATOR_HOST;
  const emulator = await startEmulator({
    host: '127.0.0.1',
    port: 0,
    rulesFile: join(__dirname, '..', 'firestore.rules'),
    indexesFile: join(__dirname, '..', 'firestore.indexes.json'),
  });
  process.env.FIRESTORE_EMULATOR_HOST = `${emulator.host}:${emulator.port}`;
  installOperationCounter();
  try {
    const members: MemberFigures[] = [];
    for (const size of MEMBER_COUNTS) members.push(await benchMembers(emulator, size));
    printMembers(members);
    const retention: RetentionFigures[] = [];
    for (const size of ORG_COUNTS) retention.push(await benchRetention(size));
    printRetention(retention);
    printPurge(await measurePageOverhead());
  } finally {
    await emulator.stop();
    if (previousHost === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
    else process.env.FIRESTORE_EMULATOR_HOST = previousHost;
  }
}
