/**
 * BatchGetDocuments through firebase-admin: several documents at once, missing ones, field masks, and reads at
 * a past read time; every value type round-trips.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FieldPath, GeoPoint, Timestamp, type Firestore } from 'firebase-admin/firestore';
import { adminClient, decodeMessage, encodeMessage, rawUnaryCall, rejectionOf, uniqueProjectId, type GrpcFailure } from './support';
import { present } from '../present';

const projectId = uniqueProjectId('conf-reads');
let db: Firestore;
let close: () => Promise<void>;

beforeAll(() => {
  ({ db, close } = adminClient(projectId));
});
afterAll(() => close());

describe('BatchGetDocuments', () => {
  it('returns several documents in request order, missing ones as not existing', async () => {
    await db.doc('reads/a').set({ n: 1 });
    await db.doc('reads/c').set({ n: 3 });
    const snapshots = await db.getAll(db.doc('reads/c'), db.doc('reads/b'), db.doc('reads/a'));
    expect(snapshots.map((s) => [s.id, s.exists, s.get('n')])).toEqual([
      ['c', true, 3],
      ['b', false, undefined],
      ['a', true, 1],
    ]);
  });

  it('applies a field mask', async () => {
    await db.doc('reads/masked').set({ keep: 1, drop: 2, nested: { keep: 3, drop: 4 } });
    const [snapshot] = await db.getAll(db.doc('reads/masked'), { fieldMask: ['keep', new FieldPath('nested', 'keep')] });
    expect(snapshot.data()).toEqual({ keep: 1, nested: { keep: 3 } });
  });

  it('reads the state as of a past read time', async () => {
    const ref = db.doc('reads/versioned');
    const first = await ref.set({ v: 1 });
    await ref.set({ v: 2 });
    const past = await db.runTransaction((tx) => tx.get(ref), { readOnly: true, readTime: first.writeTime });
    expect(past.get('v')).toBe(1);
    expect((await ref.get()).get('v')).toBe(2);
  });

  it('round-trips every value type', async () => {
    const value = {
      null: null,
      bool: true,
      int: 9007199254740991,
      double: 1.5,
      nan: Number.NaN,
      infinity: Number.POSITIVE_INFINITY,
      string: 'text ✓',
      bytes: Buffer.from([0, 1, 255]),
      timestamp: new Timestamp(1_700_000_000, 123_456_000),
      geo: new GeoPoint(48.85, 2.35),
      reference: db.doc('reads/a'),
      array: [1, 'two', { three: 3 }],
      map: { inner: { deeper: 'yes' } },
    };
    await db.doc('reads/types').set(value);
    const data = present((await db.doc('reads/types').get()).data(), 'reads/types');
    expect(data.nan).toBeNaN();
    expect((data.timestamp as Timestamp).isEqual(value.timestamp)).toBe(true);
    expect((data.geo as GeoPoint).isEqual(value.geo)).toBe(true);
    expect(data.reference.path).toBe('reads/a');
    expect(Buffer.from(data.bytes as Uint8Array)).toEqual(value.bytes);
    expect({ ...data, nan: 0, timestamp: 0, geo: 0, reference: 0, bytes: 0 }).toEqual({
      ...value,
      nan: 0,
      timestamp: 0,
      geo: 0,
      reference: 0,
      bytes: 0,
    });
  });
});

describe('GetDocument (plain gRPC: no SDK uses it)', () => {
  it('returns the document, or NOT_FOUND', async () => {
    await db.doc('reads/single').set({ v: 'one' });
    const documents = `projects/${projectId}/databases/(default)/documents`;
    const found = decodeMessage(
      'google.firestore.v1.Document',
      await rawUnaryCall('GetDocument', encodeMessage('google.firestore.v1.GetDocumentRequest', { name: `${documents}/reads/single` })),
    );
    expect(found.fields).toEqual({ v: { stringValue: 'one' } });
    const missing = (await rejectionOf(
      rawUnaryCall('GetDocument', encodeMessage('google.firestore.v1.GetDocumentRequest', { name: `${documents}/reads/nothing` })),
    )) as unknown as GrpcFailure;
    expect(missing.code).toBe(5);
  });
});
