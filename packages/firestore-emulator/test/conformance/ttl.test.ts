/**
 * TTL policies (our extension: Google's emulator runs no TTL, so this file is skipped against it). A
 * `fieldOverrides` entry with `"ttl": true` in the project's `firestore.indexes.json` (`PUT :indexes`) makes its
 * field the expiry instant of every collection of that id; `POST :runTtl` runs one pass of production's TTL
 * deletion against a chosen instant, so tests decide when expiry happens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import { adminClient, emulatorUrl, ListenerRecorder, loadIndexes, offlineEmulator, uniqueProjectId } from './support';

const projectId = uniqueProjectId('conf-ttl');
let db: Firestore;
let close: () => Promise<void>;

const T0 = Date.parse('2030-01-01T00:00:00Z');
const at = (ms: number) => Timestamp.fromMillis(ms);
const HOUR = 3_600_000;

async function runTtl(body: object = {}): Promise<{ status: number; json: { cutoff?: string; deleted?: string[]; error?: { message: string } } }> {
  const response = await fetch(emulatorUrl(`/emulator/v1/projects/${projectId}:runTtl`), { method: 'POST', body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as { cutoff?: string; deleted?: string[] } };
}

const docName = (path: string) => `projects/${projectId}/databases/(default)/documents/${path}`;
const exists = async (path: string) => (await db.doc(path).get()).exists;

beforeAll(async () => {
  if (!offlineEmulator) return;
  ({ db, close } = adminClient(projectId));
  const response = await loadIndexes(projectId, {
    indexes: [],
    fieldOverrides: [
      { collectionGroup: 'sessions', fieldPath: 'expiresAt', ttl: true, indexes: [] },
      { collectionGroup: 'events', fieldPath: 'meta.expireAt', ttl: true, indexes: [] },
    ],
  });
  expect(response.status, await response.clone().text()).toBe(200);
});
afterAll(async () => {
  await close?.();
});

describe.skipIf(!offlineEmulator)('POST :runTtl', () => {
  it('deletes documents whose TTL field is at or before now, and keeps the others', async () => {
    const batch = db.batch();
    batch.set(db.doc('sessions/past'), { expiresAt: at(T0 - HOUR) });
    batch.set(db.doc('sessions/exact'), { expiresAt: at(T0) });
    batch.set(db.doc('sessions/future'), { expiresAt: at(T0 + 1) });
    batch.set(db.doc('sessions/missing'), { other: at(T0 - HOUR) });
    batch.set(db.doc('sessions/string'), { expiresAt: new Date(T0 - HOUR).toISOString() });
    batch.set(db.doc('sessions/number'), { expiresAt: T0 - HOUR });
    batch.set(db.doc('sessions/nullish'), { expiresAt: null });
    batch.set(db.doc('sessions/array'), { expiresAt: [at(T0 - HOUR)] });
    batch.set(db.doc('other/past'), { expiresAt: at(T0 - HOUR) });
    await batch.commit();

    const early = await runTtl({ now: new Date(T0 - 2 * HOUR).toISOString() });
    expect(early.status).toBe(200);
    expect(early.json.deleted).toEqual([]);

    const run = await runTtl({ now: new Date(T0).toISOString() });
    expect(run.status, JSON.stringify(run.json)).toBe(200);
    expect(run.json.cutoff).toBe('2030-01-01T00:00:00.000000Z');
    expect(run.json.deleted).toEqual([docName('sessions/exact'), docName('sessions/past')]);
    for (const id of ['past', 'exact']) expect(await exists(`sessions/${id}`), id).toBe(false);
    for (const id of ['future', 'missing', 'string', 'number', 'nullish', 'array']) expect(await exists(`sessions/${id}`), id).toBe(true);
    expect(await exists('other/past')).toBe(true);

    const later = await runTtl({ now: new Date(T0 + 1).toISOString() });
    expect(later.json.deleted).toEqual([docName('sessions/future')]);
  });

  it('applies to every collection of the group at any depth, and keeps subcollections', async () => {
    const batch = db.batch();
    batch.set(db.doc('accounts/a/sessions/s1'), { expiresAt: at(T0 - HOUR) });
    batch.set(db.doc('accounts/a/sessions/s1/notes/n1'), { expiresAt: at(T0 - HOUR) });
    batch.set(db.doc('accounts/b/projects/p/sessions/s2'), { expiresAt: at(T0 - HOUR) });
    batch.set(db.doc('accounts/b/projects/p/sessions/s3'), { expiresAt: at(T0 + HOUR) });
    batch.set(db.doc('accounts/c/events/e1'), { meta: { expireAt: at(T0 - HOUR) } });
    batch.set(db.doc('accounts/c/events/e2'), { meta: { expireAt: at(T0 + HOUR) } });
    batch.set(db.doc('accounts/c/events/e3'), { 'meta.expireAt': at(T0 - HOUR) });
    await batch.commit();

    const run = await runTtl({ now: new Date(T0).toISOString() });
    expect(run.json.deleted).toEqual([docName('accounts/a/sessions/s1'), docName('accounts/b/projects/p/sessions/s2'), docName('accounts/c/events/e1')]);
    expect(await exists('accounts/a/sessions/s1')).toBe(false);
    expect(await exists('accounts/a/sessions/s1/notes/n1')).toBe(true);
    expect(await exists('accounts/b/projects/p/sessions/s2')).toBe(false);
    expect(await exists('accounts/b/projects/p/sessions/s3')).toBe(true);
    expect(await exists('accounts/c/events/e2')).toBe(true);
    // A top-level field named "meta.expireAt" is not the map field meta.expireAt.
    expect(await exists('accounts/c/events/e3')).toBe(true);
    const groups = await db.collectionGroup('sessions').get();
    expect(groups.docs.map((doc) => doc.ref.path)).not.toContain('accounts/a/sessions/s1');
  });

  it('is an ordinary delete: listeners see the documents go', async () => {
    await db.doc('live/x/sessions/gone').set({ expiresAt: at(T0 - HOUR) });
    await db.doc('live/x/sessions/kept').set({ expiresAt: at(T0 + HOUR) });
    const recorder = new ListenerRecorder<string[]>((next, error) =>
      db.collection('live/x/sessions').onSnapshot((snapshot) => next(snapshot.docs.map((doc) => doc.id)), error),
    );
    try {
      await recorder.waitFor((ids) => ids.length === 2);
      await runTtl({ now: new Date(T0).toISOString() });
      expect(await recorder.waitFor((ids) => ids.length === 1)).toEqual(['kept']);
    } finally {
      recorder.stop();
    }
  });

  it('defaults to the emulator clock', async () => {
    await db.doc('clock/sessions/sessions/old').set({ expiresAt: at(Date.now() - 1000) });
    await db.doc('clock/sessions/sessions/new').set({ expiresAt: at(Date.now() + HOUR) });
    const run = await runTtl();
    expect(run.status).toBe(200);
    expect(run.json.deleted).toContain(docName('clock/sessions/sessions/old'));
    expect(await exists('clock/sessions/sessions/new')).toBe(true);
  });

  it('refuses a body it does not understand', async () => {
    expect((await runTtl({ now: 'yesterday' })).status).toBe(400);
    expect((await runTtl({ when: '2030-01-01T00:00:00Z' })).status).toBe(400);
  });
});

describe.skipIf(!offlineEmulator)('TTL policies in the index file', () => {
  it('refuses two TTL fields on one collection group, as production does', async () => {
    const response = await loadIndexes(uniqueProjectId('conf-ttl-two'), {
      indexes: [],
      fieldOverrides: [
        { collectionGroup: 'sessions', fieldPath: 'expiresAt', ttl: true, indexes: [] },
        { collectionGroup: 'sessions', fieldPath: 'deleteAt', ttl: true, indexes: [] },
      ],
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('fieldOverrides[1]');
  });

  it('deletes nothing in a project without a TTL policy', async () => {
    const other = uniqueProjectId('conf-ttl-none');
    const client = adminClient(other);
    try {
      await client.db.doc('sessions/past').set({ expiresAt: at(T0 - HOUR) });
      const response = await fetch(emulatorUrl(`/emulator/v1/projects/${other}:runTtl`), { method: 'POST', body: '{}' });
      expect(await response.json()).toMatchObject({ deleted: [] });
      expect((await client.db.doc('sessions/past').get()).exists).toBe(true);
    } finally {
      await client.close();
    }
  });
});
