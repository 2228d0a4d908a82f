/**
 * The offline Firestore emulator against `@firestore-emulator/server` (the npm alternative), side by side in one
 * run, through firebase-admin: 1000 sequential set() and get(), loading 10,000 documents, a query returning them
 * and recursiveDelete() of them (theirs lacks the RPCs recursiveDelete needs; the table shows the failure).
 *
 * For set() and get() a third column shows the floor: a gRPC server that answers with canned bytes and does no
 * work. No emulator can beat it, so `theirs / floor` bounds the ratio any emulator could reach on those rows.
 */
import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import { FirestoreServer } from '@firestore-emulator/server';
import { startEmulator } from '../packages/firestore-emulator/src';

const SEQUENTIAL_OPS = 1000;
const LARGE_COLLECTION = 10_000;
/** Sequential timings are taken this many times, alternating the servers; the best round is reported, which
 *  filters out pauses caused by other processes on a shared machine. */
const ROUNDS = 3;

interface Server {
  db: Firestore;
  stop: () => Promise<void>;
}

/** A result in milliseconds, or why the server could not do it. */
type Outcome = { ms: number } | { failed: string };

export async function run(): Promise<void> {
  const ours = await startOurs();
  const theirs = await startTheirs();
  const floor = await startFloor();
  try {
    const sequential = [ours, theirs, floor];
    for (const server of sequential) await warmUp(server.db);
    const sets: Outcome[][] = sequential.map(() => []);
    const gets: Outcome[][] = sequential.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [index, server] of sequential.entries()) {
        sets[index].push(await timed(() => sequentialSets(server.db)));
        gets[index].push(await timed(() => sequentialGets(server.db)));
      }
    }
    const notApplicable: Outcome = { failed: 'n/a' };
    const rows: [string, Outcome, Outcome, Outcome][] = [
      [`${SEQUENTIAL_OPS} × set(), sequential (best of ${ROUNDS})`, ...(sets.map(best) as [Outcome, Outcome, Outcome])],
      [`${SEQUENTIAL_OPS} × get(), sequential (best of ${ROUNDS})`, ...(gets.map(best) as [Outcome, Outcome, Outcome])],
      [`load ${LARGE_COLLECTION} docs (20 batches of 500)`, await timed(() => load(ours.db)), await timed(() => load(theirs.db)), notApplicable],
      [`query returning ${LARGE_COLLECTION} docs`, await timed(() => queryAll(ours.db)), await timed(() => queryAll(theirs.db)), notApplicable],
      [
        `recursiveDelete of ${LARGE_COLLECTION} docs (throttling off)`,
        await timed(() => deleteAll(ours.db)),
        await timed(() => deleteAll(theirs.db)),
        notApplicable,
      ],
    ];
    printTable(rows);
  } finally {
    for (const server of [ours, theirs, floor]) await server.stop();
  }
}

function best(outcomes: Outcome[]): Outcome {
  const failure = outcomes.find((outcome) => 'failed' in outcome);
  if (failure) return failure;
  return { ms: Math.min(...outcomes.map((outcome) => (outcome as { ms: number }).ms)) };
}

async function startOurs(): Promise<Server> {
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0 });
  const client = adminFor(`${emulator.host}:${emulator.port}`);
  return {
    db: client.db,
    stop: async () => {
      await client.close();
      await emulator.stop();
    },
  };
}

async function startTheirs(): Promise<Server> {
  const server = new FirestoreServer();
  // Its start() binds 0.0.0.0; bind its gRPC server to loopback only, as ours does.
  const grpcServer = (server as unknown as { server: grpc.Server }).server;
  const port = await bindLoopback(grpcServer);
  const client = adminFor(`127.0.0.1:${port}`);
  return {
    db: client.db,
    stop: async () => {
      await client.close();
      server.stop();
    },
  };
}

/** Answers Commit and BatchGetDocuments with fixed documents, doing nothing else. */
async function startFloor(): Promise<Server> {
  const protos = protobuf.Root.fromJSON(require('@google-cloud/firestore/build/protos/v1.json') as protobuf.INamespace);
  const encode = (typeName: string, message: object) => {
    const type = protos.lookupType(typeName);
    return Buffer.from(type.encode(type.fromObject(message)).finish());
  };
  const batchGetRequest = protos.lookupType('google.firestore.v1.BatchGetDocumentsRequest');
  const time = { seconds: '1700000000', nanos: 0 };
  const commitResponse = encode('google.firestore.v1.CommitResponse', { writeResults: [{ updateTime: time }], commitTime: time });
  const bytes = (value: Buffer) => value;
  const method = (name: string, responseStream: boolean) => ({
    path: `/google.firestore.v1.Firestore/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: bytes,
    requestDeserialize: bytes,
    responseSerialize: bytes,
    responseDeserialize: bytes,
  });
  const server = new grpc.Server();
  server.addService(
    { Commit: method('Commit', false), BatchGetDocuments: method('BatchGetDocuments', true) },
    {
      Commit: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, commitResponse),
      BatchGetDocuments: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        const [name] = (batchGetRequest.decode(call.request) as unknown as { documents: string[] }).documents;
        const i = Number(name.slice(name.lastIndexOf('/d') + 2));
        call.write(
          encode('google.firestore.v1.BatchGetDocumentsResponse', {
            found: { name, fields: { i: { integerValue: String(i) } }, createTime: time, updateTime: time },
            readTime: time,
          }),
        );
        call.end();
      },
    },
  );
  const port = await bindLoopback(server);
  const client = adminFor(`127.0.0.1:${port}`);
  return {
    db: client.db,
    stop: async () => {
      await client.close();
      server.forceShutdown();
    },
  };
}

async function bindLoopback(server: grpc.Server): Promise<number> {
  const port = await freePort();
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
  return port;
}

/** firebase-admin reads FIRESTORE_EMULATOR_HOST when its Firestore is created, so each gets its own. */
function adminFor(host: string): { db: Firestore; close: () => Promise<void> } {
  const previous = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = host;
  try {
    const app = initializeApp({ projectId: `demo-bench-${randomUUID().slice(0, 8)}` }, `bench-${randomUUID()}`);
    return { db: getFirestore(app), close: () => deleteApp(app) };
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
    await db.doc(`sequential/d${i}`).set(sampleDocument(i));
    await db.doc(`sequential/d${i}`).get();
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

function printTable(rows: [string, Outcome, Outcome, Outcome][]): void {
  const cell = (outcome: Outcome) => ('ms' in outcome ? `${outcome.ms.toFixed(0)} ms` : outcome.failed === 'n/a' ? 'n/a' : `failed: ${outcome.failed}`);
  const ratio = (slow: Outcome, fast: Outcome) => ('ms' in slow && 'ms' in fast ? `${(slow.ms / fast.ms).toFixed(2)}×` : 'n/a');
  console.table(
    rows.map(([operation, ours, theirs, floor]) => ({
      operation,
      ours: cell(ours),
      '@firestore-emulator/server': cell(theirs),
      'theirs / ours': ratio(theirs, ours),
      'floor (no-op server)': cell(floor),
      'theirs / floor (best possible)': ratio(theirs, floor),
    })),
  );
}
