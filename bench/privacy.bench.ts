/**
 * Purge and export of a 10k- and a 100k-document organization on the offline emulator: documents per second,
 * peak RSS growth of this process, and the 100k/10k time ratio. Targets (issue 7): ≥ 5,000 docs/s, < 100 MB RSS
 * growth, ratio ≤ 12. Peak RSS also counts garbage V8 has not collected yet (it collects lazily on a machine with
 * much memory), so each export is run again in a fresh process with its heap capped well below the size of the
 * organization: it completes only if the export's memory does not grow with the organization. The emulator, the seeding and the export's HTTP client run in child processes, so that this
 * process's RSS is the export and the purge alone.
 *
 * The purge runs with BulkWriter's throttling off: its default (500 ops/s, +50% every 5 minutes, Firestore's
 * ramp-up rule for live traffic) is what production uses and would measure the pacing, not the code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import { handleExportRequest } from '../functions/src/privacy/export';
import { requestOrganizationDeletion } from '../functions/src/privacy/org-deletion';
import { purgeOrganization } from '../functions/src/privacy/org-purge';
import { DAY, START, seedOrg } from '../test/privacy/seed';

const SIZES = [10_000, 100_000];
const MEMBERS = 5;

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** The emulator as its own process, so that this process's RSS is the code under test. */
async function startEmulatorProcess(): Promise<{ host: string; child: ChildProcess }> {
  const cli = join(__dirname, '../packages/firestore-emulator/src/cli.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', cli, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const host = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (\S+:\d+)/.exec(output);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}: ${output}`)));
  });
  return { host, child };
}

/** Runs `work` while sampling RSS; returns its duration and the peak RSS above the level before it. */
async function measure<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number; peakGrowthMb: number }> {
  collectGarbage();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const started = performance.now();
  try {
    const result = await work();
    return { result, seconds: (performance.now() - started) / 1000, peakGrowthMb: (Math.max(peak, process.memoryUsage().rss) - baseline) / 2 ** 20 };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * Exports the organization over HTTP as the owner. The client is curl in a child process, reading as fast as it
 * can, so that this process holds only the export's own memory; awk counts the lines and keeps the last one.
 */
async function exportOrganization(db: Firestore, orgId: string, owner: string): Promise<number> {
  const deps = { db, clock: () => START, verifyIdToken: async () => ({ uid: owner }), verifyAppCheck: null };
  const server = createServer((req, res) => void handleExportRequest(deps, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/?scope=organization&orgId=${orgId}`;
    const client = spawn('sh', ['-c', `curl -sSf -H 'authorization: Bearer bench' '${url}' | awk 'END { print NR; print $0 }'`]);
    let output = '';
    client.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => client.once('exit', resolve));
    const [lines, lastLine] = output.trim().split('\n');
    const trailer = JSON.parse(lastLine ?? '{}') as { complete?: boolean; documents?: number };
    if (code !== 0 || !trailer.complete || trailer.documents !== Number(lines) - 1) throw new Error(`incomplete export: ${output}`);
    return trailer.documents;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

interface Figures {
  size: number;
  exportSeconds: number;
  exportDocs: number;
  exportRssMb: number;
  /** RSS at the end of the same export in a fresh process with a CAPPED_HEAP_MB heap. */
  cappedExportRssMb: number;
  purgeSeconds: number;
  purgeDocs: number;
  purgeRssMb: number;
}

interface SeedJob {
  projectId: string;
  orgId: string;
  size: number;
}

const membersOf = (orgId: string) =>
  Array.from({ length: MEMBERS }, (_, i) => ({ uid: `${orgId}-user${i}`, role: i === 0 ? ('owner' as const) : ('member' as const) }));

/** In the child process: writes the organization (half contacts, half messages). */
async function seedInThisProcess(job: SeedJob): Promise<void> {
  const app = initializeApp({ projectId: job.projectId });
  const contacts = Math.round((job.size - 1 - MEMBERS) / 2);
  await seedOrg(getFirestore(app), { orgId: job.orgId, now: START, members: membersOf(job.orgId), contacts, messagesPerContact: 1 });
  await deleteApp(app);
}

async function seedInChildProcess(job: SeedJob): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename], {
    stdio: 'inherit',
    env: { ...process.env, PRIVACY_BENCH_SEED: JSON.stringify(job) },
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`seeding ${job.size} documents failed (exit ${code})`);
}

/** V8 old-space cap for the export re-run in a child: an export that held the organization in memory would die. */
const CAPPED_HEAP_MB = 48;

interface CappedExportJob {
  projectId: string;
  orgId: string;
  owner: string;
}

/** In the child process: exports with a heap far smaller than the organization, printing the document count. */
async function exportInThisProcess(job: CappedExportJob): Promise<void> {
  const app = initializeApp({ projectId: job.projectId });
  const documents = await exportOrganization(getFirestore(app), job.orgId, job.owner);
  console.log(JSON.stringify({ documents, rssMb: process.memoryUsage().rss / 2 ** 20 }));
  await deleteApp(app);
}

/** Re-runs the export in a fresh process whose heap is capped at CAPPED_HEAP_MB: completing proves constant memory. */
async function exportWithCappedHeap(job: CappedExportJob): Promise<{ documents: number; rssMb: number }> {
  const child = spawn(process.execPath, [`--max-old-space-size=${CAPPED_HEAP_MB}`, '--import', 'tsx', __filename], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PRIVACY_BENCH_CAPPED_EXPORT: JSON.stringify(job) },
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the export under a ${CAPPED_HEAP_MB} MB heap cap failed (exit ${code}): ${output}`);
  return JSON.parse(output.trim().split('\n').pop() ?? '{}') as { documents: number; rssMb: number };
}

async function benchOneSize(size: number): Promise<Figures> {
  const projectId = `demo-bench-privacy-${randomUUID().slice(0, 8)}`;
  const orgId = `bench${size}`;
  await seedInChildProcess({ projectId, orgId, size });
  const app = initializeApp({ projectId }, `bench-privacy-${randomUUID()}`);
  try {
    const db = getFirestore(app);
    const members = membersOf(orgId);

    await db.collection('warmup').limit(1).get(); // Opens the gRPC channel: not part of the export.
    const exported = await measure(() => exportOrganization(db, orgId, members[0].uid));
    const capped = await exportWithCappedHeap({ projectId, orgId, owner: members[0].uid });
    // The first export left its audit entry (P14) in the organization: the second exports exactly one more document.
    if (capped.documents !== exported.result + 1) throw new Error(`capped export returned ${capped.documents} documents, not ${exported.result + 1}`);

    let now = START.getTime();
    const clock = () => new Date(now);
    const noStripe = async () => undefined;
    await requestOrganizationDeletion(
      { db, clock, graceDays: 0, cancelSubscription: noStripe },
      { uid: members[0].uid, email: null, emailVerified: true, claims: {} },
      { orgId },
    );
    now += DAY;
    const purged = await measure(() => purgeOrganization({ db, clock, closeBilling: noStripe, bulkWriter: { throttling: false } }, orgId));
    if (purged.result.status !== 'purged') throw new Error(`purge did not complete: ${purged.result.status}`);
    return {
      size,
      exportSeconds: exported.seconds,
      exportDocs: exported.result,
      exportRssMb: exported.peakGrowthMb,
      cappedExportRssMb: capped.rssMb,
      purgeSeconds: purged.seconds,
      purgeDocs: purged.result.receipt.deletedDocuments,
      purgeRssMb: purged.peakGrowthMb,
    };
  } finally {
    await deleteApp(app);
  }
}

export async function run(): Promise<void> {
  const previousHost = process.env.FIRESTORE_EMULATOR_HOST;
  const emulator = await startEmulatorProcess();
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  try {
    const figures: Figures[] = [];
    for (const size of SIZES) figures.push(await benchOneSize(size));
    const row = (op: string, docs: number, seconds: number, rss: number) =>
      `${op.padEnd(8)} ${String(docs).padStart(7)} docs  ${seconds.toFixed(2).padStart(7)} s  ${Math.round(docs / seconds)
        .toLocaleString('en-US')
        .padStart(7)} docs/s  peak RSS growth ${rss.toFixed(1).padStart(6)} MB`;
    for (const f of figures) {
      console.log(`organization of ${f.size.toLocaleString('en-US')} documents`);
      console.log(`  ${row('export', f.exportDocs, f.exportSeconds, f.exportRssMb)}`);
      console.log(`  ${row('purge', f.purgeDocs, f.purgeSeconds, f.purgeRssMb)}`);
      console.log(`  export again in a fresh process with a ${CAPPED_HEAP_MB} MB heap cap: completed, process RSS ${f.cappedExportRssMb.toFixed(1)} MB`);
    }
    const [small, large] = figures;
    console.log(
      `100k/10k time ratio: export ${(large.exportSeconds / small.exportSeconds).toFixed(1)}, purge ${(large.purgeSeconds / small.purgeSeconds).toFixed(1)}  (target ≤ 12)`,
    );
    console.log('targets: ≥ 5,000 docs/s, < 100 MB peak RSS growth; purge with BulkWriter throttling off (see the header)');
  } finally {
    emulator.child.kill('SIGTERM');
    if (previousHost === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
    else process.env.FIRESTORE_EMULATOR_HOST = previousHost;
  }
}

if (require.main === module && (process.env.PRIVACY_BENCH_SEED || process.env.PRIVACY_BENCH_CAPPED_EXPORT)) {
  const job = process.env.PRIVACY_BENCH_SEED
    ? seedInThisProcess(JSON.parse(process.env.PRIVACY_BENCH_SEED) as SeedJob)
    : exportInThisProcess(JSON.parse(process.env.PRIVACY_BENCH_CAPPED_EXPORT as string) as CappedExportJob);
  job.catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
