/**
 * BeginTransaction, transactional BatchGetDocuments/RunQuery, Commit and Rollback through firebase-admin:
 * transactions isolate (serializable; conflicting ones retry and the result is as if serial).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FieldValue, type Firestore } from 'firebase-admin/firestore';
import { adminClient, rejectionOf, uniqueProjectId } from './support';

const projectId = uniqueProjectId('conf-transactions');
let db: Firestore;
let close: () => Promise<void>;

beforeAll(() => {
  ({ db, close } = adminClient(projectId));
});
afterAll(() => close());

describe('transactions', () => {
  it('ten concurrent read-modify-write increments end at 10', async () => {
    const ref = db.doc('counters/concurrent');
    await ref.set({ value: 0 });
    await Promise.all(
      Array.from({ length: 10 }, () =>
        db.runTransaction(async (tx) => {
          const value = (await tx.get(ref)).get('value') as number;
          tx.update(ref, { value: value + 1 });
        }),
      ),
    );
    expect((await ref.get()).get('value')).toBe(10);
  });

  it('moves between two documents stay balanced under concurrency (as if serial)', async () => {
    const a = db.doc('accounts/a');
    const b = db.doc('accounts/b');
    await a.set({ balance: 100 });
    await b.set({ balance: 100 });
    const move = (from: FirebaseFirestore.DocumentReference, to: FirebaseFirestore.DocumentReference, amount: number) =>
      db.runTransaction(async (tx) => {
        const [source, target] = await tx.getAll(from, to);
        tx.update(from, { balance: (source.get('balance') as number) - amount });
        tx.update(to, { balance: (target.get('balance') as number) + amount });
      });
    await Promise.all([move(a, b, 10), move(b, a, 5), move(a, b, 1), move(b, a, 7), move(a, b, 3)]);
    const [finalA, finalB] = await db.getAll(a, b);
    expect(finalA.get('balance')).toBe(100 - 10 + 5 - 1 + 7 - 3);
    expect(finalB.get('balance')).toBe(100 + 10 - 5 + 1 - 7 + 3);
  });

  it('a transaction reading a query sees a consistent result and its writes apply atomically', async () => {
    await db.doc('tasks/t1').set({ open: true });
    await db.doc('tasks/t2').set({ open: true });
    const closed = await db.runTransaction(async (tx) => {
      const open = await tx.get(db.collection('tasks').where('open', '==', true));
      for (const doc of open.docs) tx.update(doc.ref, { open: false });
      return open.size;
    });
    expect(closed).toBe(2);
    expect((await db.collection('tasks').where('open', '==', true).get()).size).toBe(0);
  });

  it('a transaction whose function throws is rolled back and writes nothing', async () => {
    const ref = db.doc('rollback/doc');
    const error = await rejectionOf(
      db.runTransaction(async (tx) => {
        await tx.get(ref);
        tx.set(ref, { written: true });
        throw new Error('changed my mind');
      }),
    );
    expect(error.message).toBe('changed my mind');
    expect((await ref.get()).exists).toBe(false);
    // The rollback released the document: a plain write goes through at once.
    await ref.set({ after: true });
    expect((await ref.get()).data()).toEqual({ after: true });
  });

  it('writes with transforms commit inside a transaction', async () => {
    const ref = db.doc('counters/transform');
    await db.runTransaction(async (tx) => {
      tx.set(ref, { n: FieldValue.increment(2), at: FieldValue.serverTimestamp() });
    });
    expect((await ref.get()).get('n')).toBe(2);
  });

  it('a read-only transaction at a read time sees the past', async () => {
    const ref = db.doc('counters/past');
    const first = await ref.set({ v: 'first' });
    await ref.set({ v: 'second' });
    const seen = await db.runTransaction(async (tx) => (await tx.get(ref)).get('v'), { readOnly: true, readTime: first.writeTime });
    expect(seen).toBe('first');
  });
});
