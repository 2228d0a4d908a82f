import { describe, expect, it } from 'vitest';
import { Code, CommitEvent } from '../../src/engine';
import {
  arr,
  commit,
  DATABASE,
  dbl,
  del,
  doc,
  expectRpcError,
  get,
  getData,
  int,
  map,
  merge,
  micros,
  nul,
  PROJECT,
  set,
  setup,
  str,
  update,
  Write,
} from './helpers';
import { present } from '../present';

type Transform = NonNullable<Write['updateTransforms']>[number];
const transformWrite = (path: string, ...fieldTransforms: Transform[]): Write => ({ transform: { document: doc(path), fieldTransforms } });

describe('set, update, delete', () => {
  it('set replaces the whole document', async () => {
    const { db } = setup();
    await commit(db, [set('c/a', { x: 1, y: { z: 2 } })]);
    await commit(db, [set('c/a', { w: 'only' })]);
    expect(await getData(db, 'c/a')).toEqual({ w: 'only' });
  });

  it('an update mask writes masked fields, deletes masked fields absent from the data, keeps the rest', async () => {
    const { db } = setup();
    await commit(db, [set('c/a', { keep: 1, gone: 2, nested: { a: 1, b: 2 }, scalar: 5 })]);
    await commit(db, [update('c/a', { nested: { a: 10 }, added: true, scalar: { deep: 1 } }, ['nested.a', 'gone', 'added', 'nested.c', 'scalar.deep'])]);
    expect(await getData(db, 'c/a')).toEqual({ keep: 1, nested: { a: 10, b: 2 }, added: true, scalar: { deep: 1 } });
  });

  it('merge (mask without precondition) creates a missing document', async () => {
    const { db } = setup();
    await commit(db, [merge('c/new', { a: { b: 1 } }, ['a.b', 'ghost'])]);
    expect(await getData(db, 'c/new')).toEqual({ a: { b: 1 } });
  });

  it('writes only the masked paths (fields outside the mask are ignored, as production); masks may overlap', async () => {
    const { db } = setup();
    await commit(db, [merge('c/a', { a: 1, b: 2 }, ['a'])]);
    await commit(db, [merge('c/a', { n: { x: 1, y: 2 } }, ['n.x'])]);
    expect(await getData(db, 'c/a')).toEqual({ a: 1, n: { x: 1 } });
    await commit(db, [merge('c/a', { n: { x: 2, z: 3 } }, ['n', 'n.x'])]);
    expect(await getData(db, 'c/a')).toEqual({ a: 1, n: { x: 2, z: 3 } });
  });

  it('update of a missing document is NOT_FOUND, create of an existing one ALREADY_EXISTS', async () => {
    const { db } = setup();
    await expectRpcError(commit(db, [update('c/none', { a: 1 }, ['a'])]), Code.NOT_FOUND, `No document to update: ${doc('c/none')}`);
    await commit(db, [set('c/a', { a: 1 }, { currentDocument: { exists: false } })]);
    await expectRpcError(
      commit(db, [set('c/a', { a: 2 }, { currentDocument: { exists: false } })]),
      Code.ALREADY_EXISTS,
      `Document already exists: ${doc('c/a')}`,
    );
    expect(await getData(db, 'c/a')).toEqual({ a: 1 });
  });

  it('an update_time precondition must match the stored update time exactly', async () => {
    const { db } = setup();
    const first = await commit(db, [set('c/a', { v: 1 })]);
    const updateTime = present(first.writeResults[0].updateTime, 'update time');
    await commit(db, [set('c/a', { v: 2 }, { currentDocument: { updateTime } })]);
    await expectRpcError(commit(db, [set('c/a', { v: 3 }, { currentDocument: { updateTime } })]), Code.FAILED_PRECONDITION);
    await expectRpcError(commit(db, [set('c/missing', { v: 3 }, { currentDocument: { updateTime } })]), Code.FAILED_PRECONDITION);
    expect(await getData(db, 'c/a')).toEqual({ v: 2 });
  });

  it('delete removes; deleting a missing document succeeds; results carry no update time', async () => {
    const { db } = setup();
    await commit(db, [set('c/a', { v: 1 })]);
    const result = await commit(db, [del('c/a'), del('c/never')]);
    expect(result.writeResults).toEqual([{}, {}]);
    expect(await get(db, 'c/a')).toBeNull();
    await expectRpcError(commit(db, [del('c/a', { currentDocument: { exists: true } })]), Code.NOT_FOUND);
  });

  it('keeps create_time, advances update_time, and leaves update_time alone when nothing changes', async () => {
    const { db } = setup();
    const created = await commit(db, [set('c/a', { v: 1 })]);
    const changed = await commit(db, [set('c/a', { v: 2 })]);
    const doc1 = await get(db, 'c/a');
    expect(present(doc1, 'c/a').createTime).toEqual(created.commitTime);
    expect(present(doc1, 'c/a').updateTime).toEqual(changed.commitTime);
    const noop = await commit(db, [set('c/a', { v: 2 })]);
    expect(micros(noop.commitTime)).toBeGreaterThan(micros(changed.commitTime));
    expect(noop.writeResults[0].updateTime).toEqual(changed.commitTime);
    expect(present(await get(db, 'c/a'), 'c/a').updateTime).toEqual(changed.commitTime);
    // A different type is a change: integer 2 and double 2.0 are different stored values.
    const retyped = await commit(db, [set('c/a', { v: dbl(2) })]);
    expect(retyped.writeResults[0].updateTime).toEqual(retyped.commitTime);
  });

  it('stamps strictly increasing commit times with microsecond precision even when the clock stands still', async () => {
    const { db } = setup({ clock: () => 1_700_000_000_000 });
    const a = await commit(db, [set('c/a', { v: 1 })]);
    const b = await commit(db, [set('c/b', { v: 1 })]);
    const c = await commit(db, []);
    expect(micros(a.commitTime)).toBe(1_700_000_000_000_000);
    expect(micros(b.commitTime)).toBe(micros(a.commitTime) + 1);
    expect(micros(c.commitTime)).toBe(micros(b.commitTime) + 1);
    expect(b.commitTime.nanos % 1000).toBe(0);
  });

  it('applies several writes to one document in order within a commit', async () => {
    const { db } = setup();
    const result = await commit(db, [
      set('c/a', { n: 1, keep: true }),
      update('c/a', { n: 2 }, ['n']),
      { ...transformWrite('c/a', { fieldPath: 'n', increment: int(5) }) },
    ]);
    expect(await getData(db, 'c/a')).toEqual({ n: 7, keep: true });
    expect(result.writeResults[2].transformResults).toEqual([int(7)]);
  });

  it('reports each commit to listeners with the changed names only', async () => {
    const { engine, db } = setup();
    const events: CommitEvent[] = [];
    const unsubscribe = engine.onCommit(PROJECT, '(default)', (event) => events.push(event));
    await commit(db, [set('c/a', { v: 1 }), set('c/b', { v: 1 })]);
    await commit(db, [set('c/a', { v: 1 }), del('c/zz')]);
    const third = await commit(db, [del('c/b')]);
    unsubscribe();
    await commit(db, [set('c/c', { v: 1 })]);
    expect(events.map((e) => e.changed)).toEqual([[doc('c/a'), doc('c/b')], [], [doc('c/b')]]);
    expect(events[2].commitTime).toEqual(third.commitTime);
  });
});

describe('field transforms', () => {
  it('serverTimestamp is the request time with millisecond precision, the same for every field', async () => {
    const { db } = setup({ clock: () => 1_700_000_000_123.456 });
    const result = await commit(db, [
      set('c/a', {}, { updateTransforms: [{ fieldPath: 't', setToServerValue: 'REQUEST_TIME' }] }),
      transformWrite('c/b', { fieldPath: 'x.t', setToServerValue: 'REQUEST_TIME' }),
    ]);
    const expected = { timestampValue: { seconds: '1700000000', nanos: 123_000_000 } };
    expect(result.commitTime).toEqual({ seconds: '1700000000', nanos: 123_456_000 });
    expect(result.writeResults[0].transformResults).toEqual([expected]);
    expect(result.writeResults[1].transformResults).toEqual([expected]);
    expect(present(await get(db, 'c/b'), 'c/b').fields).toEqual({ x: map({ t: expected }) });
  });

  it('increment: integers stay integers and saturate; doubles win; non-numbers are replaced', async () => {
    const { db } = setup();
    await commit(db, [set('c/a', { i: 5, d: 1.5, s: 'text', big: int('9223372036854775800'), small: int('-9223372036854775800') })]);
    const result = await commit(db, [
      transformWrite(
        'c/a',
        { fieldPath: 'i', increment: int(2) },
        { fieldPath: 'd', increment: int(1) },
        { fieldPath: 's', increment: int(3) },
        { fieldPath: 'missing', increment: dbl(0.5) },
        { fieldPath: 'big', increment: int(100) },
        { fieldPath: 'small', increment: int(-100) },
      ),
      transformWrite('c/a', { fieldPath: 'i', increment: dbl(0.5) }),
    ]);
    expect(result.writeResults[0].transformResults).toEqual([int(7), dbl(2.5), int(3), dbl(0.5), int('9223372036854775807'), int('-9223372036854775808')]);
    expect(result.writeResults[1].transformResults).toEqual([dbl(7.5)]);
  });

  it('maximum and minimum: mixed types take the winning operand, equal values keep the stored one, NaN wins', async () => {
    const { db } = setup();
    await commit(db, [set('c/a', { a: 3, b: 3, c: -0.0, d: 1, e: 'x', f: 5 })]);
    const result = await commit(db, [
      transformWrite(
        'c/a',
        { fieldPath: 'a', maximum: dbl(3.5) },
        { fieldPath: 'b', maximum: dbl(3) },
        { fieldPath: 'c', maximum: int(0) },
        { fieldPath: 'd', minimum: dbl(NaN) },
        { fieldPath: 'e', minimum: int(9) },
        { fieldPath: 'f', minimum: dbl(4.5) },
        { fieldPath: 'g', maximum: int(1) },
      ),
    ]);
    expect(result.writeResults[0].transformResults).toEqual([dbl(3.5), int(3), dbl(-0), dbl(NaN), int(9), dbl(4.5), int(1)]);
  });

  it('arrayUnion appends missing elements only; arrayRemove removes every equivalent; results are null', async () => {
    const { db } = setup();
    await commit(db, [set('c/a', { u: [1, 'a', { doubleValue: NaN }], r: [1, 2.0, 1, 'x', null, 3], s: 'not an array' })]);
    const result = await commit(db, [
      transformWrite(
        'c/a',
        { fieldPath: 'u', appendMissingElements: { values: [dbl(1), str('b'), dbl(NaN), str('b'), nul()] } },
        { fieldPath: 'r', removeAllFromArray: { values: [dbl(1), int(2), nul()] } },
        { fieldPath: 's', appendMissingElements: { values: [int(1)] } },
        { fieldPath: 'n', removeAllFromArray: { values: [int(1)] } },
      ),
    ]);
    expect(result.writeResults[0].transformResults).toEqual([nul(), nul(), nul(), nul()]);
    expect(present(await get(db, 'c/a'), 'c/a').fields).toEqual({
      u: arr(int(1), str('a'), dbl(NaN), str('b'), nul()),
      r: arr(str('x'), int(3)),
      s: arr(int(1)),
      n: arr(),
    });
  });

  it('a transform-only write creates the document, and honours preconditions', async () => {
    const { db } = setup();
    await commit(db, [transformWrite('c/new', { fieldPath: 'n', increment: int(1) })]);
    expect(await getData(db, 'c/new')).toEqual({ n: 1 });
    await expectRpcError(
      commit(db, [{ ...transformWrite('c/other', { fieldPath: 'n', increment: int(1) }), currentDocument: { exists: true } }]),
      Code.NOT_FOUND,
    );
  });

  it('rejects invalid transforms', async () => {
    const { db } = setup();
    await expectRpcError(commit(db, [transformWrite('c/a', { fieldPath: 'n', increment: str('1') })]), Code.INVALID_ARGUMENT, /integer or double/);
    await expectRpcError(commit(db, [transformWrite('c/a', { fieldPath: 'n' })]), Code.INVALID_ARGUMENT, /exactly one transformation/);
    await expectRpcError(
      commit(db, [transformWrite('c/a', { fieldPath: 'n', increment: int(1) }, { fieldPath: 'n', maximum: int(1) })]),
      Code.INVALID_ARGUMENT,
      /twice/,
    );
    await expectRpcError(
      commit(db, [transformWrite('c/a', { fieldPath: 'n', appendMissingElements: { values: [arr(int(1))] } })]),
      Code.INVALID_ARGUMENT,
      /array cannot directly contain another array/,
    );
    await expectRpcError(commit(db, [transformWrite('c/a')]), Code.INVALID_ARGUMENT, /no field transforms/);
  });
});

describe("verify (the web SDK's transactions)", () => {
  it('checks the precondition of a document read but not written, and changes nothing', async () => {
    const { db, engine } = setup();
    const created = await commit(db, [set('c/read', { v: 1 })]);
    const readTime = present(created.writeResults[0].updateTime, 'update time');
    const events: CommitEvent[] = [];
    engine.onCommit(PROJECT, '(default)', (event) => events.push(event));
    const verify = (path: string, currentDocument: Write['currentDocument']) => ({ verify: doc(path), currentDocument }) as Write;
    const ok = await commit(db, [verify('c/read', { updateTime: readTime }), verify('c/absent', { exists: false }), set('c/w', { v: 1 })]);
    expect(ok.writeResults[0]).toEqual({ updateTime: readTime });
    expect(events.map((e) => e.changed)).toEqual([[doc('c/w')]]);
    await commit(db, [set('c/read', { v: 2 })]);
    await expectRpcError(commit(db, [verify('c/read', { updateTime: readTime }), set('c/w', { v: 2 })]), Code.FAILED_PRECONDITION);
    expect(await getData(db, 'c/w')).toEqual({ v: 1 });
    await expectRpcError(commit(db, [{ verify: doc('c/read') } as Write]), Code.INVALID_ARGUMENT, /needs a current_document/);
  });
});

describe('validation and atomicity', () => {
  it('applies nothing when any write of the commit fails', async () => {
    const { db, engine } = setup();
    await commit(db, [set('c/existing', { v: 1 })]);
    const events: CommitEvent[] = [];
    engine.onCommit(PROJECT, '(default)', (event) => events.push(event));
    await expectRpcError(commit(db, [set('c/a', { v: 1 }), del('c/existing'), update('c/missing', { v: 1 }, ['v'])]), Code.NOT_FOUND);
    expect(await get(db, 'c/a')).toBeNull();
    expect(await getData(db, 'c/existing')).toEqual({ v: 1 });
    expect(events).toEqual([]);
  });

  it("rejects documents over 1 MiB with Firestore's message, counting name, fields and overhead", async () => {
    const { db } = setup();
    // name c/a: 2 + 2 + 16 = 20; field "s": 2 + (length + 1); document overhead 32.
    const fits = 1_048_576 - 20 - 32 - 2 - 1;
    await commit(db, [set('c/a', { s: 'x'.repeat(fits) })]);
    await expectRpcError(
      commit(db, [set('c/b', { v: 1 }), set('c/a', { s: 'x'.repeat(fits + 1) })]),
      Code.INVALID_ARGUMENT,
      `Document '${doc('c/a')}' cannot be written because its size (1,048,577 bytes) exceeds the maximum allowed size of 1,048,576 bytes.`,
    );
    expect(await get(db, 'c/b')).toBeNull();
  });

  it('caps a commit at 10 MiB of request, not at a number of writes', async () => {
    const { db } = setup();
    await commit(
      db,
      Array.from({ length: 1000 }, (_, i) => set(`c/d${i}`, { i })),
    );
    const large = Array.from({ length: 11 }, (_, i) => set(`big/d${i}`, { text: 'x'.repeat(1_000_000) }));
    await expectRpcError(commit(db, large), Code.INVALID_ARGUMENT, /Request payload size exceeds the limit: 10485760 bytes/);
    expect(await getData(db, 'big/d0')).toBeNull();
    await commit(db, large.slice(0, 10));
  });

  it('caps field transforms at 500 per document in one commit, counting array elements', async () => {
    const { db } = setup();
    const union = (path: string, n: number, from = 0): Transform => ({
      fieldPath: path,
      appendMissingElements: { values: Array.from({ length: n }, (_, i) => int(from + i)) },
    });
    await commit(db, [transformWrite('c/t', union('a', 250)), transformWrite('c/t', union('b', 250))]);
    await expectRpcError(
      commit(db, [
        transformWrite('c/u', union('a', 250)),
        transformWrite('c/u', union('b', 250)),
        transformWrite('c/u', { fieldPath: 'n', increment: int(1) }),
      ]),
      Code.INVALID_ARGUMENT,
      /more than 500 field transformations/,
    );
    // Per document: two documents may take 500 each.
    await commit(db, [transformWrite('c/v', union('a', 500)), transformWrite('c/w', union('a', 500))]);
  });

  it('updating a document deleted earlier in the same commit is INVALID_ARGUMENT', async () => {
    const { db } = setup();
    await commit(db, [set('c/a', { n: 1 })]);
    await expectRpcError(commit(db, [del('c/a'), update('c/a', { n: 2 }, ['n'])]), Code.INVALID_ARGUMENT, /deleted earlier in the same request/);
    expect(await getData(db, 'c/a')).toEqual({ n: 1 });
    // Deleting then setting is a replacement.
    await commit(db, [del('c/a'), set('c/a', { n: 3 })]);
    expect(await getData(db, 'c/a')).toEqual({ n: 3 });
  });

  it('rejects invalid document names', async () => {
    const { db } = setup();
    const cases: [string, RegExp][] = [
      [doc('c'), /even number of segments/],
      [doc('c/a/sub'), /even number of segments/],
      [doc('c//a'), /empty path segment/],
      [doc('c/__reserved__'), /reserved id "__reserved__"/],
      [doc('__c__/a'), /reserved id/],
      [doc('c/.'), /invalid id "."/],
      [doc('c/..'), /invalid id ".."/],
      [doc(`c/${'x'.repeat(1501)}`), /longer than 1500 bytes/],
      [doc(Array.from({ length: 5 }, (_, i) => `c/${'y'.repeat(1300)}${i}`).join('/')), /longer than 6144 bytes/],
      [doc(Array.from({ length: 101 }, (_, i) => `c/${i}`).join('/')), /deeper than/],
      [doc('c/a\uD800'), /UTF-8/],
      ['projects/other/databases/(default)/documents/c/a', /not in the database/],
      ['c/a', /not a valid resource name/],
    ];
    for (const [name, message] of cases) {
      await expectRpcError(db.commit({ database: DATABASE, writes: [{ delete: name }] }, { kind: 'owner' }), Code.INVALID_ARGUMENT, message);
    }
    await commit(db, [set(Array.from({ length: 100 }, (_, i) => `c/${i}`).join('/'), { deep: true })]);
  });

  it('rejects a request for another database, and malformed writes', async () => {
    const { db } = setup();
    await expectRpcError(
      db.commit({ database: `projects/${PROJECT}/databases/other`, writes: [] }, { kind: 'owner' }),
      Code.INVALID_ARGUMENT,
      /does not match/,
    );
    await expectRpcError(commit(db, [{ ...set('c/a', {}), delete: doc('c/a') }]), Code.INVALID_ARGUMENT, /exactly one of update, delete, verify or transform/);
    await expectRpcError(commit(db, [{}]), Code.INVALID_ARGUMENT, /exactly one of update, delete, verify or transform/);
    await expectRpcError(
      commit(db, [set('c/a', {}, { currentDocument: { exists: true, updateTime: { seconds: '1' } } })]),
      Code.INVALID_ARGUMENT,
      /exists or update_time, not both/,
    );
    await expectRpcError(commit(db, [{ ...set('c/a', {}), unknownField: 1 } as Write]), Code.UNIMPLEMENTED, /unknownField/);
    await expectRpcError(commit(db, [set('c/a', { '': 1 })]), Code.INVALID_ARGUMENT, /Field names cannot be empty/);
    await expectRpcError(
      commit(db, [{ update: { name: doc('c/a'), fields: { f: { pipelineValue: {} } as never } } }]),
      Code.UNIMPLEMENTED,
      /value type "pipelineValue"/,
    );
  });
});
