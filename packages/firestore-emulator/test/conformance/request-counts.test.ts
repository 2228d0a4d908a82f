/**
 * How many times each client request reaches the engine. The SDKs hide their transport retries, so this is
 * checked in-process: the file starts its own offline emulator and counts the calls its engine receives.
 * Specific to ours, so skipped against Google's emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timestamp } from 'firebase-admin/firestore';
import { doc, setDoc } from 'firebase/firestore';
import { startEmulator, type RunningEmulator } from '../../src';
import type { CommitEvent, Database } from '../../src/engine';
import { adminClient, loadRules, offlineEmulator, rejectionOf, uniqueProjectId, webClient } from './support';

type ReadMethod = 'batchGetDocuments' | 'runQuery' | 'runAggregationQuery';

/** Counts the calls of `methods` on one engine database (the server calls the same object for every request). */
function countCalls(database: Database, methods: ReadMethod[]): Record<ReadMethod, number> {
  const counts = { batchGetDocuments: 0, runQuery: 0, runAggregationQuery: 0 };
  const target = database as unknown as Record<ReadMethod, (...args: unknown[]) => unknown>;
  for (const method of methods) {
    const original = target[method].bind(database);
    target[method] = (...args: unknown[]) => {
      counts[method] += 1;
      return original(...args);
    };
  }
  return counts;
}

describe.skipIf(!offlineEmulator)('each request reaches the engine once', () => {
  let emulator: RunningEmulator;
  const previousHost = process.env.FIRESTORE_EMULATOR_HOST;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0 });
    // The helpers in ./support find the emulator through this variable.
    process.env.FIRESTORE_EMULATOR_HOST = `${emulator.host}:${emulator.port}`;
  });
  afterAll(async () => {
    if (previousHost === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
    else process.env.FIRESTORE_EMULATOR_HOST = previousHost;
    await emulator.stop();
  });

  // firebase-admin's server-streaming transport re-sends a request whose error came without response headers
  // (trailers-only), twice, whatever the status code: the server must send headers before the status.
  it('a server-streaming read that fails (BatchGetDocuments, RunQuery, RunAggregationQuery) is not re-sent by firebase-admin', async () => {
    const projectId = uniqueProjectId('conf-counts');
    const counts = countCalls(emulator.engine.database(projectId, '(default)'), ['batchGetDocuments', 'runQuery', 'runAggregationQuery']);
    const admin = adminClient(projectId);
    try {
      const { db } = admin;
      // A read time in the future is refused (INVALID_ARGUMENT), on the transaction's first read.
      const future = { readOnly: true as const, readTime: Timestamp.fromMillis(Date.now() + 3_600_000) };
      const reads = [
        db.runTransaction((tx) => tx.get(db.doc('things/a')), future),
        db.runTransaction((tx) => tx.get(db.collection('things')), future),
        db.runTransaction((tx) => tx.get(db.collection('things').count()), future),
      ];
      for (const read of reads) {
        const failure = await rejectionOf(read);
        expect(failure.code).toBe(3);
        expect(failure.message).toMatch(/read_time .* is in the future/);
      }
      expect(counts).toEqual({ batchGetDocuments: 1, runQuery: 1, runAggregationQuery: 1 });
    } finally {
      await admin.close();
    }
  });

  // The web SDK pipelines its writes on one Write stream (several in flight) and, after a stream error, re-sends
  // those not yet acknowledged on a new stream: a batch must be applied once, and the stream must fail only
  // after the batches before the failing one are applied and before any after it is.
  it('web-SDK writes pipelined on one Write stream are each committed exactly once, in order, even when one is denied', async () => {
    const projectId = uniqueProjectId('conf-counts');
    const rules = `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /items/{id} { allow write: if id != 'denied'; }
  }
}`;
    expect((await loadRules(projectId, rules)).status).toBe(200);
    const events: CommitEvent[] = [];
    emulator.engine.onCommit(projectId, '(default)', (event) => events.push(event));
    const web = webClient(projectId, { user_id: 'writer' });
    try {
      const ids = Array.from({ length: 30 }, (_, index) => (index === 12 ? 'denied' : `item-${String(index).padStart(2, '0')}`));
      const outcomes = await Promise.allSettled(ids.map((id, index) => setDoc(doc(web.db, 'items', id), { index })));
      expect(outcomes.map((outcome) => outcome.status)).toEqual(ids.map((id) => (id === 'denied' ? 'rejected' : 'fulfilled')));
      const allowed = ids.filter((id) => id !== 'denied');
      const committed = events.map((event) => event.changed.map((name) => name.split('/').pop()));
      expect(committed).toEqual(allowed.map((id) => [id]));
    } finally {
      await web.close();
    }
  });
});
