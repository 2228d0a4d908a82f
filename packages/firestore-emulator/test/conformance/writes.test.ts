/**
 * Commit semantics through firebase-admin: set() replaces, merges and update masks, FieldValue.delete(),
 * field transforms, preconditions, create/update times, atomic batches. Transforms the SDKs do not expose
 * (maximum, minimum) go through a plain gRPC Commit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FieldValue, Timestamp, type Firestore } from 'firebase-admin/firestore';
import { adminClient, decodeMessage, encodeMessage, rawUnaryCall, rejectionOf, uniqueProjectId } from './support';
import { present } from '../present';

const projectId = uniqueProjectId('conf-writes');
let db: Firestore;
let close: () => Promise<void>;

beforeAll(() => {
  ({ db, close } = adminClient(projectId));
});
afterAll(() => close());

describe('set, merge and update', () => {
  it('set() without merge replaces the whole document, dropping fields it does not name', async () => {
    const ref = db.doc('set/replace');
    await ref.set({ keep: 1, drop: 2, nested: { a: 1, b: 2 } });
    await ref.set({ keep: 10, nested: { a: 3 } });
    expect((await ref.get()).data()).toEqual({ keep: 10, nested: { a: 3 } });
  });

  it('set() with merge keeps other fields, mergeFields writes only the named ones', async () => {
    const ref = db.doc('set/merge');
    await ref.set({ a: 1, nested: { x: 1, y: 2 } });
    await ref.set({ b: 2, nested: { y: 20 } }, { merge: true });
    expect((await ref.get()).data()).toEqual({ a: 1, b: 2, nested: { x: 1, y: 20 } });
    await ref.set({ a: 100, b: 200 }, { mergeFields: ['b'] });
    expect((await ref.get()).data()).toEqual({ a: 1, b: 200, nested: { x: 1, y: 20 } });
  });

  it('update() writes nested field paths through the update mask and leaves siblings alone', async () => {
    const ref = db.doc('update/mask');
    await ref.set({ profile: { name: 'Ada', city: 'London' }, count: 1 });
    await ref.update({ 'profile.city': 'Paris', 'extra.deep.value': true });
    expect((await ref.get()).data()).toEqual({ profile: { name: 'Ada', city: 'Paris' }, count: 1, extra: { deep: { value: true } } });
  });

  it('FieldValue.delete() removes the field, in update() and in set() with merge', async () => {
    const ref = db.doc('update/delete-field');
    await ref.set({ a: 1, b: 2, nested: { c: 3, d: 4 } });
    await ref.update({ a: FieldValue.delete(), 'nested.c': FieldValue.delete() });
    expect((await ref.get()).data()).toEqual({ b: 2, nested: { d: 4 } });
    await ref.set({ b: FieldValue.delete() }, { merge: true });
    expect((await ref.get()).data()).toEqual({ nested: { d: 4 } });
  });

  it('delete() removes the document', async () => {
    const ref = db.doc('update/gone');
    await ref.set({ a: 1 });
    await ref.delete();
    expect((await ref.get()).exists).toBe(false);
  });
});

describe('field transforms', () => {
  it('serverTimestamp() is the server time when the request started (millisecond precision), not after the commit', async () => {
    const ref = db.doc('transforms/time');
    const before = Date.now();
    const result = await ref.set({ at: FieldValue.serverTimestamp() });
    const stored = (await ref.get()).get('at') as Timestamp;
    expect(stored.toMillis()).toBeGreaterThanOrEqual(before - 1);
    expect(stored.valueOf() <= result.writeTime.valueOf()).toBe(true);
    expect(stored.nanoseconds % 1_000_000).toBe(0);
  });

  it('increment() adds to integers and doubles, and starts from 0 when the field is missing or not a number', async () => {
    const ref = db.doc('transforms/increment');
    await ref.set({ int: 1, double: 1.5, text: 'x' });
    await ref.update({ int: FieldValue.increment(2), double: FieldValue.increment(0.25), text: FieldValue.increment(3), fresh: FieldValue.increment(5) });
    expect((await ref.get()).data()).toEqual({ int: 3, double: 1.75, text: 3, fresh: 5 });
  });

  it('arrayUnion() appends missing elements, arrayRemove() removes every occurrence', async () => {
    const ref = db.doc('transforms/arrays');
    await ref.set({ tags: ['a', 'b', 'a'], other: [1, 2, 3, 2] });
    await ref.update({ tags: FieldValue.arrayUnion('b', 'c', 'c'), other: FieldValue.arrayRemove(2) });
    expect((await ref.get()).data()).toEqual({ tags: ['a', 'b', 'a', 'c'], other: [1, 3] });
  });

  it('maximum and minimum (plain gRPC: the SDKs do not expose them) keep the larger / smaller value', async () => {
    const database = `projects/${projectId}/databases/(default)`;
    const name = `${database}/documents/transforms/maxmin`;
    await db.doc('transforms/maxmin').set({ high: 5, low: 5 });
    const request = encodeMessage('google.firestore.v1.CommitRequest', {
      database,
      writes: [
        {
          transform: {
            document: name,
            fieldTransforms: [
              { fieldPath: 'high', maximum: { integerValue: '9' } },
              { fieldPath: 'low', minimum: { integerValue: '9' } },
            ],
          },
        },
      ],
    });
    const response = decodeMessage('google.firestore.v1.CommitResponse', await rawUnaryCall('Commit', request));
    expect(response.writeResults).toEqual([expect.objectContaining({ transformResults: [{ integerValue: '9' }, { integerValue: '5' }] })]);
    expect((await db.doc('transforms/maxmin').get()).data()).toEqual({ high: 9, low: 5 });
  });
});

describe('preconditions', () => {
  it('create() fails with ALREADY_EXISTS when the document exists', async () => {
    const ref = db.doc('preconditions/create');
    await ref.create({ v: 1 });
    const error = await rejectionOf(ref.create({ v: 2 }));
    expect(error.code).toBe(6);
    expect((await ref.get()).get('v')).toBe(1);
  });

  it('update() fails with NOT_FOUND when the document is missing', async () => {
    const error = await rejectionOf(db.doc('preconditions/missing').update({ v: 1 }));
    expect(error.code).toBe(5);
    expect((await db.doc('preconditions/missing').get()).exists).toBe(false);
  });

  it('a last-update-time precondition fails with FAILED_PRECONDITION once the document has changed', async () => {
    const ref = db.doc('preconditions/time');
    const first = await ref.set({ v: 1 });
    const second = await ref.update({ v: 2 }, { lastUpdateTime: first.writeTime });
    const error = await rejectionOf(ref.update({ v: 3 }, { lastUpdateTime: first.writeTime }));
    expect(error.code).toBe(9);
    await ref.update({ v: 4 }, { lastUpdateTime: second.writeTime });
    expect((await ref.get()).get('v')).toBe(4);
  });
});

describe('create and update times', () => {
  it('keeps createTime across updates, moves updateTime to each write time, and orders write times', async () => {
    const ref = db.doc('times/doc');
    const created = await ref.set({ v: 1 });
    const updated = await ref.set({ v: 2 });
    const snapshot = await ref.get();
    expect(present(snapshot.createTime, 'create time').isEqual(created.writeTime)).toBe(true);
    expect(present(snapshot.updateTime, 'update time').isEqual(updated.writeTime)).toBe(true);
    expect(updated.writeTime.toMillis() * 1000 + updated.writeTime.nanoseconds / 1000).toBeGreaterThan(
      created.writeTime.toMillis() * 1000 + created.writeTime.nanoseconds / 1000,
    );
    expect(snapshot.readTime.valueOf() >= updated.writeTime.valueOf()).toBe(true);
  });
});

describe('batches are atomic', () => {
  it('a batch whose second write fails applies nothing', async () => {
    const batch = db.batch();
    batch.set(db.doc('atomic/first'), { v: 1 });
    batch.update(db.doc('atomic/missing'), { v: 2 });
    const error = await rejectionOf(batch.commit());
    expect(error.code).toBe(5);
    expect((await db.doc('atomic/first').get()).exists).toBe(false);
  });

  it('a batch of writes shares one commit time', async () => {
    const batch = db.batch();
    batch.set(db.doc('atomic/a'), { v: 1 });
    batch.set(db.doc('atomic/b'), { v: 2 });
    const [a, b] = await batch.commit();
    expect(a.writeTime.isEqual(b.writeTime)).toBe(true);
  });
});

describe('per-project isolation', () => {
  it('a document written in one project is not visible in another', async () => {
    const other = adminClient(uniqueProjectId('conf-writes-other'));
    try {
      await db.doc('isolation/doc').set({ mine: true });
      expect((await other.db.doc('isolation/doc').get()).exists).toBe(false);
    } finally {
      await other.close();
    }
  });
});
