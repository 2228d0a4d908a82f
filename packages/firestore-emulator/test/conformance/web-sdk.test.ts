/**
 * The `firebase` web SDK in Node: getDoc/getDocs go through Listen, setDoc/updateDoc/deleteDoc and batches
 * through the Write stream (handshake, stream tokens, one response per batch), runTransaction optimistically:
 * BatchGetDocuments without a transaction, then one Commit whose preconditions (on the written documents, and
 * `verify` writes for those only read) fail if anything read has changed since.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Firestore as AdminFirestore } from 'firebase-admin/firestore';
import {
  collection,
  deleteDoc,
  deleteField,
  doc,
  getDoc,
  getDocs,
  increment,
  orderBy,
  query,
  runTransaction,
  serverTimestamp,
  setDoc,
  Timestamp,
  updateDoc,
  where,
  writeBatch,
  type Firestore,
} from 'firebase/firestore';
import { adminClient, rejectionOf, uniqueProjectId, webClient } from './support';
import { present } from '../present';

const projectId = uniqueProjectId('conf-web');
let admin: AdminFirestore;
let db: Firestore;
const closers: (() => Promise<void>)[] = [];

beforeAll(() => {
  const adminSide = adminClient(projectId);
  const webSide = webClient(projectId, 'owner');
  admin = adminSide.db;
  db = webSide.db;
  closers.push(webSide.close, adminSide.close);
});
afterAll(async () => {
  for (const close of closers) await close();
});

describe('reads (Listen)', () => {
  it('getDoc reads an existing and a missing document', async () => {
    await admin.doc('web/read').set({ v: 'from admin' });
    expect((await getDoc(doc(db, 'web/read'))).data()).toEqual({ v: 'from admin' });
    expect((await getDoc(doc(db, 'web/absent'))).exists()).toBe(false);
  });

  it('getDocs runs a query', async () => {
    await admin.doc('webq/a').set({ n: 1 });
    await admin.doc('webq/b').set({ n: 2 });
    await admin.doc('webq/c').set({ n: 3 });
    const snapshot = await getDocs(query(collection(db, 'webq'), where('n', '>=', 2), orderBy('n', 'desc')));
    expect(snapshot.docs.map((d) => d.id)).toEqual(['c', 'b']);
  });
});

describe('writes (the Write stream)', () => {
  it('setDoc, updateDoc with transforms and field deletes, deleteDoc', async () => {
    const ref = doc(db, 'webw/doc');
    await setDoc(ref, { a: 1, b: 2, count: 1 });
    expect((await admin.doc('webw/doc').get()).data()).toEqual({ a: 1, b: 2, count: 1 });
    await updateDoc(ref, { b: deleteField(), count: increment(4), at: serverTimestamp() });
    const stored = present((await admin.doc('webw/doc').get()).data(), 'webw/doc');
    expect(stored.a).toBe(1);
    expect(stored.b).toBeUndefined();
    expect(stored.count).toBe(5);
    expect(stored.at).toBeInstanceOf(Object);
    await setDoc(ref, { replaced: true });
    expect((await admin.doc('webw/doc').get()).data()).toEqual({ replaced: true });
    await deleteDoc(ref);
    expect((await admin.doc('webw/doc').get()).exists).toBe(false);
  });

  it('many writes in a row keep their order on one stream', async () => {
    const ref = doc(db, 'webw/sequence');
    const writes: Promise<void>[] = [];
    for (let i = 1; i <= 20; i++) writes.push(setDoc(ref, { i }));
    await Promise.all(writes);
    expect((await admin.doc('webw/sequence').get()).get('i')).toBe(20);
  });

  it('a batch is atomic', async () => {
    const batch = writeBatch(db);
    batch.set(doc(db, 'webw/b1'), { v: 1 });
    batch.set(doc(db, 'webw/b2'), { v: 2 });
    await batch.commit();
    const [b1, b2] = await admin.getAll(admin.doc('webw/b1'), admin.doc('webw/b2'));
    expect(present(b1.updateTime, 'update time').isEqual(present(b2.updateTime, 'update time'))).toBe(true);
  });

  it('a failed write rejects its promise and the stream keeps working', async () => {
    const error = await rejectionOf(updateDoc(doc(db, 'webw/never-created'), { v: 1 }));
    expect(error.code).toBe('not-found');
    await setDoc(doc(db, 'webw/after-failure'), { ok: true });
    expect((await admin.doc('webw/after-failure').get()).get('ok')).toBe(true);
  });

  it('timestamps written by the web SDK read back exactly', async () => {
    const at = new Timestamp(1_700_000_000, 123_456_000);
    await setDoc(doc(db, 'webw/time'), { at });
    expect(((await admin.doc('webw/time').get()).get('at') as { nanoseconds: number }).nanoseconds).toBe(123_456_000);
  });
});

describe('transactions (BatchGetDocuments, then Commit with preconditions)', () => {
  it('runTransaction reads and writes, and ten concurrent increments end at 10', async () => {
    const ref = doc(db, 'webt/counter');
    await setDoc(ref, { value: 0 });
    await Promise.all(
      Array.from({ length: 10 }, () =>
        // Ten contenders take turns: more attempts than the default five, so a slow machine cannot exhaust them.
        runTransaction(
          db,
          async (tx) => {
            const value = (await tx.get(ref)).get('value') as number;
            tx.update(ref, { value: value + 1 });
          },
          { maxAttempts: 20 },
        ),
      ),
    );
    expect((await admin.doc('webt/counter').get()).get('value')).toBe(10);
  });

  it('a document read but not written is verified at commit: a change in between makes the transaction run again', async () => {
    await admin.doc('webt/source').set({ n: 1 });
    let attempts = 0;
    await runTransaction(db, async (tx) => {
      attempts += 1;
      const source = await tx.get(doc(db, 'webt/source'));
      // Changed after the transaction read it and before it commits (the web SDK takes no locks).
      if (attempts === 1) await admin.doc('webt/source').set({ n: 2 });
      tx.set(doc(db, 'webt/copy'), { n: source.get('n') as number });
    });
    expect(attempts).toBe(2);
    expect((await admin.doc('webt/copy').get()).data()).toEqual({ n: 2 });

    // Unchanged since the read: the verify passes and the transaction commits at once.
    attempts = 0;
    await runTransaction(db, async (tx) => {
      attempts += 1;
      const source = await tx.get(doc(db, 'webt/source'));
      tx.set(doc(db, 'webt/copy'), { n: (source.get('n') as number) * 10 });
    });
    expect(attempts).toBe(1);
    expect((await admin.doc('webt/copy').get()).data()).toEqual({ n: 20 });
  });
});
