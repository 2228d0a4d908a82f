import { beforeAll, describe, expect, it } from 'vitest';
import { Code, Database, Value } from '../../src/engine';
import {
  and,
  arr,
  bool,
  bytes,
  collection,
  commit,
  dbl,
  doc,
  expectRpcError,
  geo,
  ids,
  int,
  map,
  names,
  nul,
  or,
  orderBy,
  OWNER,
  plainFields,
  Query,
  ref,
  ROOT,
  set,
  setup,
  str,
  ts,
  unary,
  where,
} from './helpers';
import { present } from '../present';

/** One document per value type in field `v` (and `none`, which lacks it). */
const MIXED: Record<string, Value> = {
  null: nul(),
  false: bool(false),
  true: bool(true),
  nan: dbl(NaN),
  one: int(1),
  oneDouble: dbl(1),
  twoHalf: dbl(2.5),
  ten: int(10),
  time: ts(100),
  a: str('a'),
  b: str('b'),
  bytes: bytes(1),
  ref: ref('x/y'),
  geo: geo(1, 1),
  array: arr(int(1), int(2)),
  arrayOfB: arr(str('b'), nul()),
  map: map({ k: int(1) }),
};

async function mixedDatabase(): Promise<Database> {
  const { db } = setup();
  const writes: { update: { name: string; fields: Record<string, Value> } }[] = Object.entries(MIXED).map(([id, v]) => ({
    update: { name: doc(`m/${id}`), fields: { v } },
  }));
  writes.push({ update: { name: doc('m/none'), fields: { other: int(1) } } });
  await commit(db, writes);
  return db;
}

const sorted = (list: string[]) => [...list].sort();

describe('field filters: each operator matches only its type class', () => {
  let db: Database;
  beforeAll(async () => {
    db = await mixedDatabase();
  });
  const matching = async (filter: ReturnType<typeof where>) => sorted(await ids(db, collection('m', { where: filter })));

  it('range operators', async () => {
    // NaN sorts first but matches no range filter.
    expect(await matching(where('v', 'LESS_THAN', 2))).toEqual(sorted(['one', 'oneDouble']));
    expect(await matching(where('v', 'LESS_THAN_OR_EQUAL', 1))).toEqual(sorted(['one', 'oneDouble']));
    expect(await matching(where('v', 'GREATER_THAN_OR_EQUAL', dbl(NaN)))).toEqual([]);
    expect(await matching(where('v', 'GREATER_THAN', 1))).toEqual(sorted(['twoHalf', 'ten']));
    expect(await matching(where('v', 'GREATER_THAN_OR_EQUAL', dbl(1)))).toEqual(sorted(['one', 'oneDouble', 'twoHalf', 'ten']));
    expect(await matching(where('v', 'GREATER_THAN', ''))).toEqual(sorted(['a', 'b']));
    expect(await matching(where('v', 'LESS_THAN', ts(1000)))).toEqual(['time']);
    expect(await matching(where('v', 'GREATER_THAN_OR_EQUAL', false))).toEqual(sorted(['false', 'true']));
    expect(await matching(where('v', 'GREATER_THAN', arr()))).toEqual(sorted(['array', 'arrayOfB']));
    expect(await matching(where('v', 'GREATER_THAN', map({})))).toEqual(['map']);
    expect(await matching(where('v', 'LESS_THAN', nul()))).toEqual([]);
    expect(await matching(where('v', 'LESS_THAN_OR_EQUAL', nul()))).toEqual(['null']);
  });

  it('== matches numerically across integers and doubles, and null only by null', async () => {
    expect(await matching(where('v', 'EQUAL', 1))).toEqual(sorted(['one', 'oneDouble']));
    expect(await matching(where('v', 'EQUAL', dbl(1)))).toEqual(sorted(['one', 'oneDouble']));
    expect(await matching(where('v', 'EQUAL', nul()))).toEqual(['null']);
    expect(await matching(where('v', 'EQUAL', dbl(NaN)))).toEqual([]);
    expect(await matching(where('v', 'EQUAL', arr(int(1), dbl(2))))).toEqual(['array']);
  });

  it('!= and not-in exclude documents missing the field and nulls', async () => {
    const everyValue = Object.keys(MIXED).filter((id) => id !== 'null');
    expect(await matching(where('v', 'NOT_EQUAL', 1))).toEqual(sorted(everyValue.filter((id) => id !== 'one' && id !== 'oneDouble')));
    expect(await matching(where('v', 'NOT_IN', arr(str('a'), int(10))))).toEqual(sorted(everyValue.filter((id) => id !== 'a' && id !== 'ten')));
    expect(await matching(where('v', 'NOT_IN', arr(str('a'), nul())))).toEqual([]);
  });

  it('in, array-contains and array-contains-any', async () => {
    expect(await matching(where('v', 'IN', arr(dbl(1), str('b'), arr(int(1), int(2)))))).toEqual(sorted(['one', 'oneDouble', 'b', 'array']));
    expect(await matching(where('v', 'ARRAY_CONTAINS', dbl(2)))).toEqual(['array']);
    expect(await matching(where('v', 'ARRAY_CONTAINS', nul()))).toEqual(['arrayOfB']);
    expect(await matching(where('v', 'ARRAY_CONTAINS_ANY', arr(str('b'), int(1))))).toEqual(sorted(['array', 'arrayOfB']));
  });

  it('unary filters', async () => {
    expect(await matching(unary('v', 'IS_NAN'))).toEqual(['nan']);
    expect(await matching(unary('v', 'IS_NULL'))).toEqual(['null']);
    const everyValue = Object.keys(MIXED).filter((id) => id !== 'null');
    expect(await matching(unary('v', 'IS_NOT_NULL'))).toEqual(sorted(everyValue));
    expect(await matching(unary('v', 'IS_NOT_NAN'))).toEqual(sorted(everyValue.filter((id) => id !== 'nan')));
  });

  it('composite AND / OR, nested', async () => {
    expect(await matching(or(where('v', 'EQUAL', 'a'), where('v', 'GREATER_THAN', 5)))).toEqual(sorted(['a', 'ten']));
    expect(await matching(and(where('v', 'GREATER_THAN', 0), or(where('v', 'LESS_THAN', 2), where('v', 'EQUAL', 10))))).toEqual(
      sorted(['one', 'oneDouble', 'ten']),
    );
    expect(await matching(and(where('v', 'EQUAL', 'a')))).toEqual(['a']);
  });
});

describe('field paths, order, cursors, offset, limit, projections', () => {
  let db: Database;
  beforeAll(async () => {
    ({ db } = setup());
    await commit(db, [
      set('p/a', { n: 3, tag: 'x', nested: { deep: 2 }, 'odd key': 1 }),
      set('p/b', { n: 1, tag: 'y', nested: { deep: 1 } }),
      set('p/c', { n: 2, tag: 'x', nested: { deep: 3 }, 'odd key': 2 }),
      set('p/d', { n: 2, tag: 'y' }),
      set('p/e', { tag: 'z' }),
      set('p/f', { n: 'text', tag: 'x' }),
    ]);
  });

  it('filters and orders on nested and backquoted field paths', async () => {
    expect(await ids(db, collection('p', { where: where('nested.deep', 'GREATER_THAN', 1) }))).toEqual(['a', 'c']);
    expect(await ids(db, collection('p', { orderBy: [orderBy('nested.deep', 'DESCENDING')] }))).toEqual(['c', 'a', 'b']);
    expect(await ids(db, collection('p', { where: where('`odd key`', 'EQUAL', 2) }))).toEqual(['c']);
  });

  it('orders by value, breaks ties by name in the last direction, and excludes documents missing the field', async () => {
    expect(await ids(db, collection('p', { orderBy: [orderBy('n')] }))).toEqual(['b', 'c', 'd', 'a', 'f']);
    expect(await ids(db, collection('p', { orderBy: [orderBy('n', 'DESCENDING')] }))).toEqual(['f', 'a', 'd', 'c', 'b']);
    expect(await ids(db, collection('p', { orderBy: [orderBy('tag', 'DESCENDING'), orderBy('n')] }))).toEqual(['b', 'd', 'c', 'a', 'f']);
    expect(await ids(db, collection('p', { orderBy: [orderBy('__name__', 'DESCENDING')] }))).toEqual(['f', 'e', 'd', 'c', 'b', 'a']);
  });

  it('orders implicitly by inequality fields (lexicographically) before __name__', async () => {
    expect(await ids(db, collection('p', { where: where('n', 'GREATER_THAN', 0) }))).toEqual(['b', 'c', 'd', 'a']);
    expect(await ids(db, collection('p', { where: where('n', 'NOT_EQUAL', 2) }))).toEqual(['b', 'a', 'f']);
    expect(await ids(db, collection('p', { where: unary('n', 'IS_NOT_NULL') }))).toEqual(['b', 'c', 'd', 'a', 'f']);
    // Explicit order first, then the inequality field in the explicit order's direction.
    expect(await ids(db, collection('p', { where: where('n', 'GREATER_THAN', 0), orderBy: [orderBy('tag', 'DESCENDING')] }))).toEqual(['d', 'b', 'a', 'c']);
    // Two inequality fields: `n` before `tag`.
    expect(await ids(db, collection('p', { where: and(where('tag', 'GREATER_THAN', 'a'), where('n', 'LESS_THAN', 3)) }))).toEqual(['b', 'c', 'd']);
  });

  it('applies start and end cursors, inclusive or not, with partial values', async () => {
    const byN = (extra: Query) => ids(db, collection('p', { orderBy: [orderBy('n')], ...extra }));
    expect(await byN({ startAt: { values: [int(2)], before: true } })).toEqual(['c', 'd', 'a', 'f']);
    expect(await byN({ startAt: { values: [int(2)], before: false } })).toEqual(['a', 'f']);
    expect(await byN({ endAt: { values: [int(2)], before: false } })).toEqual(['b', 'c', 'd']);
    expect(await byN({ endAt: { values: [int(2)], before: true } })).toEqual(['b']);
    expect(await byN({ startAt: { values: [int(2), ref('p/c')], before: false } })).toEqual(['d', 'a', 'f']);
    expect(await byN({ startAt: { values: [int(2), ref('p/c')], before: true }, endAt: { values: [int(3)], before: false } })).toEqual(['c', 'd', 'a']);
    const descending = await ids(db, collection('p', { orderBy: [orderBy('n', 'DESCENDING')], startAt: { values: [int(2)], before: false } }));
    expect(descending).toEqual(['b']);
    const byName = await ids(db, collection('p', { startAt: { values: [ref('p/c')], before: false }, endAt: { values: [ref('p/e')], before: true } }));
    expect(byName).toEqual(['d']);
  });

  it('applies offset then limit, after the cursors', async () => {
    expect(await ids(db, collection('p', { offset: 1, limit: { value: 2 } }))).toEqual(['b', 'c']);
    expect(await ids(db, collection('p', { orderBy: [orderBy('n')], offset: 1, limit: { value: 2 } }))).toEqual(['c', 'd']);
    expect(await ids(db, collection('p', { orderBy: [orderBy('n')], startAt: { values: [int(2)], before: false }, offset: 1 }))).toEqual(['f']);
    expect(await ids(db, collection('p', { limit: { value: 0 } }))).toEqual([]);
    expect(await ids(db, collection('p', { offset: 10 }))).toEqual([]);
  });

  it('projects selected fields, or only the name', async () => {
    const responses = await db.runQuery(
      { parent: ROOT, structuredQuery: collection('p', { select: { fields: [{ fieldPath: 'nested.deep' }, { fieldPath: 'tag' }] }, limit: { value: 2 } }) },
      OWNER,
    );
    expect(responses.map((r) => plainFields(present(r.document, 'document').fields))).toEqual([
      { nested: { deep: 2 }, tag: 'x' },
      { nested: { deep: 1 }, tag: 'y' },
    ]);
    expect(present(responses[0].document, 'document').updateTime).toBeTruthy();
    const nameOnly = await db.runQuery({ parent: ROOT, structuredQuery: collection('p', { select: { fields: [{ fieldPath: '__name__' }] } }) }, OWNER);
    expect(nameOnly.map((r) => present(r.document, 'document').fields)).toEqual([{}, {}, {}, {}, {}, {}]);
  });

  it('answers an empty result with a single response carrying only the read time', async () => {
    const responses = await db.runQuery({ parent: ROOT, structuredQuery: collection('nothing') }, OWNER);
    expect(responses).toHaveLength(1);
    expect(Object.keys(responses[0])).toEqual(['readTime']);
  });
});

describe('collections, collection groups and all descendants', () => {
  let db: Database;
  beforeAll(async () => {
    ({ db } = setup());
    await commit(db, [
      set('posts/p1', { v: 1 }),
      set('users/u1', { v: 1 }),
      set('users/u1/posts/a', { v: 2 }),
      set('users/u1/posts/b', { v: 3 }),
      set('users/u1/posts/b/posts/deep', { v: 4 }),
      set('users/u2/posts/c', { v: 5 }),
      set('users/u2/likes/l', { v: 6 }),
      set('other/o/posts/d', { v: 7 }),
    ]);
  });

  it('queries one collection, at the root or under a document', async () => {
    expect(await names(db, collection('posts'))).toEqual(['posts/p1']);
    expect(await names(db, collection('posts'), doc('users/u1'))).toEqual(['users/u1/posts/a', 'users/u1/posts/b']);
    expect(await names(db, collection('posts'), doc('users/none'))).toEqual([]);
  });

  it('collection groups find every collection with that id below the parent, in name order', async () => {
    const group = { from: [{ collectionId: 'posts', allDescendants: true }] };
    expect(await names(db, group)).toEqual([
      'other/o/posts/d',
      'posts/p1',
      'users/u1/posts/a',
      'users/u1/posts/b',
      'users/u1/posts/b/posts/deep',
      'users/u2/posts/c',
    ]);
    expect(await names(db, group, doc('users/u1'))).toEqual(['users/u1/posts/a', 'users/u1/posts/b', 'users/u1/posts/b/posts/deep']);
    expect(await names(db, { ...group, where: where('v', 'GREATER_THAN', 3), orderBy: [orderBy('v', 'DESCENDING')] })).toEqual([
      'other/o/posts/d',
      'users/u2/posts/c',
      'users/u1/posts/b/posts/deep',
    ]);
  });

  it("kindless all-descendant queries page through everything below a parent (recursiveDelete's query)", async () => {
    const kindless = (extra: Query = {}): Query => ({
      from: [{ allDescendants: true }],
      select: { fields: [{ fieldPath: '__name__' }] },
      ...extra,
    });
    expect(await names(db, kindless(), doc('users/u1'))).toEqual(['users/u1/posts/a', 'users/u1/posts/b', 'users/u1/posts/b/posts/deep']);
    // A collection's descendants, the way firebase-admin bounds them, paged with startAfter.
    const bounds = and(
      where('__name__', 'GREATER_THAN_OR_EQUAL', ref('users/__id-9223372036854775808__')),
      where('__name__', 'LESS_THAN', { referenceValue: `${ROOT}/users\u0000/__id-9223372036854775808__` }),
    );
    const page1 = await names(db, kindless({ where: bounds, limit: { value: 3 } }));
    expect(page1).toEqual(['users/u1', 'users/u1/posts/a', 'users/u1/posts/b']);
    const page2 = await names(
      db,
      kindless({ where: bounds, limit: { value: 3 }, orderBy: [orderBy('__name__')], startAt: { values: [ref(page1[2])], before: false } }),
    );
    expect(page2).toEqual(['users/u1/posts/b/posts/deep', 'users/u2/likes/l', 'users/u2/posts/c']);
  });

  it('walks name order backwards from a cursor, in a collection, a group and a kindless scan', async () => {
    const descending = (extra: Query) => ({ orderBy: [orderBy('__name__', 'DESCENDING')], limit: { value: 2 }, ...extra });
    expect(await names(db, collection('posts', descending({ startAt: { values: [ref('users/u1/posts/b')], before: false } })), doc('users/u1'))).toEqual([
      'users/u1/posts/a',
    ]);
    const group = { from: [{ collectionId: 'posts', allDescendants: true }] };
    expect(await names(db, { ...group, ...descending({ startAt: { values: [ref('users/u1/posts/b')], before: true } }) })).toEqual([
      'users/u1/posts/b',
      'users/u1/posts/a',
    ]);
    expect(await names(db, { from: [{ allDescendants: true }], ...descending({ endAt: { values: [ref('users/u2/likes/l')], before: false } }) })).toEqual([
      'users/u2/posts/c',
      'users/u2/likes/l',
    ]);
  });

  it('filters on __name__ with references', async () => {
    expect(await names(db, collection('posts', { where: where('__name__', 'EQUAL', ref('users/u1/posts/b')) }), doc('users/u1'))).toEqual(['users/u1/posts/b']);
    expect(await names(db, collection('users', { where: where('__name__', 'IN', arr(ref('users/u2'), ref('users/zz'))) }))).toEqual([]);
    expect(await names(db, collection('users', { where: where('__name__', 'GREATER_THAN', ref('users/u1')) }))).toEqual([]);
    expect(await names(db, { from: [{ collectionId: 'posts', allDescendants: true }], where: where('__name__', 'LESS_THAN', ref('users/u1')) })).toEqual([
      'other/o/posts/d',
      'posts/p1',
    ]);
    await expectRpcError(names(db, collection('users', { where: where('__name__', 'EQUAL', 'u1') })), Code.INVALID_ARGUMENT, /__name__/);
  });
});

describe('query validation', () => {
  const { db } = setup();
  const run = (structuredQuery: Query, parent = ROOT) => db.runQuery({ parent, structuredQuery }, OWNER);

  it('rejects malformed queries with INVALID_ARGUMENT', async () => {
    await expectRpcError(run({}), Code.INVALID_ARGUMENT, /exactly one collection selector/);
    await expectRpcError(run({ from: [{ collectionId: 'a' }, { collectionId: 'b' }] }), Code.INVALID_ARGUMENT);
    await expectRpcError(run({ from: [{}] }), Code.INVALID_ARGUMENT, /collection_id/);
    await expectRpcError(
      run(collection('c', { where: { fieldFilter: { field: { fieldPath: 'a' }, op: 'BOGUS' as never, value: int(1) } } })),
      Code.INVALID_ARGUMENT,
    );
    await expectRpcError(run(collection('c', { where: where('a', 'IN', arr()) })), Code.INVALID_ARGUMENT, /non-empty/);
    await expectRpcError(run(collection('c', { where: where('a', 'IN', int(1)) })), Code.INVALID_ARGUMENT, /array value/);
    await expectRpcError(
      run(collection('c', { where: where('a', 'IN', arr(...Array.from({ length: 31 }, (_, i) => int(i)))) })),
      Code.INVALID_ARGUMENT,
      /up to 30/,
    );
    await expectRpcError(
      run(collection('c', { where: where('a', 'NOT_IN', arr(...Array.from({ length: 11 }, (_, i) => int(i)))) })),
      Code.INVALID_ARGUMENT,
      /up to 10/,
    );
    await expectRpcError(run(collection('c', { where: { compositeFilter: { op: 'AND' as never, filters: [] } } })), Code.INVALID_ARGUMENT);
    await expectRpcError(run(collection('c', { startAt: { values: [int(1), ref('c/a'), int(3)] } })), Code.INVALID_ARGUMENT, /orders by only 1/);
    await expectRpcError(run(collection('c', { startAt: { values: [str('a')] } })), Code.INVALID_ARGUMENT, /document reference/);
    // A cursor on __name__ is a value like any other: one member of the oneof, refused whole otherwise.
    await expectRpcError(
      run(collection('c', { startAt: { values: [{ referenceValue: doc('c/a'), bytesValue: Buffer.from([1]) }] } })),
      Code.INVALID_ARGUMENT,
      /sets both "referenceValue" and "bytesValue"/,
    );
    await expectRpcError(run(collection('c', { limit: { value: -1 } })), Code.INVALID_ARGUMENT);
    await expectRpcError(run(collection('c', { offset: -1 })), Code.INVALID_ARGUMENT);
    await expectRpcError(run(collection('c', { orderBy: [orderBy('a'), orderBy('a')] })), Code.INVALID_ARGUMENT, /more than once/);
    await expectRpcError(run(collection('c', { where: where('a b', 'EQUAL', 1) })), Code.INVALID_ARGUMENT, /backquoted/);
    await expectRpcError(run(collection('c'), doc('c')), Code.INVALID_ARGUMENT, /not a collection/);
  });

  it('validates find_nearest: a vector query vector, a distance measure, a limit of 1 to 1000, no window', async () => {
    const vector = { mapValue: { fields: { __type__: str('__vector__'), value: arr(dbl(1)) } } };
    const nearest = (fields: Record<string, unknown>, query: Record<string, unknown> = {}) =>
      run(
        collection('c', {
          ...query,
          findNearest: { vectorField: { fieldPath: 'v' }, queryVector: vector, distanceMeasure: 'EUCLIDEAN', limit: { value: 1 }, ...fields },
        }),
      );
    await expectRpcError(nearest({ queryVector: arr(dbl(1)) }), Code.INVALID_ARGUMENT, /must be a vector/);
    const withText = { mapValue: { fields: { __type__: str('__vector__'), value: arr(str('x')) } } };
    await expectRpcError(nearest({ queryVector: withText }), Code.INVALID_ARGUMENT, /only numbers/);
    await expectRpcError(nearest({ distanceMeasure: undefined }), Code.INVALID_ARGUMENT, /distance_measure/);
    await expectRpcError(nearest({ limit: { value: 0 } }), Code.INVALID_ARGUMENT, /limit/);
    await expectRpcError(nearest({}, { offset: 1 }), Code.INVALID_ARGUMENT, /offset/);
    expect((await nearest({})).filter((response) => response.document)).toEqual([]);
  });

  it('answers UNIMPLEMENTED for what the emulator does not support, naming it', async () => {
    await expectRpcError(
      db.runQuery({ parent: ROOT, structuredQuery: collection('c'), explainOptions: { analyze: true } }, OWNER),
      Code.UNIMPLEMENTED,
      /explain/,
    );
  });
});

describe('aggregations', () => {
  let db: Database;
  beforeAll(async () => {
    ({ db } = setup());
    await commit(db, [
      set('n/a', { i: 1, d: 1.5, big: int('9223372036854775807'), s: 'x' }),
      set('n/b', { i: 2, d: 2.5, big: int(1) }),
      set('n/c', { i: 3, s: 'y' }),
      set('n/d', { nan: { doubleValue: NaN } }),
    ]);
  });
  const aggregate = async (aggregations: object[], query: Query = collection('n')) => {
    const [response] = await db.runAggregationQuery({ parent: ROOT, structuredAggregationQuery: { structuredQuery: query, aggregations } }, OWNER);
    expect(response.readTime).toBeTruthy();
    return response.result.aggregateFields;
  };

  it("count, with up_to and with the query's filters and limit", async () => {
    expect(
      await aggregate([
        { alias: 'all', count: {} },
        { alias: 'capped', count: { upTo: { value: '2' } } },
      ]),
    ).toEqual({
      all: int(4),
      capped: int(2),
    });
    expect(await aggregate([{ alias: 'n', count: {} }], collection('n', { where: where('i', 'GREATER_THAN', 1), limit: { value: 1 } }))).toEqual({
      n: int(1),
    });
  });

  it('sum stays an integer until a double or an overflow, skipping non-numbers', async () => {
    expect(await aggregate([{ alias: 'i', sum: { field: { fieldPath: 'i' } } }])).toEqual({ i: int(6) });
    expect(await aggregate([{ alias: 'd', sum: { field: { fieldPath: 'd' } } }])).toEqual({ d: dbl(4) });
    expect(await aggregate([{ alias: 'big', sum: { field: { fieldPath: 'big' } } }])).toEqual({ big: dbl(9223372036854775808) });
    expect(await aggregate([{ alias: 's', sum: { field: { fieldPath: 's' } } }])).toEqual({ s: int(0) });
    expect(await aggregate([{ alias: 'nan', sum: { field: { fieldPath: 'nan' } } }])).toEqual({ nan: dbl(NaN) });
  });

  it('avg is a double, null when no value is numeric', async () => {
    expect(
      await aggregate([
        { alias: 'i', avg: { field: { fieldPath: 'i' } } },
        { alias: 's', avg: { field: { fieldPath: 's' } } },
      ]),
    ).toEqual({
      i: dbl(2),
      s: nul(),
    });
  });

  it('names unnamed aggregations field_1, field_2 and validates the request', async () => {
    // Next to sum(i), count covers only the documents that have i (n/d has not).
    expect(await aggregate([{ count: {} }, { sum: { field: { fieldPath: 'i' } } }])).toEqual({ field_1: int(3), field_2: int(6) });
    await expectRpcError(
      aggregate([
        { alias: 'x', count: {} },
        { alias: 'x', count: {} },
      ]),
      Code.INVALID_ARGUMENT,
      /more than once/,
    );
    await expectRpcError(
      aggregate(Array.from({ length: 6 }, (_, i) => ({ alias: `a${i}`, count: {} }))),
      Code.INVALID_ARGUMENT,
      /maximum number of aggregations \(5\)/,
    );
    await expectRpcError(aggregate([]), Code.INVALID_ARGUMENT);
    await expectRpcError(aggregate([{ alias: 'x', count: { upTo: { value: '0' } } }]), Code.INVALID_ARGUMENT, /greater than zero/);
  });
});
