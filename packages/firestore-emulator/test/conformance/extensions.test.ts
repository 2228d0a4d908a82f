/**
 * The offline emulator's own REST extensions (not in Google's emulator, so skipped against it):
 * `GET /emulator/v1/projects/{id}:rulesDecisions[?since=seq]` lists recent rules decisions with the document
 * lookups each cost, `DELETE` on it forgets them; `:ruleCoverage` answers once rules are loaded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doc, getDoc, type EmulatorMockTokenOptions } from 'firebase/firestore';
import { adminClient, emulatorUrl, loadRules, offlineEmulator, rejectionOf, uniqueProjectId, webClient } from './support';

interface Decision {
  seq: number;
  method: string;
  path: string;
  allowed: boolean;
  lookups: number;
  message?: string;
  ruleLines?: number[];
}

const projectId = uniqueProjectId('conf-extensions');
const decisionsUrl = emulatorUrl(`/emulator/v1/projects/${projectId}:rulesDecisions`);

async function decisions(since?: number): Promise<Decision[]> {
  const response = await fetch(since === undefined ? decisionsUrl : `${decisionsUrl}?since=${since}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { decisions: Decision[] }).decisions;
}

describe.skipIf(!offlineEmulator)('offline emulator extensions', () => {
  let admin: ReturnType<typeof adminClient>;

  beforeAll(async () => {
    admin = adminClient(projectId);
    const response = await loadRules(
      projectId,
      `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /orgs/{org}/notes/{id} {
      allow read: if request.auth != null
        && get(/databases/$(database)/documents/orgs/$(org)/members/$(request.auth.uid)).data.role == 'reader';
    }
  }
}`,
    );
    expect(response.status).toBe(200);
    await admin.db.doc('orgs/o1/members/alice').set({ role: 'reader' });
    await admin.db.doc('orgs/o1/notes/n1').set({ text: 'hello' });
  });
  afterAll(() => admin.close());

  it('rulesDecisions lists each decision with its path, outcome, rule line and lookup count; since= pages; DELETE forgets', async () => {
    const before = await decisions();
    const since = before.length > 0 ? before[before.length - 1].seq : 0;

    const alice = webClient(projectId, { sub: 'alice' } satisfies EmulatorMockTokenOptions);
    const bob = webClient(projectId, { sub: 'bob' } satisfies EmulatorMockTokenOptions);
    try {
      await getDoc(doc(alice.db, 'orgs/o1/notes/n1'));
      const denied = await rejectionOf(getDoc(doc(bob.db, 'orgs/o1/notes/n1')));
      expect(denied.code).toBe('permission-denied');
    } finally {
      await alice.close();
      await bob.close();
    }

    const recent = await decisions(since);
    const name = `projects/${projectId}/databases/(default)/documents/orgs/o1/notes/n1`;
    expect(recent).toEqual(
      expect.arrayContaining([
        // The line of the allow statement that granted it; a denial's message names the lines it evaluated.
        expect.objectContaining({ method: 'get', path: name, allowed: true, lookups: 1, ruleLines: [5] }),
        expect.objectContaining({ method: 'get', path: name, allowed: false, lookups: 1, message: expect.stringContaining('@ L5') }),
      ]),
    );
    expect(recent.every((decision) => decision.seq > since)).toBe(true);

    expect((await fetch(decisionsUrl, { method: 'DELETE' })).status).toBe(200);
    expect(await decisions()).toEqual([]);
  });

  it('ruleCoverage answers 200 with a report for a project with rules, 404 naming a project without', async () => {
    expect((await fetch(emulatorUrl(`/emulator/v1/projects/${projectId}:ruleCoverage`))).status).toBe(200);
    const bare = uniqueProjectId('conf-extensions-bare');
    const response = await fetch(emulatorUrl(`/emulator/v1/projects/${bare}:ruleCoverage`));
    expect(response.status).toBe(404);
    expect(await response.text()).toContain(bare);
  });

  it('rejects a malformed since= and a malformed rules body with 400 naming the problem', async () => {
    expect((await fetch(`${decisionsUrl}?since=-1`)).status).toBe(400);
    const response = await fetch(emulatorUrl(`/emulator/v1/projects/${projectId}:securityRules`), {
      method: 'PUT',
      body: JSON.stringify({ rules: { files: [] } }),
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('rules.files');
  });
});
