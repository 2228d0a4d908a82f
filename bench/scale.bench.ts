/**
 * Scale (issue 16): how the design grows with the size of an organization and the number of organizations, on the
 * offline emulator with firestore.rules and firestore.indexes.json, and under production's BulkWriter ramp
 * (simulated on a controlled clock, bench/production-ramp.ts).
 *
 * - Members 100 / 1,000 / 10,000: a billing access flip (the grace sweep turning a lapsed organization read-only,
 *   through prepareAccessUpdate) and the member list as the owner's client reads it; reads, writes and rules
 *   lookups of each; and that the next request of the last member is denied after the flip.
 * - Organizations 1,000 / 10,000: one retention run (three expired documents per organization).
 * - A purge of 1M (and 10M, 100M) documents under the production ramp, invocation by invocation, against P5's
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
import { requestOrganizationDeletion } from '../functions/src/privacy/org-deletion';
import { purgeOrganization } from '../functions/src/privacy/org-purge';
import { DEFAULT_RETENTION_BUDGET_MS, runRetention, type RetentionDeps } from '../functions/src/privacy/retention';
import { DAY, START, seedOrg, subscriptionMirror } from '../test/privacy/seed';
import { RulesDecisionReader } from '../test/support/rules';
import { countOperations, installOperationCounter, type Counted } from './operation-counter';
import { DAY_MS, rampSeconds, simulatePurge } from './production-ramp';

const MEMBER_COUNTS = [100, 1_000, 10_000];
const ORG_COUNTS = [1_000, 10_000];
const PURGE_SIZES = [1_000_000, 10_000_000, 100_000_000];
/** Documents of the organization whose real purge gives the page overhead. */
const MEASURED_PURGE_DOCUMENTS = 10_000;
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

interface MemberFigures {
  members: number;
  list: { seconds: number; documents: number; lookups: number };
  flip: Counted<unknown> | { refused: string; seconds: number };
  /** The last member's contact create: allowed before the flip, and after it (must be false). */
  writeAllowedBefore: boolean;
  writeAllowedAfter: boolean;
}

async function benchMembers(emulator: Emulator, members: number): Promise<MemberFigures> {
  const project = newProject(`m${members}`);
  let env: RulesTestEnvironment | null = null;
  try {
    const orgId = `org${members}`;
    const roster = Array.from({ length: members }, (_, i) => ({ uid: `u${String(i).padStart(5, '0')}`, role: i === 0 ? ('owner' as const) : ('member' as const) }));
    await seedOrg(project.db, { orgId, now: START, members: roster });
    // Lapsed 8 days ago, still on full access: the grace sweep's job (grace: 7 days).
    await project.db.doc(paths.subscription(orgId)).set(subscriptionMirror(START, 'past_due', new Date(START.getTime() - 8 * DAY)));

    env = await initializeTestEnvironment({ projectId: project.projectId, firestore: { host: emulator.host, port: emulator.port, rules: rulesText } });
    const owner = env.authenticatedContext(roster[0].uid).firestore() as unknown as ClientFirestore;
    const lastUid = roster[roster.length - 1].uid;
    const last = env.authenticatedContext(lastUid).firestore() as unknown as ClientFirestore;
    const createContact = (id: string) => () =>
      setDoc(doc(last, paths.contact(orgId, id)), { name: 'Ada', status: 'lead', createdBy: lastUid, createdAt: serverTimestamp(), updatedAt: serverTimestamp() });
    const decisions = new RulesDecisionReader(project.projectId);

    await getDocs(collection(owner, paths.contacts(orgId))); // opens the client's channel: not part of the list
    await decisions.next();
    const listStarted = performance.now();
    const listed = await getDocs(collection(owner, paths.members(orgId)));
    const listSeconds = (performance.now() - listStarted) / 1000;
    const listLookups = (await decisions.next()).reduce((sum, decision) => sum + decision.lookups, 0);
    if (listed.size !== members) throw new Error(`the member list returned ${listed.size} of ${members}`);

    const writeAllowedBefore = await allowed(createContact('before'));
    const flipStarted = performance.now();
    let flip: MemberFigures['flip'];
    try {
      flip = await countOperations(() => sweepLapsedGrace({ db: project.db, clock: () => START }));
      const outcome = flip.result as { changed: number };
      if (outcome.changed !== 1) throw new Error(`the sweep changed ${outcome.changed} organizations, not 1`);
    } catch (error) {
      flip = { refused: error instanceof Error ? error.message : String(error), seconds: (performance.now() - flipStarted) / 1000 };
    }
    const writeAllowedAfter = await allowed(createContact('after'));
    return { members, list: { seconds: listSeconds, documents: listed.size, lookups: listLookups }, flip, writeAllowedBefore, writeAllowedAfter };
  } finally {
    await env?.cleanup();
    await project.close();
  }
}

interface RetentionFigures {
  orgs: number;
  run: Counted<Awaited<ReturnType<typeof runRetention>>>;
  /** Deletes of each rule through its own BulkWriter at production's ramp (simulated), summed. */
  rampSeconds: number;
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
      await Promise.all(batch.map((orgId) => seedOrg(project.db, { orgId, now: seededAt, members: [{ uid: `${orgId}-owner`, role: 'owner' }], auditEntries: 2, invites: 1 })));
    }
    const noAccountDeletions = () => Promise.reject(new Error('no account deletion is pending in this benchmark'));
    const deps: RetentionDeps = {
      db: project.db,
      clock: () => START,
      auth: { deleteUser: noAccountDeletions, customClaims: noAccountDeletions },
      bulkWriter: { throttling: false },
      orgDeletion: { graceDays: 7, cancelSubscription: noStripe },
    };
    const run = await countOperations(() => runRetention(deps));
    const expected = orgs * 3;
    const deleted = (run.result.purged.auditLog ?? 0) + (run.result.purged.invites ?? 0);
    if (deleted !== expected || !run.result.complete) throw new Error(`retention deleted ${deleted} of ${expected} (complete: ${run.result.complete})`);
    const rampTotal = rampSeconds(run.result.purged.auditLog ?? 0) + rampSeconds(run.result.purged.invites ?? 0);
    return { orgs, run, rampSeconds: rampTotal };
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
    const outcome = await purgeOrganization({ db: project.db, clock, cancelSubscription: noStripe, bulkWriter: { throttling: false }, onPage: (phase) => {
      if (phase === 'deleted') pages += 1;
    } }, orgId);
    const seconds = (performance.now() - started) / 1000;
    if (outcome.status !== 'purged') throw new Error(`the purge did not complete: ${outcome.status}`);
    return { seconds, pages, documents: outcome.receipt.deletedDocuments };
  } finally {
    await project.close();
  }
}

function printMembers(figures: MemberFigures[]): void {
  console.log('members: billing access flip (grace sweep → read_only) and the member list (owner client)');
  for (const f of figures) {
    const flip =
      'refused' in f.flip
        ? `REFUSED after ${f.flip.seconds.toFixed(2)} s: ${f.flip.refused}`
        : `${f.flip.seconds.toFixed(2)} s, ${count(f.flip.reads)} reads, ${count(f.flip.writes)} writes`;
    console.log(`  ${count(f.members).padStart(6)} members  flip ${flip}`);
    console.log(`  ${''.padStart(6)}          list ${f.list.seconds.toFixed(2)} s, ${count(f.list.documents)} reads, ${f.list.lookups} rules lookup(s)`);
    console.log(`  ${''.padStart(6)}          last member's write: before the flip ${f.writeAllowedBefore ? 'allowed' : 'DENIED'}, next request after it ${f.writeAllowedAfter ? 'ALLOWED' : 'denied'}`);
  }
  const done = figures.filter((f) => !('refused' in f.flip));
  for (let i = 1; i < figures.length; i++) {
    const [small, large] = [figures[i - 1], figures[i]];
    const flipRatio = 'refused' in small.flip || 'refused' in large.flip ? 'n/a (refused)' : ratio(large.flip.seconds, small.flip.seconds);
    console.log(`  ${count(large.members)}/${count(small.members)} time ratio: flip ${flipRatio}, list ${ratio(large.list.seconds, small.list.seconds)}`);
  }
  if (done.length < figures.length) console.log(`  flips refused: ${figures.filter((f) => 'refused' in f.flip).map((f) => count(f.members)).join(', ')} members`);
}

function printRetention(figures: RetentionFigures[]): void {
  console.log('retention run (3 expired documents per organization), throttling off');
  for (const f of figures) {
    console.log(
      `  ${count(f.orgs).padStart(6)} orgs  ${f.run.seconds.toFixed(2)} s, ${count(f.run.reads)} reads, ${count(f.run.writes)} writes; ` +
        `its deletes at production's ramp: ${f.rampSeconds.toFixed(0)} s (budget ${DEFAULT_RETENTION_BUDGET_MS / 1000} s, period 21,600 s)`,
    );
  }
  const [small, large] = figures;
  console.log(`  ${count(large.orgs)}/${count(small.orgs)} ratio: time ${ratio(large.run.seconds, small.run.seconds)}, reads ${ratio(large.run.reads, small.run.reads)}, writes ${ratio(large.run.writes, small.run.writes)}`);
}

function printPurge(measured: { seconds: number; pages: number; documents: number }): void {
  const emulatorOverheadMs = (measured.seconds * 1000) / measured.pages;
  console.log(`purge under production's ramp (simulated; retention schedule: every 6 h, timeout 1,800 s; grace 7 days)`);
  console.log(`  page overhead measured by a real purge of ${count(measured.documents)} documents: ${emulatorOverheadMs.toFixed(1)} ms per page of 500 (${measured.pages} pages)`);
  let previous: number | null = null;
  for (const pageOverheadMs of [emulatorOverheadMs, 1000]) {
    for (const documents of PURGE_SIZES) {
      const timeline = simulatePurge({
        documents,
        pageSize: 500,
        pageOverheadMs,
        timeoutMs: 1800 * 1000,
        periodMs: 6 * 60 * 60 * 1000,
        // Worst case: the grace period ends just after a run.
        firstRunAfterMs: 7 * DAY_MS + 6 * 60 * 60 * 1000,
      });
      const days = timeline.doneAfterMs / DAY_MS;
      const growth = previous === null ? '' : `, ${ratio(timeline.doneAfterMs - 7 * DAY_MS, previous)} the time after the grace period`;
      previous = timeline.doneAfterMs - 7 * DAY_MS;
      console.log(
        `  ${count(documents).padStart(11)} documents, ${pageOverheadMs.toFixed(0).padStart(4)} ms/page: ${timeline.invocations} invocation(s) ` +
          `(the first deletes ${count(timeline.firstInvocationDocuments)}), gone ${days.toFixed(2)} days after the request ${days <= 30 ? '≤' : '>'} 30${growth}`,
      );
    }
    previous = null;
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
