/**
 * Starting the offline emulator in-process (what the global setup and the CLI do): loopback by default, a free
 * port for port 0, a rules file that applies to every project until a client loads its own, and stop().
 * Specific to ours, so skipped against Google's emulator.
 */
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doc, getDoc } from 'firebase/firestore';
import { startEmulator, type RunningEmulator } from '../../src';
import { loadRules, offlineEmulator, rejectionOf, uniqueProjectId, webClient } from './support';

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

  it('refuses to start with a rules file that does not compile, naming the place', async () => {
    const rulesFile = join(mkdtempSync(join(tmpdir(), 'emulator-rules-')), 'broken.rules');
    writeFileSync(rulesFile, `rules_version = '2';\nservice cloud.firestore {\n  match /x {\n    allow read: if ;\n  }\n}`);
    const failure = await rejectionOf(startEmulator({ port: 0, rulesFile }));
    expect(failure.message).toMatch(/broken\.rules|line 4|4:/);
  });
});
