import { describe, expect, it } from 'vitest';
import {
  AccessDecision,
  AccessDecisionReport,
  AccessPolicy,
  Caller,
  Code,
  DocumentReader,
  RequestContext,
  StructuredQuery,
  WriteAccess,
} from '../../src/engine';
import { ANONYMOUS, commit, DATABASE, del, doc, expectRpcError, getData, merge, OWNER, plainFields, PROJECT, ROOT, set, setup } from './helpers';
import { present } from '../present';

const USER: Caller = { kind: 'user', uid: 'alice', token: { sub: 'alice' } };

/** A policy for tests: records every question and answers with `decide`. */
class RecordingPolicy implements AccessPolicy {
  readonly gets: { name: string; context: RequestContext; stored: unknown }[] = [];
  readonly queries: { parent: string; query: StructuredQuery }[] = [];
  readonly writes: { accesses: WriteAccess[]; context: RequestContext; before: DocumentReader; after: DocumentReader }[] = [];

  constructor(private readonly allow: (what: string) => boolean) {}

  private decide(what: string): AccessDecision {
    return this.allow(what) ? { allowed: true, lookups: 1 } : { allowed: false, lookups: 2, message: `denied ${what}` };
  }

  authorizeGet(context: RequestContext, name: string, before: DocumentReader): AccessDecision {
    this.gets.push({ name, context, stored: before.get(name)?.fields });
    return this.decide(`get ${name}`);
  }

  authorizeQuery(_context: RequestContext, parent: string, query: StructuredQuery): AccessDecision {
    this.queries.push({ parent, query });
    return this.decide(`list ${parent}`);
  }

  authorizeWrites(context: RequestContext, accesses: WriteAccess[], before: DocumentReader, after: DocumentReader): AccessDecision {
    this.writes.push({ accesses, context, before, after });
    return this.decide(`write ${accesses.map((access) => `${access.method} ${access.name}`).join(', ')}`);
  }
}

function withPolicy(allow: (what: string) => boolean) {
  const reports: AccessDecisionReport[] = [];
  const fixture = setup({ onAccessDecision: (projectId, report) => projectId === PROJECT && reports.push(report) });
  const policy = new RecordingPolicy(allow);
  fixture.engine.setAccessPolicy(PROJECT, policy);
  return { ...fixture, policy, reports };
}

describe('access policy', () => {
  it('with no policy loaded, access is open to every caller', async () => {
    const { db } = setup();
    await commit(db, [set('c/a', { v: 1 })], ANONYMOUS);
    expect(await getData(db, 'c/a')).toEqual({ v: 1 });
  });

  it('the owner bypasses the policy entirely', async () => {
    const { db, policy, reports } = withPolicy(() => false);
    await commit(db, [set('c/a', { v: 1 })], OWNER);
    await db.runQuery({ parent: ROOT, structuredQuery: { from: [{ collectionId: 'c' }] } }, OWNER);
    expect(policy.writes).toEqual([]);
    expect(policy.queries).toEqual([]);
    expect(reports).toEqual([]);
  });

  it('judges each document of a batch get; one denial fails the request; decisions are reported', async () => {
    const { db, policy, reports } = withPolicy((what) => !what.includes('secret'));
    await commit(db, [set('c/open', { v: 1 }), set('c/secret', { v: 2 })], OWNER);
    const [found] = await db.batchGetDocuments({ database: DATABASE, documents: [doc('c/open')] }, USER);
    expect(plainFields(present(found.found, 'document').fields)).toEqual({ v: 1 });
    expect(policy.gets[0]).toMatchObject({ name: doc('c/open'), context: { caller: USER }, stored: { v: { integerValue: '1' } } });
    await expectRpcError(
      db.batchGetDocuments({ database: DATABASE, documents: [doc('c/open'), doc('c/secret')] }, USER),
      Code.PERMISSION_DENIED,
      `denied get ${doc('c/secret')}`,
    );
    expect(reports).toEqual([
      { databaseId: '(default)', method: 'get', path: doc('c/open'), allowed: true, lookups: 1 },
      { databaseId: '(default)', method: 'get', path: doc('c/open'), allowed: true, lookups: 1 },
      { databaseId: '(default)', method: 'get', path: doc('c/secret'), allowed: false, lookups: 2, message: `denied get ${doc('c/secret')}` },
    ]);
  });

  it('judges queries and aggregations as a whole, with the parent and the query as sent', async () => {
    const { db, policy, reports } = withPolicy((what) => what === `list ${ROOT}`);
    const query = { from: [{ collectionId: 'c' }] };
    await db.runQuery({ parent: ROOT, structuredQuery: query }, ANONYMOUS);
    expect(policy.queries).toEqual([{ parent: ROOT, query }]);
    expect(reports[0]).toMatchObject({ method: 'list', path: `${ROOT}/c`, allowed: true });
    await expectRpcError(
      db.runAggregationQuery(
        {
          parent: doc('c/a'),
          structuredAggregationQuery: { structuredQuery: { from: [{ collectionId: 'x', allDescendants: true }] }, aggregations: [{ count: {} }] },
        },
        ANONYMOUS,
      ),
      Code.PERMISSION_DENIED,
    );
    expect(reports[1]).toMatchObject({ method: 'list', path: `${doc('c/a')}/x=**`, allowed: false });
    await expectRpcError(db.runTarget({ query: { parent: doc('c/a'), structuredQuery: query } }, ANONYMOUS), Code.PERMISSION_DENIED);
    await expectRpcError(db.listCollectionIds({ parent: ROOT }, ANONYMOUS), Code.PERMISSION_DENIED);
  });

  it('judges all writes of a commit together, with before and after readers and the request time', async () => {
    const { db, policy, reports } = withPolicy(() => true);
    await commit(db, [set('c/old', { v: 1 }), set('c/gone', { v: 1 })], OWNER);
    const result = await commit(db, [set('c/new', { v: 1 }), merge('c/old', { v: 2 }, ['v']), del('c/gone'), del('c/never')], USER);
    const [{ accesses, context, before, after }] = policy.writes;
    expect(accesses.map(({ name, method }) => [name.slice(ROOT.length + 1), method])).toEqual([
      ['c/new', 'create'],
      ['c/old', 'update'],
      ['c/gone', 'delete'],
      ['c/never', 'delete'],
    ]);
    expect(present(accesses[1].before, 'before').fields).toEqual({ v: { integerValue: '1' } });
    expect(present(accesses[1].after, 'after').fields).toEqual({ v: { integerValue: '2' } });
    // request.time is the commit instant at the millisecond precision serverTimestamp() writes.
    const commitTime = result.commitTime;
    const commitNanos = commitTime.nanos;
    expect(context.time).toEqual({ seconds: commitTime.seconds, nanos: commitNanos - (commitNanos % 1_000_000) });
    expect(before.get(doc('c/new'))).toBeNull();
    expect(present(after.get(doc('c/new')), 'c/new after').fields).toEqual({ v: { integerValue: '1' } });
    expect(before.get(doc('c/gone'))).not.toBeNull();
    expect(after.get(doc('c/gone'))).toBeNull();
    expect(after.get(doc('c/unrelated'))).toBeNull();
    expect(reports[0]).toMatchObject({
      method: 'write',
      path: doc('c/new'),
      allowed: true,
      writes: [
        { name: doc('c/new'), method: 'create' },
        { name: doc('c/old'), method: 'update' },
        { name: doc('c/gone'), method: 'delete' },
        { name: doc('c/never'), method: 'delete' },
      ],
    });
  });

  it('a denied commit changes nothing, inside a transaction too', async () => {
    const { db } = withPolicy((what) => !what.includes('c/b'));
    await expectRpcError(commit(db, [set('c/a', { v: 1 }), set('c/b', { v: 1 })], USER), Code.PERMISSION_DENIED, /denied write/);
    expect(await getData(db, 'c/a')).toBeNull();
    const [first] = await db.batchGetDocuments({ database: DATABASE, documents: [doc('c/a')], newTransaction: {} }, USER);
    await expectRpcError(commit(db, [set('c/a', { v: 1 }), set('c/b', { v: 1 })], USER, present(first.transaction, 'transaction')), Code.PERMISSION_DENIED);
    expect(await getData(db, 'c/a')).toBeNull();
    await commit(db, [set('c/a', { v: 2 })], OWNER); // the denied transaction released its lock
    expect(await getData(db, 'c/a')).toEqual({ v: 2 });
  });

  it('judges each BatchWrite write alone', async () => {
    const { db } = withPolicy((what) => !what.includes('c/b'));
    const response = await db.batchWrite({ database: DATABASE, writes: [set('c/a', { v: 1 }), set('c/b', { v: 1 })] }, USER);
    expect(response.status.map((s) => s.code)).toEqual([Code.OK, Code.PERMISSION_DENIED]);
    expect(await getData(db, 'c/a')).toEqual({ v: 1 });
    expect(await getData(db, 'c/b')).toBeNull();
  });

  it('removing the policy opens access again', async () => {
    const { engine, db } = withPolicy(() => false);
    await expectRpcError(commit(db, [set('c/a', { v: 1 })], ANONYMOUS), Code.PERMISSION_DENIED);
    engine.setAccessPolicy(PROJECT, null);
    await commit(db, [set('c/a', { v: 1 })], ANONYMOUS);
  });
});
