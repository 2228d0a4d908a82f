import { afterEach, describe, expect, it, vi } from 'vitest';
import { Code, Database } from '../../src/engine';
import { collection, commit, DATABASE, doc, expectRpcError, getData, ids, OWNER, plainFields, ROOT, set, setup, where } from './helpers';
import { present } from '../present';

const EXPIRED = 'The referenced transaction has expired or is no longer valid.';
const CONTENTION = 'Too much contention on these documents. Please try again.';

async function begin(db: Database, retryTransaction?: Uint8Array): Promise<Uint8Array> {
  const { transaction } = await db.beginTransaction({ database: DATABASE, options: { readWrite: retryTransaction ? { retryTransaction } : {} } }, OWNER);
  return transaction;
}

async function readIn(db: Database, transaction: Uint8Array, path: string): Promise<Record<string, unknown> | null> {
  const [response] = await db.batchGetDocuments({ database: DATABASE, documents: [doc(path)], transaction }, OWNER);
  return response.found ? plainFields(response.found.fields) : null;
}

/** Whether a promise is still pending after the engine had a chance to run everything ready. */
async function isPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await drain();
  return !settled;
}

/** A transaction's first read, begun lazily the way firebase-admin does (optionally as a retry of `previous`). */
async function firstRead(db: Database, path: string, previous?: Uint8Array): Promise<{ transaction: Uint8Array; data: Record<string, unknown> | null }> {
  const [response] = await db.batchGetDocuments(
    { database: DATABASE, documents: [doc(path)], newTransaction: { readWrite: previous ? { retryTransaction: previous } : {} } },
    OWNER,
  );
  return { transaction: present(response.transaction, 'transaction'), data: response.found ? plainFields(response.found.fields) : null };
}

type Outcome = { state: 'pending' } | { state: 'resolved'; value: unknown } | { state: 'rejected'; code: unknown; message: string };

/** Records how a promise settles, so a test can look at it without awaiting it. */
function track(promise: Promise<unknown>): { readonly outcome: Outcome } {
  const tracked: { outcome: Outcome } = { outcome: { state: 'pending' } };
  promise.then(
    (value) => (tracked.outcome = { state: 'resolved', value }),
    (error: unknown) => {
      const { code, message } = error as { code?: unknown; message?: string };
      tracked.outcome = { state: 'rejected', code, message: String(message) };
    },
  );
  return tracked;
}

/** Lets everything run that does not wait for a timer (the wound-wait tests set every engine timeout to an hour). */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const NEVER = 3_600_000;

afterEach(() => {
  vi.useRealTimers();
});
const ABORTED_BY_WOUND = { state: 'rejected', code: Code.ABORTED, message: CONTENTION };

/** A read-modify-write increment the way firebase-admin runs it: lazy begin, retry with the same id on ABORTED. */
async function transactionalIncrement(db: Database, path: string): Promise<number> {
  let previous: Uint8Array | undefined;
  for (let attempt = 1; attempt <= 5; attempt++) {
    let transaction: Uint8Array | undefined;
    try {
      const [response] = await db.batchGetDocuments(
        { database: DATABASE, documents: [doc(path)], newTransaction: { readWrite: previous ? { retryTransaction: previous } : {} } },
        OWNER,
      );
      transaction = present(response.transaction, 'transaction');
      const current = Number(plainFields(response.found?.fields).n ?? 0);
      await drain(); // the client's round trip: every other increment gets to run its read
      await db.commit({ database: DATABASE, writes: [set(path, { n: current + 1 })], transaction }, OWNER);
      return attempt;
    } catch (error) {
      if ((error as { code?: number }).code !== Code.ABORTED) throw error;
      if (transaction) await db.rollback({ database: DATABASE, transaction }, OWNER).catch(() => undefined);
      previous = transaction ?? previous;
    }
  }
  throw new Error('gave up after 5 attempts');
}

describe('read times (MVCC)', () => {
  it('reads documents and queries as of a past read time', async () => {
    const { db } = setup();
    const first = await commit(db, [set('c/a', { v: 1 })]);
    const second = await commit(db, [set('c/a', { v: 2 }), set('c/b', { v: 1 })]);
    await commit(db, [{ delete: doc('c/a') }]);
    const at = async (readTime: typeof first.commitTime) => {
      const responses = await db.batchGetDocuments({ database: DATABASE, documents: [doc('c/a'), doc('c/b')], readTime }, OWNER);
      return responses.map((r) => (r.found ? plainFields(r.found.fields) : null));
    };
    expect(await at(first.commitTime)).toEqual([{ v: 1 }, null]);
    expect(await at(second.commitTime)).toEqual([{ v: 2 }, { v: 1 }]);
    expect(await at(db.currentReadTime())).toEqual([null, { v: 1 }]);
    const query = await db.runQuery({ parent: ROOT, structuredQuery: collection('c'), readTime: first.commitTime }, OWNER);
    expect(query.map((r) => r.document?.name)).toEqual([doc('c/a')]);
    expect(query[0].readTime).toEqual(first.commitTime);
  });

  it('read-only transactions see one snapshot and take no locks', async () => {
    const { db } = setup();
    const first = await commit(db, [set('c/a', { v: 1 })]);
    const transaction = (await db.beginTransaction({ database: DATABASE, options: { readOnly: {} } }, OWNER)).transaction;
    await commit(db, [set('c/a', { v: 2 })]); // not blocked: read-only transactions lock nothing
    expect(await readIn(db, transaction, 'c/a')).toEqual({ v: 1 });
    const past = await db.beginTransaction({ database: DATABASE, options: { readOnly: { readTime: first.commitTime } } }, OWNER);
    expect(await readIn(db, past.transaction, 'c/a')).toEqual({ v: 1 });
    await expectRpcError(db.commit({ database: DATABASE, writes: [set('c/a', { v: 3 })], transaction }, OWNER), Code.INVALID_ARGUMENT, /read-only transaction/);
  });

  it('rejects read times in the future, below microseconds, or older than the retention window', async () => {
    let now = 1_700_000_000_000;
    const { db } = setup({ clock: () => now, versionRetentionMs: 60_000 });
    const read = (readTime: { seconds: string; nanos: number }) => db.batchGetDocuments({ database: DATABASE, documents: [doc('c/a')], readTime }, OWNER);
    await expectRpcError(read({ seconds: '1700000001', nanos: 0 }), Code.INVALID_ARGUMENT, /future/);
    await expectRpcError(read({ seconds: '1699999999', nanos: 1 }), Code.INVALID_ARGUMENT, /microsecond/);
    now += 120_000;
    await expectRpcError(read({ seconds: '1700000000', nanos: 0 }), Code.FAILED_PRECONDITION, /older than/);
    await expectRpcError(
      db.batchGetDocuments({ database: DATABASE, documents: [doc('c/a')], readTime: { seconds: '1700000000' }, newTransaction: {} }, OWNER),
      Code.INVALID_ARGUMENT,
      /Only one of/,
    );
  });

  it('keeps the versions reads inside the retention window need, while pruning older ones', async () => {
    let now = 1_700_000_000_000;
    const { db } = setup({ clock: () => now, versionRetentionMs: 60_000 });
    await commit(db, [set('c/a', { v: 1 })]);
    now += 30_000;
    const second = await commit(db, [set('c/a', { v: 2 })]);
    now += 40_000; // the first version is now superseded for longer than the window: pruned by this commit
    await commit(db, [set('c/a', { v: 3 })]);
    const read = (readTime: typeof second.commitTime) => db.batchGetDocuments({ database: DATABASE, documents: [doc('c/a')], readTime }, OWNER);
    expect(plainFields(present((await read(second.commitTime))[0].found, 'document').fields)).toEqual({ v: 2 });
    await expectRpcError(read({ seconds: '1700000005', nanos: 0 }), Code.FAILED_PRECONDITION, /older than/);
  });
});

describe('read-write transactions', () => {
  it('commits writes atomically and reports the new transaction in the first response', async () => {
    const { db } = setup();
    await commit(db, [set('c/a', { n: 1 })]);
    const responses = await db.batchGetDocuments({ database: DATABASE, documents: [doc('c/a'), doc('c/b')], newTransaction: { readWrite: {} } }, OWNER);
    expect(responses[0].transaction).toBeInstanceOf(Buffer);
    expect(responses[1].transaction).toBeUndefined();
    const result = await db.commit(
      { database: DATABASE, writes: [set('c/a', { n: 2 }), set('c/b', { n: 1 })], transaction: present(responses[0].transaction, 'transaction') },
      OWNER,
    );
    expect(result.writeResults).toHaveLength(2);
    expect(await getData(db, 'c/a')).toEqual({ n: 2 });
    await expectRpcError(
      db.commit({ database: DATABASE, writes: [], transaction: present(responses[0].transaction, 'transaction') }, OWNER),
      Code.ABORTED,
      EXPIRED,
    );
  });

  it('makes a non-transactional write wait for the lock, then applies it after the commit', async () => {
    const { db } = setup();
    await commit(db, [set('c/a', { n: 1 })]);
    const transaction = await begin(db);
    expect(await readIn(db, transaction, 'c/a')).toEqual({ n: 1 });
    const outside = commit(db, [set('c/a', { n: 100 })]);
    expect(await isPending(outside)).toBe(true);
    await db.commit({ database: DATABASE, writes: [set('c/a', { n: 2 })], transaction }, OWNER);
    await outside;
    expect(await getData(db, 'c/a')).toEqual({ n: 100 });
  });

  it('times out a blocked non-transactional write with ABORTED and changes nothing', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const { db } = setup({ lockWaitTimeoutMs: 50 });
    await commit(db, [set('c/a', { n: 1 })]);
    const transaction = await begin(db);
    await readIn(db, transaction, 'c/a');
    const blocked = commit(db, [set('c/b', { n: 1 }), set('c/a', { n: 100 })]);
    expect(await isPending(blocked)).toBe(true);
    await vi.advanceTimersByTimeAsync(50);
    await expectRpcError(blocked, Code.ABORTED, CONTENTION);
    expect(await getData(db, 'c/b')).toBeNull();
    await db.commit({ database: DATABASE, writes: [set('c/a', { n: 2 })], transaction }, OWNER);
    expect(await getData(db, 'c/a')).toEqual({ n: 2 });
  });

  it('wound-wait: an older transaction aborts a younger holder; a younger one waits for an older holder', async () => {
    const { db } = setup();
    await commit(db, [set('c/x', { n: 0 }), set('c/y', { n: 0 })]);
    const older = await begin(db);
    const younger = await begin(db);
    await readIn(db, younger, 'c/x');
    // The older transaction takes the lock from the younger one, which is aborted.
    expect(await readIn(db, older, 'c/x')).toEqual({ n: 0 });
    await expectRpcError(db.commit({ database: DATABASE, writes: [set('c/x', { n: 1 })], transaction: younger }, OWNER), Code.ABORTED, CONTENTION);
    // A retry keeps its age: still younger, so it waits for the older holder instead of aborting it.
    const retried = await begin(db, younger);
    const waiting = readIn(db, retried, 'c/x');
    expect(await isPending(waiting)).toBe(true);
    await db.commit({ database: DATABASE, writes: [set('c/x', { n: 1 })], transaction: older }, OWNER);
    expect(await waiting).toEqual({ n: 1 });
    await db.commit({ database: DATABASE, writes: [set('c/x', { n: 2 })], transaction: retried }, OWNER);
    expect(await getData(db, 'c/x')).toEqual({ n: 2 });
  });

  it('wounds a younger transaction while it waits for a lock', async () => {
    const { db } = setup();
    await commit(db, [set('c/x', { n: 0 }), set('c/y', { n: 0 })]);
    const oldest = await begin(db);
    const middle = await begin(db);
    const youngest = await begin(db);
    await readIn(db, oldest, 'c/x');
    await readIn(db, youngest, 'c/y');
    const youngestWaits = readIn(db, youngest, 'c/x'); // waits for the oldest
    expect(await isPending(youngestWaits)).toBe(true);
    await readIn(db, middle, 'c/y'); // middle is older than youngest: wounds it, taking c/y
    await expectRpcError(youngestWaits, Code.ABORTED, CONTENTION);
  });

  it('ten concurrent transactional increments end at exactly ten, each on its first attempt', async () => {
    const { db } = setup();
    await commit(db, [set('c/counter', { n: 0 })]);
    const attempts = await Promise.all(Array.from({ length: 10 }, () => transactionalIncrement(db, 'c/counter')));
    expect(await getData(db, 'c/counter')).toEqual({ n: 10 });
    // Each waits for the older holders in turn: nobody is wounded, so nobody retries.
    expect(attempts).toEqual(Array(10).fill(1));
  });

  it('aborts a commit when a query it ran would now return a different result (no phantoms)', async () => {
    const { db } = setup();
    await commit(db, [set('q/a', { open: true })]);
    const [first] = await db.runQuery(
      { parent: ROOT, structuredQuery: collection('q', { where: where('open', 'EQUAL', true) }), newTransaction: { readWrite: {} } },
      OWNER,
    );
    const transaction = present(first.transaction, 'transaction');
    await commit(db, [set('q/b', { open: true })]); // a new matching document: not locked, so not blocked
    await expectRpcError(db.commit({ database: DATABASE, writes: [set('q/count', { n: 1 })], transaction }, OWNER), Code.ABORTED, CONTENTION);
    expect(await getData(db, 'q/count')).toBeNull();
  });

  it('locks query results, so a concurrent write to them waits for the transaction', async () => {
    const { db } = setup();
    await commit(db, [set('q/a', { open: true })]);
    const [first] = await db.runQuery({ parent: ROOT, structuredQuery: collection('q'), newTransaction: { readWrite: {} } }, OWNER);
    const outside = commit(db, [set('q/a', { open: false })]);
    expect(await isPending(outside)).toBe(true);
    await db.commit({ database: DATABASE, writes: [set('q/seen', { n: 1 })], transaction: present(first.transaction, 'transaction') }, OWNER);
    await outside;
    expect(await ids(db, collection('q', { where: where('open', 'EQUAL', true) }))).toEqual([]);
  });

  it('rollback releases the locks; a finished transaction cannot be used or rolled back again', async () => {
    const { db } = setup();
    await commit(db, [set('c/a', { n: 1 })]);
    const transaction = await begin(db);
    await readIn(db, transaction, 'c/a');
    await db.rollback({ database: DATABASE, transaction }, OWNER);
    await commit(db, [set('c/a', { n: 5 })]);
    await expectRpcError(readIn(db, transaction, 'c/a'), Code.ABORTED, EXPIRED);
    await expectRpcError(db.rollback({ database: DATABASE, transaction }, OWNER), Code.ABORTED, EXPIRED);
  });

  it('expires an idle transaction: its locks go and its commit is refused', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const { db } = setup({ transactionIdleTimeoutMs: 30 });
    await commit(db, [set('c/a', { n: 1 })]);
    const transaction = await begin(db);
    await readIn(db, transaction, 'c/a');
    await vi.advanceTimersByTimeAsync(31);
    await commit(db, [set('c/a', { n: 7 })]); // the expired holder no longer blocks
    await expectRpcError(db.commit({ database: DATABASE, writes: [set('c/a', { n: 2 })], transaction }, OWNER), Code.ABORTED, EXPIRED);
    expect(await getData(db, 'c/a')).toEqual({ n: 7 });
  });

  it('validates transaction ids and retry tokens', async () => {
    const { db } = setup();
    await expectRpcError(readIn(db, Buffer.from('nope'), 'c/a'), Code.INVALID_ARGUMENT, 'Invalid transaction.');
    await expectRpcError(begin(db, Buffer.from('nope')), Code.INVALID_ARGUMENT, 'Invalid transaction.');
    const committed = await begin(db);
    await db.commit({ database: DATABASE, writes: [], transaction: committed }, OWNER);
    await expectRpcError(begin(db, committed), Code.INVALID_ARGUMENT, 'Invalid retry transaction.');
    const { transaction: readOnly } = await db.beginTransaction({ database: DATABASE, options: { readOnly: {} } }, OWNER);
    await expectRpcError(begin(db, readOnly), Code.INVALID_ARGUMENT, 'read-only transaction cannot be retried as read-write');
    await expectRpcError(db.beginTransaction({ database: DATABASE, options: { readOnly: {}, readWrite: {} } }, OWNER), Code.INVALID_ARGUMENT);
    const other = setup().engine.database('another-project', '(default)');
    const foreign = await other.beginTransaction({ database: 'projects/another-project/databases/(default)', options: {} }, OWNER);
    await expectRpcError(readIn(db, foreign.transaction, 'c/a'), Code.INVALID_ARGUMENT, 'Invalid transaction.');
  });

  it('a failed commit ends the transaction and releases its locks', async () => {
    const { db } = setup();
    await commit(db, [set('c/a', { n: 1 })]);
    const transaction = await begin(db);
    await readIn(db, transaction, 'c/a');
    await expectRpcError(
      db.commit({ database: DATABASE, writes: [set('c/a', { n: 2 }, { currentDocument: { exists: false } })], transaction }, OWNER),
      Code.ALREADY_EXISTS,
    );
    await commit(db, [set('c/a', { n: 3 })]);
    expect(await getData(db, 'c/a')).toEqual({ n: 3 });
    const retried = await begin(db, transaction); // not committed: may be retried
    expect(await readIn(db, retried, 'c/a')).toEqual({ n: 3 });
  });
});

/**
 * Lock and idle timeouts are an hour here, so only wounding can resolve these conflicts: a conflict left to a
 * timeout leaves a promise pending (checked after `drain()`), or hangs the test past vitest's limit.
 */
describe('wound-wait resolves conflicts at once', () => {
  const slowTimeouts = { lockWaitTimeoutMs: NEVER, transactionIdleTimeoutMs: NEVER };

  it.each(['the younger asks first (it is blocked when wounded)', 'the older asks first'])(
    'crossed reads (T1: a, T2: b, then T1: b, T2: a) do not deadlock: T2 is wounded, T1 commits, T2 retries and wins; %s',
    async (order) => {
      const { db } = setup(slowTimeouts);
      await commit(db, [set('c/a', { n: 0 }), set('c/b', { n: 0 })]);
      const t1 = await firstRead(db, 'c/a');
      const t2 = await firstRead(db, 'c/b');
      let t2ReadsA: { readonly outcome: Outcome };
      if (order.startsWith('the younger')) {
        t2ReadsA = track(readIn(db, t2.transaction, 'c/a'));
        await drain();
        expect(t2ReadsA.outcome).toEqual({ state: 'pending' }); // waits for the older T1
        expect(await readIn(db, t1.transaction, 'c/b')).toEqual({ n: 0 }); // wounds T2: takes c/b at once
      } else {
        expect(await readIn(db, t1.transaction, 'c/b')).toEqual({ n: 0 });
        t2ReadsA = track(readIn(db, t2.transaction, 'c/a'));
      }
      await drain();
      expect(t2ReadsA.outcome).toEqual(ABORTED_BY_WOUND); // before T1 even commits
      await db.commit({ database: DATABASE, writes: [set('c/a', { n: 1 }), set('c/b', { n: 1 })], transaction: t1.transaction }, OWNER);
      await db.rollback({ database: DATABASE, transaction: t2.transaction }, OWNER); // what the SDK does before retrying
      const retry = await firstRead(db, 'c/b', t2.transaction);
      expect(retry.data).toEqual({ n: 1 });
      expect(await readIn(db, retry.transaction, 'c/a')).toEqual({ n: 1 });
      await db.commit({ database: DATABASE, writes: [set('c/a', { n: 2 }), set('c/b', { n: 2 })], transaction: retry.transaction }, OWNER);
      expect([await getData(db, 'c/a'), await getData(db, 'c/b')]).toEqual([{ n: 2 }, { n: 2 }]);
    },
  );

  it('rejects every pending lock wait of a wounded transaction, not only its latest', async () => {
    const { db } = setup(slowTimeouts);
    const older = await firstRead(db, 'c/a');
    await readIn(db, older.transaction, 'c/c');
    const younger = await firstRead(db, 'c/b');
    const waits = [track(readIn(db, younger.transaction, 'c/a')), track(readIn(db, younger.transaction, 'c/c'))];
    await drain();
    expect(waits.map((wait) => wait.outcome.state)).toEqual(['pending', 'pending']);
    await readIn(db, older.transaction, 'c/b'); // wounds the younger
    await drain();
    expect(waits.map((wait) => wait.outcome)).toEqual([ABORTED_BY_WOUND, ABORTED_BY_WOUND]);
  });

  it('a transaction ended while one of its reads waits (rollback, or a retry begun) fails that read at once', async () => {
    const { db } = setup(slowTimeouts);
    const holder = await firstRead(db, 'c/a');
    for (const end of ['rollback', 'retry'] as const) {
      const waiter = await begin(db);
      const waiting = track(readIn(db, waiter, 'c/a'));
      await drain();
      expect(waiting.outcome.state).toBe('pending');
      if (end === 'rollback') await db.rollback({ database: DATABASE, transaction: waiter }, OWNER);
      else await begin(db, waiter);
      await drain();
      expect(waiting.outcome).toEqual({ state: 'rejected', code: Code.ABORTED, message: EXPIRED });
    }
    await db.commit({ database: DATABASE, writes: [set('c/a', { n: 1 })], transaction: holder.transaction }, OWNER);
  });

  it('two retries of one transaction share its age; the one begun first counts as older, so they cannot deadlock', async () => {
    const { db } = setup(slowTimeouts);
    const original = await begin(db);
    await db.rollback({ database: DATABASE, transaction: original }, OWNER);
    const first = await begin(db, original);
    const second = await begin(db, original);
    await readIn(db, first, 'c/a');
    await readIn(db, second, 'c/b');
    const secondWaits = track(readIn(db, second, 'c/a'));
    const firstReads = track(readIn(db, first, 'c/b'));
    await drain();
    expect(firstReads.outcome).toEqual({ state: 'resolved', value: null });
    expect(secondWaits.outcome).toEqual(ABORTED_BY_WOUND);
  });

  it('a transaction wounded while idle gets ABORTED on its next read and on commit, and may still be rolled back', async () => {
    const { db } = setup(slowTimeouts);
    await commit(db, [set('c/a', { n: 0 })]);
    const older = await begin(db);
    const younger = await firstRead(db, 'c/a');
    expect(await readIn(db, older, 'c/a')).toEqual({ n: 0 }); // the younger is idle: wounded, not waited for
    await expectRpcError(readIn(db, younger.transaction, 'c/unrelated'), Code.ABORTED, CONTENTION);
    await expectRpcError(db.commit({ database: DATABASE, writes: [set('c/a', { n: 9 })], transaction: younger.transaction }, OWNER), Code.ABORTED, CONTENTION);
    await db.rollback({ database: DATABASE, transaction: younger.transaction }, OWNER);
    await db.commit({ database: DATABASE, writes: [set('c/a', { n: 1 })], transaction: older }, OWNER);
    expect(await getData(db, 'c/a')).toEqual({ n: 1 });
  });

  it('a retried transaction keeps its first age across retries: it wounds transactions begun after it and wins', async () => {
    const { db } = setup(slowTimeouts);
    await commit(db, [set('c/x', { n: 0 }), set('c/y', { n: 0 })]);
    const oldest = await firstRead(db, 'c/x');
    const victim = await firstRead(db, 'c/y');
    const later = await begin(db); // begun after the victim: younger than it and all its retries
    expect(await readIn(db, oldest.transaction, 'c/y')).toEqual({ n: 0 }); // wounds the victim
    await db.rollback({ database: DATABASE, transaction: victim.transaction }, OWNER);
    const retry = await begin(db, victim.transaction);
    await db.rollback({ database: DATABASE, transaction: retry }, OWNER); // fails again for whatever reason
    const secondRetry = await begin(db, retry);
    await readIn(db, later, 'c/z');
    // The second retry still has the victim's age: it takes c/z from `later` instead of waiting behind it.
    expect(await readIn(db, secondRetry, 'c/z')).toBeNull();
    await expectRpcError(db.commit({ database: DATABASE, writes: [], transaction: later }, OWNER), Code.ABORTED, CONTENTION);
    // Only the oldest is older: the retry waits for it, then commits.
    const waitsForOldest = track(readIn(db, secondRetry, 'c/x'));
    await drain();
    expect(waitsForOldest.outcome.state).toBe('pending');
    await db.commit({ database: DATABASE, writes: [set('c/x', { n: 1 }), set('c/y', { n: 1 })], transaction: oldest.transaction }, OWNER);
    await drain();
    expect(waitsForOldest.outcome).toEqual({ state: 'resolved', value: { n: 1 } });
    await db.commit({ database: DATABASE, writes: [set('c/x', { n: 2 }), set('c/z', { n: 2 })], transaction: secondRetry }, OWNER);
    expect([await getData(db, 'c/x'), await getData(db, 'c/y'), await getData(db, 'c/z')]).toEqual([{ n: 2 }, { n: 1 }, { n: 2 }]);
  });

  it('a non-transactional write waiting on a wounded transaction goes ahead, unless the wounder now holds the lock', async () => {
    const { db } = setup(slowTimeouts);
    await commit(db, [set('c/a', { n: 0 }), set('c/b', { n: 0 })]);
    const older = await begin(db);
    const younger = await firstRead(db, 'c/a');
    await readIn(db, younger.transaction, 'c/b');
    const writeA = track(commit(db, [set('c/a', { n: 100 })]));
    const writeB = track(commit(db, [set('c/b', { n: 100 })]));
    await drain();
    expect([writeA.outcome.state, writeB.outcome.state]).toEqual(['pending', 'pending']);
    await readIn(db, older, 'c/b'); // wounds the younger, whose lock on c/a goes with it
    await drain();
    expect([writeA.outcome.state, writeB.outcome.state]).toEqual(['resolved', 'pending']);
    expect(await getData(db, 'c/a')).toEqual({ n: 100 });
    await db.commit({ database: DATABASE, writes: [set('c/b', { n: 1 })], transaction: older }, OWNER);
    await drain();
    expect(writeB.outcome.state).toBe('resolved');
    expect(await getData(db, 'c/b')).toEqual({ n: 100 });
  });
});
