/**
 * The HTTP front of the offline emulator (our own behaviour, so not in the conformance suite).
 *
 * Only loopback Host headers (and hosts allowed at start) reach the emulator's HTTP side: a page that rebinds its
 * own DNS name to 127.0.0.1 sends `Host: its-name`, and is refused before it can load rules, read or clear data.
 * (The same attack from a real browser is in test/browser/web-client.test.ts.) REST options it does not implement
 * answer 501 rather than being ignored. WebChannel at the protocol level: handshake, long poll, forward channel,
 * terminate, Unknown SID.
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
        await send(
          'PUT',
          `/emulator/v1/projects/${projectId}:securityRules`,
          host,
          JSON.stringify({
            rules: {
              files: [
                {
                  content: "rules_version = '2'; service cloud.firestore { match /databases/{db}/documents { match /{d=**} { allow read, write: if true; } } }",
                },
              ],
            },
          }),
        ),
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

describe('WebChannel, at the protocol level (the browser suite drives it with the real client)', () => {
  const channel = `/google.firestore.v1.Firestore/Write/channel`;
  const database = `projects/${projectId}/databases/(default)`;
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  /** The arrays of a BrowserChannel answer: `length\n[...]` chunks, length in UTF-16 code units. */
  const arraysOf = (body: string): unknown[] => {
    const arrays: unknown[] = [];
    let rest = body;
    while (rest.length > 0) {
      const newline = rest.indexOf('\n');
      const length = Number(rest.slice(0, newline));
      arrays.push(...(JSON.parse(rest.slice(newline + 1, newline + 1 + length)) as unknown[]));
      rest = rest.slice(newline + 1 + length);
    }
    return arrays;
  };

  it('handshakes, answers a long poll with the stream response, acknowledges, and forgets a terminated session', async () => {
    const host = `localhost:${port()}`;
    const handshake = await send(
      'POST',
      `${channel}?VER=8&RID=1&CVER=22&X-HTTP-Session-Id=gsessionid`,
      host,
      form({ headers: 'Authorization:Bearer owner\r\n', count: '1', ofs: '0', req0___data__: JSON.stringify({ database }) }),
    );
    expect(handshake.status).toBe(200);
    const [[arrayId, opening]] = arraysOf(handshake.body) as [number, [string, string, string, number]][];
    expect(arrayId).toBe(0);
    expect(opening[0]).toBe('c');
    expect(opening[3]).toBe(8);
    const sid = opening[1];

    const poll = await send('GET', `${channel}?VER=8&RID=rpc&SID=${sid}&AID=0&CI=1&TYPE=xmlhttp`, host);
    const [[firstId, [handshakeResponse]]] = arraysOf(poll.body) as [number, [{ streamId: string; streamToken: string }]][];
    expect(firstId).toBe(1);
    expect(handshakeResponse.streamToken).toMatch(/^[A-Za-z0-9+/]+=*$/); // bytes in the JSON mapping: base64

    const write = {
      streamToken: handshakeResponse.streamToken,
      writes: [{ update: { name: `${database}/documents/notes/é-🚀`, fields: { text: { stringValue: 'über 🚀' } } } }],
    };
    const forward = await send('POST', `${channel}?VER=8&RID=2&SID=${sid}&AID=1`, host, form({ count: '1', ofs: '1', req0___data__: JSON.stringify(write) }));
    // One chunk: [back channel present, last array id, bytes not yet acknowledged].
    const [length, text] = forward.body.split(/\n(.*)/s);
    expect(text).toHaveLength(Number(length));
    expect(JSON.parse(text)).toEqual([1, expect.any(Number), expect.any(Number)]);
    const next = await send('GET', `${channel}?VER=8&RID=rpc&SID=${sid}&AID=1&CI=1&TYPE=xmlhttp`, host);
    const [[, [committed]]] = arraysOf(next.body) as [number, [{ writeResults: unknown[]; commitTime: string }]][];
    expect(committed.writeResults).toHaveLength(1);
    const stored = await send('GET', `/v1/${database}/documents/notes/${encodeURIComponent('é-🚀')}`, host);
    expect(JSON.parse(stored.body).fields).toEqual({ text: { stringValue: 'über 🚀' } });

    expect((await send('GET', `${channel}?VER=8&RID=3&SID=${sid}&TYPE=terminate`, host)).status).toBe(200);
    const after = await send('POST', `${channel}?VER=8&RID=4&SID=${sid}&AID=2`, host, form({ count: '0' }));
    expect(after.status).toBe(400);
    expect(after.body).toContain('Unknown SID');
  });

  it('refuses another protocol version, naming it', async () => {
    const answer = await send('POST', `${channel}?VER=7&RID=1`, `localhost:${port()}`, form({ count: '0' }));
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('VER=8');
  });
});

describe('CORS', () => {
  it('answers browsers with CORS: the origin reflected with credentials, preflights with the asked headers', async () => {
    const origin = 'http://localhost:5173';
    const preflight = await fetch(`http://127.0.0.1:${port()}${documents}:commit`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,x-goog-api-client,content-type' },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization,x-goog-api-client,content-type');

    const actual = await fetch(`http://127.0.0.1:${port()}${documents}/people/nobody`, { headers: { origin } });
    expect(actual.headers.get('access-control-allow-origin')).toBe(origin);
    expect(actual.headers.get('access-control-allow-credentials')).toBe('true');
  });
});
