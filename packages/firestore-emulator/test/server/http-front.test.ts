/**
 * The HTTP front of the offline emulator (our own behaviour, so not in the conformance suite).
 *
 * Only loopback Host headers (and hosts allowed at start) reach the emulator's HTTP side: a page that rebinds its
 * own DNS name to 127.0.0.1 sends `Host: its-name`, and is refused before it can load rules, read or clear data.
 * (The same attack from a real browser is in test/browser/web-client.test.ts.) REST options it does not implement
 * answer 501 rather than being ignored.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src';

let emulator: RunningEmulator;
const projectId = 'demo-host-check';
const documents = `/v1/projects/${projectId}/databases/(default)/documents`;

beforeAll(async () => {
  emulator = await startEmulator({ host: '127.0.0.1', port: 0, allowedHosts: ['crm.internal'] });
});
afterAll(() => emulator.stop());

interface Answer {
  status: number;
  body: string;
}

function send(method: string, path: string, host: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: '127.0.0.1', port: emulator.port, method, path, headers: { host, authorization: 'Bearer owner', 'content-type': 'application/json' } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const port = () => emulator.port;
const createNote = (host: string, id: string) =>
  send('POST', `${documents}/notes?documentId=${id}`, host, JSON.stringify({ fields: { text: { stringValue: 'kept' } } }));

describe('the Host header', () => {
  it.each(['localhost', '127.0.0.1', '127.0.0.2', '[::1]', 'LOCALHOST', 'crm.internal'])('answers %s', async (name) => {
    const created = await createNote(`${name}:${port()}`, `from-${name.replace(/[^a-z0-9]/gi, '')}`);
    expect(created.status).toBe(200);
    const listed = await send('GET', `${documents}/notes`, `${name}:${port()}`);
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.body)).toHaveProperty('documents');
  });

  it.each(['rebind.attacker.example', 'localhost.attacker.example', '127.0.0.1.nip.io', '0.0.0.0'])(
    'refuses %j with 403 before doing anything',
    async (name) => {
      await createNote(`localhost:${port()}`, 'target');
      const host = name === '' ? '' : `${name}:${port()}`;
      const attempts = [
        await send('PUT', `/emulator/v1/projects/${projectId}:securityRules`, host, JSON.stringify({ rules: { files: [{ content: "rules_version = '2'; service cloud.firestore { match /databases/{db}/documents { match /{d=**} { allow read, write: if true; } } }" }] } })),
        await send('DELETE', `/emulator/v1/projects/${projectId}/databases/(default)/documents`, host),
        await send('GET', `${documents}/notes/target`, host),
        await send('GET', '/', host),
        await send('POST', `/google.firestore.v1.Firestore/Listen/channel?VER=8&RID=1`, host, 'count=0'),
      ];
      for (const attempt of attempts) {
        expect(attempt.status).toBe(403);
        expect(JSON.parse(attempt.body).error.message).toContain('--allow-host');
      }
      // Nothing changed: the document is still there and no rules were loaded.
      expect((await send('GET', `${documents}/notes/target`, `localhost:${port()}`)).status).toBe(200);
      expect((await send('GET', `/emulator/v1/projects/${projectId}:ruleCoverage`, `localhost:${port()}`)).status).toBe(404);
    },
  );
});

describe('REST options it does not implement', () => {
  it('answers partial responses and other encodings with 501 naming them, rather than ignoring them', async () => {
    for (const option of ['fields=name', 'alt=proto']) {
      const answer = await send('GET', `${documents}/notes/target?${option}`, `localhost:${port()}`);
      expect(answer.status).toBe(501);
      expect(JSON.parse(answer.body).error).toEqual({ code: 501, status: 'UNIMPLEMENTED', message: expect.stringContaining(option) });
    }
    expect((await send('GET', `${documents}/notes/target?alt=json`, `localhost:${port()}`)).status).toBe(200);
  });
});
