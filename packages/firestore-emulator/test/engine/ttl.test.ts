/**
 * TTL deletion in the engine (`Engine.runTtl`): the engine clock and the `ttlDelayMs` option, multiple
 * databases, and a document held by a transaction.
 */
import { describe, expect, it } from 'vitest';
import { CommitEvent, IndexConfiguration } from '../../src/engine';
import { doc, OWNER, PROJECT, set, setup, ts } from './helpers';

const T0 = 1_900_000_000; // seconds
const ttlIndexes = () =>
  new IndexConfiguration({ indexes: [], fieldOverrides: [{ collectionGroup: 'sessions', fieldPath: 'expiresAt', ttl: true, indexes: [] }] });

describe('Engine.runTtl', () => {
  it('expires against the engine clock minus ttlDelayMs', async () => {
    let nowMs = T0 * 1000;
    const { engine, db } = setup({ clock: () => nowMs, ttlDelayMs: 60_000 });
    engine.setIndexConfiguration(PROJECT, ttlIndexes());
    await db.commit({ database: db.name, writes: [set('sessions/a', { expiresAt: ts(T0 - 60) }), set('sessions/b', { expiresAt: ts(T0 - 59) })] }, OWNER);
    expect((await engine.runTtl(PROJECT)).deleted).toEqual([doc('sessions/a')]);
    nowMs += 1000;
    const run = await engine.runTtl(PROJECT);
    expect(run.cutoff).toEqual({ seconds: String(T0 - 59), nanos: 0 });
    expect(run.deleted).toEqual([doc('sessions/b')]);
  });

  it('deletes in every database of the project, one commit each, seen by commit listeners', async () => {
    const { engine, db } = setup({ clock: () => T0 * 1000 });
    engine.setIndexConfiguration(PROJECT, ttlIndexes());
    const other = engine.database(PROJECT, 'other');
    const events: CommitEvent[] = [];
    engine.onCommit(PROJECT, 'other', (event) => events.push(event));
    await db.commit({ database: db.name, writes: [set('sessions/a', { expiresAt: ts(T0 - 1) })] }, OWNER);
    const inOther = (id: string, seconds: number) => ({ update: { name: `${other.name}/documents/sessions/${id}`, fields: { expiresAt: ts(seconds) } } });
    await other.commit({ database: other.name, writes: [inOther('a', T0 - 1), inOther('b', T0 - 2)] }, OWNER);
    events.length = 0;
    const run = await engine.runTtl(PROJECT);
    expect(run.deleted).toHaveLength(3);
    expect(events).toHaveLength(1);
    expect(events[0].changed.sort()).toEqual([`${other.name}/documents/sessions/a`, `${other.name}/documents/sessions/b`]);
  });

  it('without a configuration, deletes nothing', async () => {
    const { engine, db } = setup({ clock: () => T0 * 1000 });
    await db.commit({ database: db.name, writes: [set('sessions/a', { expiresAt: ts(T0 - 1) })] }, OWNER);
    expect((await engine.runTtl(PROJECT)).deleted).toEqual([]);
  });

  it('waits for a transaction holding an expired document, then deletes what is still expired', async () => {
    const { engine, db } = setup({ clock: () => T0 * 1000 });
    engine.setIndexConfiguration(PROJECT, ttlIndexes());
    await db.commit({ database: db.name, writes: [set('sessions/a', { expiresAt: ts(T0 - 1) })] }, OWNER);
    const { transaction } = await db.beginTransaction({ database: db.name }, OWNER);
    await db.getDocument({ name: doc('sessions/a'), transaction }, OWNER);
    const running = engine.runTtl(PROJECT);
    // The transaction extends the session: once it commits, the document is no longer expired.
    await db.commit({ database: db.name, transaction, writes: [set('sessions/a', { expiresAt: ts(T0 + 60) })] }, OWNER);
    expect((await running).deleted).toEqual([]);
    const current = await db.getDocument({ name: doc('sessions/a') }, OWNER);
    expect(current.fields.expiresAt).toEqual(ts(T0 + 60));
  });
});
