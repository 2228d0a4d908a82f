/**
 * The offline Firestore emulator against `@firestore-emulator/server` (the npm alternative), side by side in one
 * run, through firebase-admin: 1000 sequential set(), 1000 sequential get(), then (ours; theirs where it can)
 * a query returning 10,000 documents and recursiveDelete() of those 10,000 documents (theirs lacks the RPCs
 * recursiveDelete needs, which the table shows as a failure).
 */
import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import { FirestoreServer } from '@firestore-emulator/server';
import { startEmulator } from '../packages/firestore-emulator/src';

const SEQUENTIAL_OPS = 1000;
const LARGE_COLLECTION = 10_000;

interface Contender {
  label: string;
  db: Firestore;
  stop: () => Promise<void>;
}

/** A result in milliseconds, or why the contender could not do it. */
type Outcome = { ms: number } | { failed: string };

/** Sequential timings are taken this many times, alternating the emulators; the best round is reported, which
 *  filters out pauses caused by other processes on a shared machine. */
const ROUNDS = 3;

export async function run(): Promise<void> {
  const ours = await startOurs();
  const theirs = await startTheirs();
  try {
    for (const contender of [ours, theirs]) await warmUp(contender.db);
    const rows: [string, Outcome, Outcome][] = [];
    const sets: [Outcome[], Outcome[]] = [[], []];
    const gets: [Outcome[], Outcome[]] = [[], []];
    for (let round = 0; round < ROUNDS; round++) {
      for (const [index, contender] of [ours, theirs].entries()) {
        sets[index].push(await timed(() => sequentialSets(contender.db)));
        gets[index].push(await timed(() => sequentialGets(contender.db)));
      }
    }
    rows.push([`${SEQUENTIAL_OPS} × set(), sequential (best of ${ROUNDS})`, best(sets[0]), best(sets[1])]);
    rows.push([`${SEQUENTIAL_OPS} × get(), sequential (best of ${ROUNDS})`, best(gets[0]), best(gets[1])]);
    rows.push([`load ${LARGE_COLLECTION} docs (20 batches of 500)`, await timed(() => load(ours.db)), await timed(() => load(theirs.db))]);
    rows.push([`query returning ${LARGE_COLLECTION} docs`, await timed(() => queryAll(ours.db)), await timed(() => queryAll(theirs.db))]);
    rows.push([`recursiveDelete of ${LARGE_COLLECTION} docs (throttling off)`, await timed(() => deleteAll(ours.db)), await timed(() => deleteAll(theirs.db))]);
    printTable(ours.label, theirs.label, rows);
  } finally {
    await ours.stop();
    await theirs.stop();
  }
}

function best(outcomes: Outcome[]): Outcome {
  const times = outcomes.filter((outcome): outcome is { ms: number } => 'ms' in outcome);
  if (times.length < outcomes.length) return outcomes.find((outcome) => 'failed' in outcome)!;
  return { ms: Math.min(...times.map((outcome) => outcome.ms)) };
}

async function startOurs(): Promise<Contender> {
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0 });
  const client = adminFor(`${emulator.host}:${emulator.port}`);
  return {
    label: 'ours',
    db: client.db,
    stop: async () => {
      await client.close();
      await emulator.stop();
    },
  };
}

async function startTheirs(): Promise<Contender> {
  const port = await freePort();
  const server = new FirestoreServer();
  // Its start() binds 0.0.0.0; bind its gRPC server to loopback only, as ours does.
  const grpcServer = (server as unknown as { server: { bindAsync: (address: string, credentials: unknown, callback: (error: Error | null) => void) => void } }).server;
  const { ServerCredentials } = await import('@grpc/grpc-js');
  await new Promise<void>((resolve, reject) =>
    grpcServer.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
  const client = adminFor(`127.0.0.1:${port}`);
  return {
    label: '@firestore-emulator/server',
    db: client.db,
    stop: async () => {
      await client.close();
      server.stop();
    },
  };
}

/** firebase-admin reads FIRESTORE_EMULATOR_HOST when its Firestore is created, so each gets its own. */
function adminFor(host: string): { db: Firestore; close: () => Promise<void> } {
  const previous = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = host;
  try {
    const app = initializeApp({ projectId: `demo-bench-${randomUUID().slice(0, 8)}` }, `bench-${randomUUID()}`);
    const db = getFirestore(app);
    return { db, close: () => deleteApp(app) };
  } finally {
    if (previous === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
    else process.env.FIRESTORE_EMULATOR_HOST = previous;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function warmUp(db: Firestore): Promise<void> {
  for (let i = 0; i < 50; i++) {
    await db.doc(`warmup/w${i}`).set({ i });
    await db.doc(`warmup/w${i}`).get();
  }
}

function sampleDocument(i: number): Record<string, unknown> {
  return { i, name: `customer ${i}`, email: `c${i}@example.com`, tags: ['lead', 'emea'], address: { city: 'Lyon', zip: '69001' } };
}

async function sequentialSets(db: Firestore): Promise<void> {
  for (let i = 0; i < SEQUENTIAL_OPS; i++) await db.doc(`sequential/d${i}`).set(sampleDocument(i));
}

async function sequentialGets(db: Firestore): Promise<void> {
  for (let i = 0; i < SEQUENTIAL_OPS; i++) {
    const snapshot = await db.doc(`sequential/d${i}`).get();
    if (snapshot.get('i') !== i) throw new Error(`get() returned ${JSON.stringify(snapshot.data())} for sequential/d${i}`);
  }
}

/** Batched commits rather than BulkWriter: the other emulator has no BatchWrite, and the query is what we compare. */
async function load(db: Firestore): Promise<void> {
  for (let start = 0; start < LARGE_COLLECTION; start += 500) {
    const batch = db.batch();
    for (let i = start; i < start + 500; i++) batch.set(db.doc(`large/d${String(i).padStart(5, '0')}`), sampleDocument(i));
    await batch.commit();
  }
}

async function queryAll(db: Firestore): Promise<void> {
  const snapshot = await db.collection('large').where('i', '>=', 0).orderBy('i').get();
  if (snapshot.size !== LARGE_COLLECTION) throw new Error(`the query returned ${snapshot.size} documents, not ${LARGE_COLLECTION}`);
}

/** BulkWriter throttling (500 ops/s at first, by default) would measure the client's rate limit, not the emulator. */
async function deleteAll(db: Firestore): Promise<void> {
  await db.recursiveDelete(db.collection('large'), db.bulkWriter({ throttling: false }));
  const left = (await db.collection('large').limit(1).get()).size;
  if (left !== 0) throw new Error('documents remain after recursiveDelete');
}

async function timed(work: () => Promise<void>): Promise<Outcome> {
  const started = performance.now();
  try {
    await work();
    return { ms: performance.now() - started };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { failed: message.split('\n')[0].slice(0, 60) };
  }
}

function printTable(oursLabel: string, theirsLabel: string, rows: [string, Outcome, Outcome][]): void {
  const cell = (outcome: Outcome) => ('ms' in outcome ? `${outcome.ms.toFixed(0)} ms` : `failed: ${outcome.failed}`);
  const ratio = (a: Outcome, b: Outcome) => ('ms' in a && 'ms' in b ? `${(b.ms / a.ms).toFixed(2)}× faster` : 'n/a');
  const table = rows.map(([name, a, b]) => ({ operation: name, [oursLabel]: cell(a), [theirsLabel]: cell(b), 'ours vs theirs': ratio(a, b) }));
  console.table(table);
}
