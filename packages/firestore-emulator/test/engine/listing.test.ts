import { describe, expect, it } from 'vitest';
import { Code, CommitEvent } from '../../src/engine';
import { commit, DATABASE, del, doc, expectRpcError, getData, OWNER, plainFields, PROJECT, ROOT, set, setup, update } from './helpers';

describe('ListDocuments', () => {
  it('lists a collection in name order, with masks and page tokens', async () => {
    const { db } = setup();
    await commit(db, [set('c/b', { v: 2, w: 1 }), set('c/a', { v: 1, w: 1 }), set('c/c', { v: 3 }), set('d/x', {}), set('c/a/sub/s', {})]);
    const first = await db.listDocuments({ parent: ROOT, collectionId: 'c', pageSize: 2, mask: { fieldPaths: ['v'] } }, OWNER);
    expect(first.documents.map((d) => [d.name, plainFields(d.fields)])).toEqual([
      [doc('c/a'), { v: 1 }],
      [doc('c/b'), { v: 2 }],
    ]);
    expect(first.nextPageToken).toBeTruthy();
    const second = await db.listDocuments({ parent: ROOT, collectionId: 'c', pageSize: 2, pageToken: first.nextPageToken }, OWNER);
    expect(second.documents.map((d) => d.name)).toEqual([doc('c/c')]);
    expect(second.nextPageToken).toBeUndefined();
    const sub = await db.listDocuments({ parent: doc('c/a'), collectionId: 'sub' }, OWNER);
    expect(sub.documents.map((d) => d.name)).toEqual([doc('c/a/sub/s')]);
  });

  it('with show_missing, also lists documents that only have subcollections, by name only', async () => {
    const { db } = setup();
    await commit(db, [set('c/a', {}), set('c/ghost/sub/x', {}), set('c/ghost/sub/y', {}), set('c/z/deep/1/deeper/2', {}), set('c2/q', {})]);
    const listed = await db.listDocuments({ parent: ROOT, collectionId: 'c', showMissing: true, mask: { fieldPaths: [] } }, OWNER);
    expect(listed.documents).toEqual([expect.objectContaining({ name: doc('c/a'), fields: {} }), { name: doc('c/ghost') }, { name: doc('c/z') }]);
    const paged = await db.listDocuments({ parent: ROOT, collectionId: 'c', showMissing: true, pageSize: 1 }, OWNER);
    const next = await db.listDocuments({ parent: ROOT, collectionId: 'c', showMissing: true, pageSize: 1, pageToken: paged.nextPageToken }, OWNER);
    expect(next.documents).toEqual([{ name: doc('c/ghost') }]);
    const plain = await db.listDocuments({ parent: ROOT, collectionId: 'c' }, OWNER);
    expect(plain.documents.map((d) => d.name)).toEqual([doc('c/a')]);
  });

  it('rejects what it cannot honour', async () => {
    const { db } = setup();
    await expectRpcError(db.listDocuments({ parent: ROOT, collectionId: 'c', orderBy: 'v desc' }, OWNER), Code.UNIMPLEMENTED, /order_by/);
    await expectRpcError(db.listDocuments({ parent: ROOT }, OWNER), Code.UNIMPLEMENTED, /collection_id/);
    await expectRpcError(db.listDocuments({ parent: ROOT, collectionId: 'c', pageToken: '!!' }, OWNER), Code.INVALID_ARGUMENT, /page_token/);
  });
});

describe('ListCollectionIds', () => {
  it('lists the collections below a parent that hold documents at any depth, paged, as of a read time', async () => {
    const { db } = setup();
    const first = await commit(db, [set('b/1', {}), set('a/1/x/1', {}), set('a/1/y/1/z/1', {}), set('c/1', {})]);
    await commit(db, [del('c/1')]);
    expect((await db.listCollectionIds({ parent: ROOT }, OWNER)).collectionIds).toEqual(['a', 'b']);
    expect((await db.listCollectionIds({ parent: ROOT, readTime: first.commitTime }, OWNER)).collectionIds).toEqual(['a', 'b', 'c']);
    expect((await db.listCollectionIds({ parent: doc('a/1') }, OWNER)).collectionIds).toEqual(['x', 'y']);
    const page = await db.listCollectionIds({ parent: ROOT, pageSize: 1 }, OWNER);
    expect(page.collectionIds).toEqual(['a']);
    const rest = await db.listCollectionIds({ parent: ROOT, pageSize: 1, pageToken: page.nextPageToken }, OWNER);
    expect(rest).toEqual({ collectionIds: ['b'] });
  });
});

describe('BatchWrite', () => {
  it('applies each write independently and reports a status per write', async () => {
    const { db, engine } = setup();
    await commit(db, [set('c/existing', { v: 1 })]);
    const events: CommitEvent[] = [];
    engine.onCommit(PROJECT, '(default)', (event) => events.push(event));
    const response = await db.batchWrite(
      {
        database: DATABASE,
        writes: [
          set('c/a', { v: 1 }),
          update('c/missing', { v: 1 }, ['v']),
          del('c/existing'),
          set('c/existing2', { v: 1 }, { currentDocument: { exists: false } }),
        ],
        labels: { origin: 'test' },
      },
      OWNER,
    );
    expect(response.status.map((s) => s.code)).toEqual([Code.OK, Code.NOT_FOUND, Code.OK, Code.OK]);
    expect(response.status[1].message).toBe(`No document to update: ${doc('c/missing')}`);
    expect(response.writeResults[0].updateTime).toBeTruthy();
    expect(response.writeResults[1]).toEqual({});
    expect(await getData(db, 'c/a')).toEqual({ v: 1 });
    expect(await getData(db, 'c/existing')).toBeNull();
    expect(events).toHaveLength(1);
    expect(events[0].changed).toEqual([doc('c/a'), doc('c/existing'), doc('c/existing2')]);
  });

  it('fails only the writes whose documents stay locked by a transaction', async () => {
    const { db } = setup({ lockWaitTimeoutMs: 40 });
    await commit(db, [set('c/locked', { v: 1 })]);
    await db.batchGetDocuments({ database: DATABASE, documents: [doc('c/locked')], newTransaction: {} }, OWNER);
    const response = await db.batchWrite({ database: DATABASE, writes: [set('c/free', { v: 1 }), set('c/locked', { v: 2 })] }, OWNER);
    expect(response.status.map((s) => s.code)).toEqual([Code.OK, Code.ABORTED]);
    expect(await getData(db, 'c/free')).toEqual({ v: 1 });
    expect(await getData(db, 'c/locked')).toEqual({ v: 1 });
  });

  it('rejects the whole request when it is malformed, too large, or writes a document twice', async () => {
    const { db } = setup();
    await expectRpcError(
      db.batchWrite({ database: DATABASE, writes: [set('c/a', {}), set('c/a', {})] }, OWNER),
      Code.INVALID_ARGUMENT,
      /same document more than once/,
    );
    await expectRpcError(
      db.batchWrite({ database: DATABASE, writes: Array.from({ length: 501 }, (_, i) => set(`c/${i}`, {})) }, OWNER),
      Code.INVALID_ARGUMENT,
      'maximum 500 writes allowed per request',
    );
    await expectRpcError(db.batchWrite({ database: DATABASE, writes: [set('c/a', {}), { delete: doc('c') }] }, OWNER), Code.INVALID_ARGUMENT);
    expect(await getData(db, 'c/a')).toBeNull();
  });
});

describe('engine', () => {
  it('keeps projects and databases apart, and clears one database', async () => {
    const { engine } = setup();
    const one = engine.database('p1', '(default)');
    const named = engine.database('p1', 'named');
    const two = engine.database('p2', '(default)');
    const write = (database: typeof one, project: string, id: string) =>
      database.commit(
        { database: `projects/${project}/databases/${id}`, writes: [{ update: { name: `projects/${project}/databases/${id}/documents/c/a`, fields: {} } }] },
        OWNER,
      );
    await write(one, 'p1', '(default)');
    await write(named, 'p1', 'named');
    await write(two, 'p2', '(default)');
    const exists = async (database: typeof one, project: string, id: string) =>
      Boolean(
        (
          await database.batchGetDocuments(
            { database: `projects/${project}/databases/${id}`, documents: [`projects/${project}/databases/${id}/documents/c/a`] },
            OWNER,
          )
        )[0].found,
      );
    const events: CommitEvent[] = [];
    engine.onCommit('p1', 'named', (event) => events.push(event));
    engine.clearDatabase('p1', 'named');
    expect(await exists(named, 'p1', 'named')).toBe(false);
    expect(await exists(one, 'p1', '(default)')).toBe(true);
    expect(await exists(two, 'p2', '(default)')).toBe(true);
    expect(events.map((e) => e.changed)).toEqual([['projects/p1/databases/named/documents/c/a']]);
    expect(engine.database('p1', 'named')).toBe(named);
    engine.clearDatabase('p1', '(default)');
    expect(await exists(one, 'p1', '(default)')).toBe(false);
    expect(await exists(two, 'p2', '(default)')).toBe(true);
    // Clearing a database nobody has used is a no-op.
    engine.clearDatabase('p3', 'unused');
  });

  it('GetDocument answers NOT_FOUND for a missing document', async () => {
    const { db } = setup();
    await commit(db, [set('c/a', { v: 1, w: 2 })]);
    expect(plainFields((await db.getDocument({ name: doc('c/a'), mask: { fieldPaths: ['w'] } }, OWNER)).fields)).toEqual({ w: 2 });
    await expectRpcError(db.getDocument({ name: doc('c/b') }, OWNER), Code.NOT_FOUND, `Document "${doc('c/b')}" not found.`);
  });

  it('evaluates Listen targets at a read time', async () => {
    const { db } = setup();
    const first = await commit(db, [set('c/a', { v: 1 })]);
    await commit(db, [set('c/b', { v: 2 })]);
    const query = { query: { parent: ROOT, structuredQuery: { from: [{ collectionId: 'c' }] } } };
    expect((await db.runTarget(query, OWNER)).documents.map((d) => d.name)).toEqual([doc('c/a'), doc('c/b')]);
    expect((await db.runTarget(query, OWNER, first.commitTime)).documents.map((d) => d.name)).toEqual([doc('c/a')]);
    const documents = await db.runTarget({ documents: { documents: [doc('c/b'), doc('c/a')] } }, OWNER, first.commitTime);
    expect(documents.documents.map((d) => d.name)).toEqual([doc('c/a')]);
    expect(documents.missing).toEqual([doc('c/b')]);
    expect(documents.readTime).toEqual(first.commitTime);
    await expectRpcError(db.runTarget({}, OWNER), Code.INVALID_ARGUMENT, /exactly one of query or documents/);
  });
});
