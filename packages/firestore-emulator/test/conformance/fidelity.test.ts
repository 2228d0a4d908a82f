/**
 * Differences from Google's Firestore measured by third-party suites (issue 12), each pinned through
 * firebase-admin (or the published protos, for what the SDK will not send). Runs unchanged against Google's
 * emulator; where production and Google's emulator differ, the expectation is production's and the emulator's
 * README says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AggregateField, FieldPath, FieldValue, type Firestore, type Query } from 'firebase-admin/firestore';
import { adminClient, decodeMessage, encodeMessage, loadIndexes, offlineEmulator, rawUnaryCall, rejectionOf, uniqueProjectId } from './support';

const projectId = uniqueProjectId('conf-fidelity');
const root = `projects/${projectId}/databases/(default)/documents`;
let db: Firestore;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ db, close } = adminClient(projectId));
  // Semantics only: the global setup's index file is not this file's; indexes.test.ts tests enforcement.
  if (offlineEmulator) expect((await loadIndexes(projectId, null)).status).toBe(200);
});
afterAll(() => close());

async function ids(query: Query): Promise<string[]> {
  return (await query.get()).docs.map((doc) => doc.id);
}

async function seed(collection: string, docs: Record<string, Record<string, unknown>>): Promise<void> {
  const batch = db.batch();
  for (const [id, data] of Object.entries(docs)) batch.set(db.collection(collection).doc(id), data);
  await batch.commit();
}

describe('filters', () => {
  beforeAll(() => seed('nulls', { isNull: { v: null, list: [null] }, isOne: { v: 1, list: [1] } }));

  it('`in [null]` and `array-contains-any [null]` match nothing', async () => {
    expect(await ids(db.collection('nulls').where('v', 'in', [null]))).toEqual([]);
    expect(await ids(db.collection('nulls').where('list', 'array-contains-any', [null]))).toEqual([]);
    // The same filters do match non-null values, and `== null` still matches null.
    expect(await ids(db.collection('nulls').where('v', 'in', [null, 1]))).toEqual(['isOne']);
    expect(await ids(db.collection('nulls').where('list', 'array-contains-any', [null, 1]))).toEqual(['isOne']);
    expect(await ids(db.collection('nulls').where('v', '==', null))).toEqual(['isNull']);
  });

  it('NaN matches no range filter', async () => {
    await seed('nans', { nan: { x: Number.NaN }, one: { x: 1 }, minusInfinity: { x: Number.NEGATIVE_INFINITY } });
    expect(await ids(db.collection('nans').where('x', '<', 5))).toEqual(['minusInfinity', 'one']);
    expect(await ids(db.collection('nans').where('x', '<=', 1))).toEqual(['minusInfinity', 'one']);
    expect(await ids(db.collection('nans').where('x', '>=', Number.NEGATIVE_INFINITY))).toEqual(['minusInfinity', 'one']);
    expect(await ids(db.collection('nans').where('x', '==', Number.NaN))).toEqual(['nan']);
  });

  it('field paths named like Object.prototype members name fields, which these documents lack', async () => {
    expect(await ids(db.collection('nulls').where('constructor', '==', 1))).toEqual([]);
    expect(await ids(db.collection('nulls').where('valueOf', '>', 0))).toEqual([]);
    expect(await ids(db.collection('nulls').orderBy('toString'))).toEqual([]);
    await db.doc('nulls/withConstructor').set({ constructor: 1 });
    expect(await ids(db.collection('nulls').where('constructor', '==', 1))).toEqual(['withConstructor']);
    await db.doc('nulls/withConstructor').delete();
  });

  it('refuses an inequality with orderBy(documentId()) before another order', async () => {
    const query = db.collection('nulls').where('v', '>', 0).orderBy(FieldPath.documentId()).orderBy('v');
    expect((await rejectionOf(query.get())).code).toBe(3);
    // documentId() last is accepted.
    expect(await ids(db.collection('nulls').where('v', '>', 0).orderBy('v').orderBy(FieldPath.documentId()))).toEqual(['isOne']);
  });

  it('refuses documentId() == combined with an inequality on another field', async () => {
    const query = db.collection('nulls').where(FieldPath.documentId(), '==', 'isOne').where('v', '>', 0);
    expect((await rejectionOf(query.get())).code).toBe(3);
    // documentId() == with an equality on another field is accepted.
    expect(await ids(db.collection('nulls').where(FieldPath.documentId(), '==', 'isOne').where('v', '==', 1))).toEqual(['isOne']);
  });
});

describe('aggregations', () => {
  it('aggregate over the documents that have every aggregated field', async () => {
    await seed('books', {
      a: { pages: 100, rating: 5 },
      b: { pages: 100, rating: 4 },
      c: { pages: 100, rating: 3 },
      d: { pages: 50 },
    });
    const snapshot = await db
      .collection('books')
      .aggregate({ count: AggregateField.count(), pages: AggregateField.sum('pages'), rating: AggregateField.average('rating') })
      .get();
    expect(snapshot.data()).toEqual({ count: 3, pages: 300, rating: 4 });
    // One field alone: every document that has it.
    expect(
      (
        await db
          .collection('books')
          .aggregate({ pages: AggregateField.sum('pages') })
          .get()
      ).data(),
    ).toEqual({ pages: 350 });
  });

  it('more than 5 aggregations: "maximum number of aggregations"', async () => {
    const fields = Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f'].map((f) => [f, AggregateField.sum(f)]));
    const error = await rejectionOf(db.collection('books').aggregate(fields).get());
    expect(error.code).toBe(3);
    // Production's wording (the SDKs' integration suites check it against production only: Google's emulator
    // words it otherwise).
    if (offlineEmulator) expect(error.message).toContain('maximum number of aggregations');
  });
});

describe('writes', () => {
  /** One update with a mask, as a Commit of the published protos (the SDKs send only masked fields). */
  async function maskedUpdate(id: string, fields: Record<string, unknown>, fieldPaths: string[]): Promise<void> {
    const commit = encodeMessage('google.firestore.v1.CommitRequest', {
      database: `projects/${projectId}/databases/(default)`,
      writes: [{ update: { name: `${root}/merges/${id}`, fields }, updateMask: { fieldPaths } }],
    });
    const response = decodeMessage('google.firestore.v1.CommitResponse', await rawUnaryCall('Commit', commit));
    expect(response.commitTime).toBeDefined();
  }

  it('a merge write ignores fields outside its update mask', async () => {
    await db.doc('merges/fields').set({ kept: true, nested: { z: 0 } });
    const nested = { mapValue: { fields: { x: { integerValue: '1' }, y: { integerValue: '2' } } } };
    await maskedUpdate('fields', { a: { integerValue: '1' }, b: { integerValue: '2' }, nested }, ['a', 'nested.x']);
    expect((await db.doc('merges/fields').get()).data()).toEqual({ kept: true, a: 1, nested: { x: 1, z: 0 } });
  });

  it('accepts overlapping update mask paths', async () => {
    const owner = { mapValue: { fields: { name: { stringValue: 'Ada' }, id: { integerValue: '1' } } } };
    await maskedUpdate('overlap', { owner }, ['owner', 'owner.name']);
    expect((await db.doc('merges/overlap').get()).data()).toEqual({ owner: { name: 'Ada', id: 1 } });
  });

  it('accepts legacy numeric ids __id<n>__ and orders them numerically before every other id', async () => {
    await seed('numeric', { b: {}, '0': {}, __id10__: {}, __id2__: {}, '__id-3__': {} });
    expect(await ids(db.collection('numeric'))).toEqual(['__id-3__', '__id2__', '__id10__', '0', 'b']);
    expect((await db.doc('numeric/__id2__').get()).exists).toBe(true);
  });

  it('refuses other ids matching __.*__', async () => {
    expect((await rejectionOf(db.doc('numeric/__other__').set({}))).code).toBe(3);
    expect((await rejectionOf(db.doc('numeric/__idx__').set({}))).code).toBe(3);
    expect((await rejectionOf(db.doc('numeric/__id9223372036854775808__').set({}))).code).toBe(3);
    // Numeric ids are document ids only.
    expect((await rejectionOf(db.doc('__id7__/d').set({}))).code).toBe(3);
  });

  it.each([
    ['without reads (firebase-admin then sends a plain Commit)', false],
    ['after a read (a transactional Commit)', true],
  ])('in a transaction %s, updating a document deleted earlier in it is INVALID_ARGUMENT', async (_label, read) => {
    const ref = db.doc(`txn/deleted-then-updated-${String(read)}`);
    await ref.set({ n: 1 });
    const error = await rejectionOf(
      db.runTransaction(async (tx) => {
        if (read) await tx.get(db.doc('txn/other'));
        tx.delete(ref);
        tx.update(ref, { n: 2 });
      }),
    );
    expect(error.code).toBe(3);
    expect((await ref.get()).data()).toEqual({ n: 1 });
  });

  it('a commit may hold more than 500 writes', async () => {
    const batch = db.batch();
    for (let i = 0; i < 501; i++) batch.set(db.collection('many').doc(`d${i}`), { i });
    await batch.commit();
    expect((await db.collection('many').count().get()).data().count).toBe(501);
  });

  it('a commit larger than 10 MiB is refused, and writes nothing', async () => {
    const batch = db.batch();
    const text = 'x'.repeat(1_000_000);
    for (let i = 0; i < 11; i++) batch.set(db.collection('large').doc(`d${i}`), { text });
    expect((await rejectionOf(batch.commit())).code).toBe(3);
    expect((await db.collection('large').count().get()).data().count).toBe(0);
  });

  it('at most 500 field transforms per document, array elements counted one by one', async () => {
    const elements = Array.from({ length: 500 }, (_, i) => i);
    await db.doc('transforms/at-limit').set({ list: FieldValue.arrayUnion(...elements) });
    expect(((await db.doc('transforms/at-limit').get()).get('list') as number[]).length).toBe(500);
    const error = await rejectionOf(db.doc('transforms/over').set({ list: FieldValue.arrayUnion(...elements), n: FieldValue.increment(1) }));
    expect(error.code).toBe(3);
  });
});

describe('vector search (findNearest)', () => {
  beforeAll(() =>
    seed('vectors', {
      origin: { kind: 'a', embedding: FieldValue.vector([0, 0]) },
      east: { kind: 'a', embedding: FieldValue.vector([1, 0]) },
      far: { kind: 'b', embedding: FieldValue.vector([3, 4]) },
      diagonal: { kind: 'a', embedding: FieldValue.vector([2, 2]) },
      threeDimensions: { kind: 'a', embedding: FieldValue.vector([1, 0, 0]) },
      notVector: { kind: 'a', embedding: [1, 0] },
      missing: { kind: 'a' },
    }),
  );
  const vectors = () => db.collection('vectors');

  it('EUCLIDEAN: nearest first, only vectors of the query dimension, with the distance field', async () => {
    const snapshot = await vectors()
      .findNearest({ vectorField: 'embedding', queryVector: [1, 0], limit: 10, distanceMeasure: 'EUCLIDEAN', distanceResultField: 'distance' })
      .get();
    expect(snapshot.docs.map((doc) => [doc.id, doc.get('distance') as number])).toEqual([
      ['east', 0],
      ['origin', 1],
      ['diagonal', Math.sqrt(5)],
      ['far', Math.sqrt(20)],
    ]);
  });

  it('COSINE distance is 1 - cosine similarity; the zero vector has no angle and is left out', async () => {
    const snapshot = await vectors()
      .findNearest({ vectorField: 'embedding', queryVector: [1, 0], limit: 10, distanceMeasure: 'COSINE', distanceResultField: 'distance' })
      .get();
    const results = snapshot.docs.map((doc) => [doc.id, doc.get('distance') as number] as const);
    expect(results.map(([id]) => id)).toEqual(['east', 'diagonal', 'far']);
    expect(results[0][1]).toBeCloseTo(0, 12);
    expect(results[1][1]).toBeCloseTo(1 - Math.SQRT1_2, 12);
    expect(results[2][1]).toBeCloseTo(1 - 3 / 5, 12);
  });

  it('DOT_PRODUCT: largest first; distanceThreshold keeps distances >= it', async () => {
    const snapshot = await vectors()
      .findNearest({
        vectorField: 'embedding',
        queryVector: [1, 1],
        limit: 10,
        distanceMeasure: 'DOT_PRODUCT',
        distanceResultField: 'score',
        distanceThreshold: 1,
      })
      .get();
    expect(snapshot.docs.map((doc) => [doc.id, doc.get('score') as number])).toEqual([
      ['far', 7],
      ['diagonal', 4],
      ['east', 1],
    ]);
  });

  it('distanceThreshold keeps EUCLIDEAN distances <= it; limit and pre-filters apply', async () => {
    const near = await vectors()
      .findNearest({ vectorField: 'embedding', queryVector: [0, 0], limit: 10, distanceMeasure: 'EUCLIDEAN', distanceThreshold: 2.5 })
      .get();
    expect(near.docs.map((doc) => doc.id)).toEqual(['origin', 'east']);
    const limited = await vectors()
      .where('kind', '==', 'a')
      .findNearest({ vectorField: 'embedding', queryVector: [3, 4], limit: 2, distanceMeasure: 'EUCLIDEAN' })
      .get();
    expect(limited.docs.map((doc) => doc.id)).toEqual(['diagonal', 'east']);
    // Without distanceResultField the documents come back as stored.
    expect(limited.docs[0].data()).toEqual({ kind: 'a', embedding: FieldValue.vector([2, 2]) });
  });

  it('with select(), the distance comes back only if selected; a stored field of that name is overwritten', async () => {
    const options: FirebaseFirestore.VectorQueryOptions = {
      vectorField: 'embedding',
      queryVector: [1, 0],
      limit: 1,
      distanceMeasure: 'EUCLIDEAN',
      distanceResultField: 'kind',
    };
    const selected = await vectors().select('kind').findNearest(options).get();
    expect(selected.docs.map((doc) => [doc.id, doc.data()])).toEqual([['east', { kind: 0 }]]);
    const other = await vectors().select('embedding').findNearest(options).get();
    expect(other.docs.map((doc) => [doc.id, doc.data()])).toEqual([['east', { embedding: FieldValue.vector([1, 0]) }]]);
  });

  it('refuses a limit above 1000', async () => {
    const query = vectors().findNearest({ vectorField: 'embedding', queryVector: [1, 0], limit: 1001, distanceMeasure: 'EUCLIDEAN' });
    expect((await rejectionOf(query.get())).code).toBe(3);
  });
});
