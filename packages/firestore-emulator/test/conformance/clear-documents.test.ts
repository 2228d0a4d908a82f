/**
 * `DELETE /emulator/v1/projects/{id}/databases/{databaseId}/documents` (what rules-unit-testing's
 * clearFirestore and the Firebase CLI call) empties that one database; the project's other databases keep
 * their documents.
 */
import { randomUUID } from 'crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import { emulatorHostPort, emulatorUrl, uniqueProjectId } from './support';

const projectId = uniqueProjectId('conf-clear');
let app: App;
let defaultDb: Firestore;
let otherDb: Firestore;

beforeAll(() => {
  emulatorHostPort();
  app = initializeApp({ projectId }, `${projectId}-admin-${randomUUID()}`);
  defaultDb = getFirestore(app);
  otherDb = getFirestore(app, 'other');
});
afterAll(() => deleteApp(app));

async function clear(databaseId: string): Promise<void> {
  const response = await fetch(emulatorUrl(`/emulator/v1/projects/${projectId}/databases/${databaseId}/documents`), { method: 'DELETE' });
  expect(response.status).toBe(200);
}

async function ids(db: Firestore): Promise<string[]> {
  return (await db.collection('things').get()).docs.map((snapshot) => snapshot.id).sort();
}

describe('clearing the documents of one database', () => {
  it('clears a named database and leaves (default) alone, then the other way round', async () => {
    await Promise.all([defaultDb.doc('things/d1').set({ in: 'default' }), otherDb.doc('things/o1').set({ in: 'other' })]);
    await otherDb.doc('things/o1/nested/n').set({ deep: true });

    await clear('other');
    expect(await ids(otherDb)).toEqual([]);
    expect((await otherDb.doc('things/o1/nested/n').get()).exists).toBe(false);
    expect(await ids(defaultDb)).toEqual(['d1']);

    await otherDb.doc('things/o2').set({ in: 'other' });
    await clear('(default)');
    expect(await ids(defaultDb)).toEqual([]);
    expect(await ids(otherDb)).toEqual(['o2']);
  });
});
