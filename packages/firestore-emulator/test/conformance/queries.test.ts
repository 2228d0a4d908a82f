/**
 * RunQuery and RunAggregationQuery through firebase-admin: every filter operator, AND/OR, nested fields,
 * ordering (with the implicit __name__ order and the order across value types), cursors, offset, limit,
 * limitToLast, projections, collection groups, count/sum/avg.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AggregateField, Filter, GeoPoint, Timestamp, type Firestore, type Query } from 'firebase-admin/firestore';
import { adminClient, loadIndexes, offlineEmulator, uniqueProjectId } from './support';

const projectId = uniqueProjectId('conf-queries');
let db: Firestore;
let close: () => Promise<void>;

const items: Record<string, Record<string, unknown>> = {
  i1: { n: 1, tag: 'a', tags: ['x', 'y'], nested: { v: 10 }, group: 'g1' },
  i2: { n: 2, tag: 'b', tags: ['y'], nested: { v: 20 }, group: 'g1' },
  i3: { n: 3, tag: 'a', tags: [], nested: { v: 30 }, group: 'g2' },
  i4: { n: 4, tag: 'c', tags: ['z'], group: 'g2' },
  i5: { n: 5, tag: null, tags: ['x'], nested: { v: 50 }, group: 'g3' },
};

beforeAll(async () => {
  // Semantics only: the global setup's index file is not this file's; indexes.test.ts tests enforcement.
  if (offlineEmulator) expect((await loadIndexes(projectId, null)).status).toBe(200);
  ({ db, close } = adminClient(projectId));
  const batch = db.batch();
  for (const [id, data] of Object.entries(items)) batch.set(db.collection('items').doc(id), data);
  await batch.commit();
});
afterAll(() => close());

async function ids(query: Query): Promise<string[]> {
  return (await query.get()).docs.map((doc) => doc.id);
}

describe('filters', () => {
  const items = () => db.collection('items');
  it.each([
    ['==', 'tag', 'a', ['i1', 'i3']],
    ['!= (excludes null and missing)', 'tag', 'a', ['i2', 'i4']],
    ['<', 'n', 3, ['i1', 'i2']],
    ['<=', 'n', 3, ['i1', 'i2', 'i3']],
    ['>', 'n', 3, ['i4', 'i5']],
    ['>=', 'n', 3, ['i3', 'i4', 'i5']],
    ['array-contains', 'tags', 'x', ['i1', 'i5']],
    ['array-contains-any', 'tags', ['y', 'z'], ['i1', 'i2', 'i4']],
    ['in', 'tag', ['b', 'c'], ['i2', 'i4']],
    ['not-in (excludes null and missing)', 'tag', ['a', 'b'], ['i4']],
  ] as const)('%s', async (label, field, value, expected) => {
    const op = label.split(' ')[0] as FirebaseFirestore.WhereFilterOp;
    expect((await ids(items().where(field, op, value))).sort()).toEqual([...expected]);
  });

  it('== null and != null', async () => {
    expect(await ids(items().where('tag', '==', null))).toEqual(['i5']);
    expect((await ids(items().where('tag', '!=', null))).sort()).toEqual(['i1', 'i2', 'i3', 'i4']);
  });

  it('compares only within a type: a number filter never matches strings', async () => {
    await db.doc('typed/number').set({ v: 5 });
    await db.doc('typed/string').set({ v: '5' });
    expect(await ids(db.collection('typed').where('v', '>', 0))).toEqual(['number']);
    expect(await ids(db.collection('typed').where('v', '>=', ''))).toEqual(['string']);
  });

  it('composite AND and OR filters', async () => {
    const filter = Filter.or(Filter.where('n', '<', 2), Filter.and(Filter.where('tag', '==', 'a'), Filter.where('n', '>', 2)));
    expect((await ids(items().where(filter))).sort()).toEqual(['i1', 'i3']);
    expect(await ids(items().where('group', '==', 'g1').where('tag', '==', 'b'))).toEqual(['i2']);
  });

  it('nested field paths', async () => {
    expect(await ids(items().where('nested.v', '>=', 20).orderBy('nested.v'))).toEqual(['i2', 'i3', 'i5']);
  });
});

describe('ordering', () => {
  const items = () => db.collection('items');
  it('breaks ties by document name, in the direction of the last order', async () => {
    expect(await ids(items().orderBy('group'))).toEqual(['i1', 'i2', 'i3', 'i4', 'i5']);
    expect(await ids(items().orderBy('group', 'desc'))).toEqual(['i5', 'i4', 'i3', 'i2', 'i1']);
  });

  it('leaves out documents without the ordered field', async () => {
    expect(await ids(items().orderBy('nested.v'))).toEqual(['i1', 'i2', 'i3', 'i5']);
  });

  it('orders values across types as Firestore does', async () => {
    // Names are chosen so that name order differs from value order.
    const values: [string, unknown][] = [
      ['m-null', null],
      ['k-false', false],
      ['j-true', true],
      ['z-nan', Number.NaN],
      ['y-neg-infinity', Number.NEGATIVE_INFINITY],
      ['x-minus-one', -1],
      ['w-zero', 0],
      ['v-half', 0.5],
      ['a-one', 1],
      ['u-infinity', Number.POSITIVE_INFINITY],
      ['t-timestamp', new Timestamp(1, 0)],
      ['s-empty-string', ''],
      ['r-string', 'b'],
      ['q-bytes', Buffer.from([1])],
      ['p-reference', db.doc('items/i1')],
      ['o-geo', new GeoPoint(0, 0)],
      ['n-array', [1]],
      ['l-map', { a: 1 }],
    ];
    const batch = db.batch();
    for (const [id, v] of values) batch.set(db.collection('mixed').doc(id), { v });
    await batch.commit();
    expect(await ids(db.collection('mixed').orderBy('v'))).toEqual(values.map(([id]) => id));
    expect(await ids(db.collection('mixed').orderBy('v', 'desc'))).toEqual(values.map(([id]) => id).reverse());
  });
});

describe('cursors, offset and limits', () => {
  const byN = () => db.collection('items').orderBy('n');
  it('startAt / endBefore and startAfter / endAt', async () => {
    expect(await ids(byN().startAt(2).endBefore(5))).toEqual(['i2', 'i3', 'i4']);
    expect(await ids(byN().startAfter(2).endAt(4))).toEqual(['i3', 'i4']);
  });

  it('a document snapshot cursor includes its name, so equal values are split correctly', async () => {
    const i2 = await db.doc('items/i2').get();
    expect(await ids(db.collection('items').orderBy('group').startAfter(i2))).toEqual(['i3', 'i4', 'i5']);
    expect(await ids(db.collection('items').orderBy('group').endBefore(i2))).toEqual(['i1']);
  });

  it('offset and limit', async () => {
    expect(await ids(byN().offset(1).limit(2))).toEqual(['i2', 'i3']);
    expect(await ids(byN().offset(10))).toEqual([]);
  });

  it('limitToLast', async () => {
    expect(await ids(byN().limitToLast(2))).toEqual(['i4', 'i5']);
  });
});

describe('projections', () => {
  it('select() returns only the named fields', async () => {
    const snapshot = await db.collection('items').where('n', '==', 1).select('n', 'nested.v').get();
    expect(snapshot.docs.map((doc) => doc.data())).toEqual([{ n: 1, nested: { v: 10 } }]);
  });
});

describe('collection groups', () => {
  it('finds documents of a collection id at every depth, and filters them', async () => {
    await db.doc('groups/one/rooms/r1').set({ size: 1 });
    await db.doc('groups/two/rooms/r2').set({ size: 2 });
    await db.doc('elsewhere/x/deeper/y/rooms/r3').set({ size: 3 });
    await db.doc('rooms/r4').set({ size: 4 });
    await db.doc('groups/one/notrooms/r5').set({ size: 5 });
    expect((await db.collectionGroup('rooms').get()).docs.map((doc) => doc.ref.path).sort()).toEqual([
      'elsewhere/x/deeper/y/rooms/r3',
      'groups/one/rooms/r1',
      'groups/two/rooms/r2',
      'rooms/r4',
    ]);
    expect(await ids(db.collectionGroup('rooms').where('size', '>=', 2).orderBy('size'))).toEqual(['r2', 'r3', 'r4']);
  });
});

describe('aggregations', () => {
  it('count, sum and average', async () => {
    const snapshot = await db
      .collection('items')
      .aggregate({ count: AggregateField.count(), total: AggregateField.sum('n'), mean: AggregateField.average('nested.v') })
      .get();
    // Over the documents that have every aggregated field: i4 has no nested.v.
    expect(snapshot.data()).toEqual({ count: 4, total: 11, mean: 27.5 });
  });

  it('count honours filters and limits; average of nothing is null', async () => {
    expect((await db.collection('items').where('tag', '==', 'a').count().get()).data().count).toBe(2);
    expect((await db.collection('items').limit(3).count().get()).data().count).toBe(3);
    const empty = await db
      .collection('nothing-here')
      .aggregate({ mean: AggregateField.average('n'), total: AggregateField.sum('n') })
      .get();
    expect(empty.data()).toEqual({ mean: null, total: 0 });
  });
});
