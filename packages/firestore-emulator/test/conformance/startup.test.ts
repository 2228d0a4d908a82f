/**
 * Starting the offline emulator in-process (what the global setup and the CLI do): loopback by default, a free
 * port for port 0, a rules file that applies to every project until a client loads its own, no index required
 * unless an indexes file is given (then for every project until a client loads its own), and stop().
 * Specific to ours, so skipped against Google's emulator.
 */
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doc, getDoc } from 'firebase/firestore';
import { startEmulator, type RunningEmulator } from '../../src';
import { adminClient, loadIndexes, loadRules, offlineEmulator, rejectionOf, uniqueProjectId, webClient } from './support';

describe.skipIf(!offlineEmulator)('startEmulator', () => {
  let emulator: RunningEmulator;
  const previousHost = process.env.FIRESTORE_EMULATOR_HOST;

  beforeAll(async () => {
    const rulesFile = join(mkdtempSync(join(tmpdir(), 'emulator-rules-')), 'startup.rules');
    writeFileSync(
      rulesFile,
      `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /public/{id} { allow read: if true; }
  }
}`,
    );
    emulator = await startEmulator({ port: 0, rulesFile });
    // The helpers in ./support find the emulator through this variable.
    process.env.FIRESTORE_EMULATOR_HOST = `${emulator.host}:${emulator.port}`;
  });
  afterAll(async () => {
    if (previousHost === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
    else process.env.FIRESTORE_EMULATOR_HOST = previousHost;
    await emulator.stop();
  });

  it('listens on 127.0.0.1 and a free port when given port 0', async () => {
    expect(emulator.host).toBe('127.0.0.1');
    expect(emulator.port).toBeGreaterThan(0);
    expect(await (await fetch(`http://127.0.0.1:${emulator.port}/`)).text()).toBe('Ok');
  });

  it('applies the rules file to any project until a client loads its own rules', async () => {
    const projectId = uniqueProjectId('conf-startup');
    const web = webClient(projectId);
    try {
      expect((await getDoc(doc(web.db, 'public/p'))).exists()).toBe(false);
      expect((await rejectionOf(getDoc(doc(web.db, 'private/p')))).code).toBe('permission-denied');
      const open = `rules_version = '2';\nservice cloud.firestore {\n  match /databases/{database}/documents {\n    match /{document=**} { allow read: if true; }\n  }\n}`;
      expect((await loadRules(projectId, open)).status).toBe(200);
      expect((await getDoc(doc(web.db, 'private/p'))).exists()).toBe(false);
    } finally {
      await web.close();
    }
  });

  it("requires no index without an indexes file, as Google's emulator", async () => {
    const admin = adminClient(uniqueProjectId('conf-startup'));
    try {
      await admin.db.doc('c/d').set({ a: 1, b: 2 });
      expect((await admin.db.collection('c').where('a', '==', 1).orderBy('b').get()).size).toBe(1);
    } finally {
      await admin.close();
    }
  });

  it('enforces an indexes file for every project until a client loads its own; refuses a malformed one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emulator-indexes-'));
    const indexesFile = join(dir, 'firestore.indexes.json');
    writeFileSync(indexesFile, JSON.stringify({ indexes: [] }));
    const enforcing = await startEmulator({ port: 0, indexesFile });
    process.env.FIRESTORE_EMULATOR_HOST = `${enforcing.host}:${enforcing.port}`;
    const projectId = uniqueProjectId('conf-startup');
    const admin = adminClient(projectId);
    try {
      // As @firebase/rules-unit-testing does, the project's first request loads its rules.
      expect((await loadRules(projectId, `rules_version = '2';\nservice cloud.firestore {\n  match /databases/{database}/documents {\n  }\n}`)).status).toBe(
        200,
      );
      const query = () => admin.db.collection('c').where('a', '==', 1).orderBy('b').get();
      expect((await rejectionOf(query())).message).toContain(`The query requires an index. Add this entry to "indexes" in ${indexesFile}`);
      expect((await loadIndexes(projectId, null)).status).toBe(200);
      expect((await query()).size).toBe(0);
    } finally {
      await admin.close();
      await enforcing.stop();
      process.env.FIRESTORE_EMULATOR_HOST = `${emulator.host}:${emulator.port}`;
    }
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, JSON.stringify({ indexes: [{ collectionGroup: 'c', queryScope: 'COLLECTION', fields: [] }] }));
    expect((await rejectionOf(startEmulator({ port: 0, indexesFile: broken }))).message).toContain(`${broken}: indexes[0].fields: `);
  });

  it('refuses to start with a rules file that does not compile, naming the place', async () => {
    const rulesFile = join(mkdtempSync(join(tmpdir(), 'emulator-rules-')), 'broken.rules');
    writeFileSync(rulesFile, `rules_version = '2';\nservice cloud.firestore {\n  match /x {\n    allow read: if ;\n  }\n}`);
    const failure = await rejectionOf(startEmulator({ port: 0, rulesFile }));
    expect(failure.message).toMatch(/broken\.rules|line 4|4:/);
  });
});
