/**
 * App Check (issue 13, finding 13), through the deployed wrappers of functions/src/index.ts with
 * ENFORCE_APP_CHECK=true as in production: every callable refuses a request without an App Check token before
 * its handler runs, and lets one with a valid token through to it; the one-shot actions ask for the token to be
 * consumed and refuse it the second time. Tokens are verified by firebase-admin's App Check service, which the
 * test replaces on the default app (no network here): it accepts only the tokens the test issued.
 */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { getAppCheck, type VerifyAppCheckTokenOptions, type VerifyAppCheckTokenResponse } from 'firebase-admin/app-check';
import { uniqueProjectId } from '../support/firestore';
import { provideFunctionParams } from '../support/function-params';

let functions: Record<string, unknown>;
const verifications: Array<{ token: string; consume: boolean }> = [];
const consumed = new Set<string>();
let warnings: MockInstance<(...data: unknown[]) => void>;

/** The callables whose App Check token is consumed: each can be done only once per token. */
const oneShot = ['acceptInvitation', 'deleteMyAccount', 'eraseUser', 'requestOrganizationDeletion'];

beforeAll(async () => {
  // The params and secrets, as the Functions runtime provides them (handlers build their dependencies first).
  provideFunctionParams({ GCLOUD_PROJECT: uniqueProjectId('app-check'), ENFORCE_APP_CHECK: 'true' });
  // firebase-functions logs every verification (debug) and a warning for every refused token: asserted, not
  // printed. Its logger keeps the console methods it finds when loaded, so they are replaced before the import.
  warnings = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  for (const method of ['log', 'debug', 'info'] as const) vi.spyOn(console, method).mockImplementation(() => undefined);
  functions = await import('../../functions/src/index');
  const appCheck = getAppCheck();
  // Two parameters, as firebase-admin's own: firebase-functions refuses to consume with a one-parameter verifyToken.
  appCheck.verifyToken = async (token: string, options?: VerifyAppCheckTokenOptions): Promise<VerifyAppCheckTokenResponse> => {
    const consume = options?.consume === true;
    verifications.push({ token, consume });
    if (!token.startsWith('issued-')) throw new Error('app-check/invalid-argument');
    const alreadyConsumed = consume ? consumed.has(token) : undefined;
    if (consume) consumed.add(token);
    return {
      appId: 'leadpulse-web',
      token: { app_id: 'leadpulse-web', sub: 'leadpulse-web' } as never,
      ...(alreadyConsumed === undefined ? {} : { alreadyConsumed }),
    };
  };
});
afterAll(() => {
  vi.restoreAllMocks();
});

interface Response {
  status: number;
  body: { error?: { status: string; message: string } };
}

/** Calls a deployed callable as the Functions runtime would, with a Firebase client's request shape. */
function callWrapper(name: string, headers: Record<string, string>): Promise<Response> {
  const wrapper = functions[name] as (req: unknown, res: unknown) => unknown;
  return new Promise((resolve) => {
    const requestHeaders: Record<string, string> = { 'content-type': 'application/json' };
    for (const [key, value] of Object.entries(headers)) requestHeaders[key.toLowerCase()] = value;
    const header = (key: string) => requestHeaders[key.toLowerCase()];
    const req = Object.assign(new EventEmitter(), { method: 'POST', url: '/', headers: requestHeaders, header, get: header, body: { data: {} } });
    const res = Object.assign(new EventEmitter(), {
      statusCode: 200,
      headersSent: false,
      sent: new Map<string, unknown>(),
      setHeader(key: string, value: unknown) {
        this.sent.set(key.toLowerCase(), value);
      },
      getHeader(key: string) {
        return this.sent.get(key.toLowerCase());
      },
      status(code: number) {
        this.statusCode = code;
        return this;
      },
      send(body: Response['body']) {
        resolve({ status: this.statusCode, body });
      },
      end() {
        resolve({ status: this.statusCode, body: {} });
      },
      write: () => true,
    });
    void wrapper(req, res);
  });
}

/** Calls the deployed exportData (an onRequest function) with `headers`; answers its status and JSON body. */
function callExport(headers: Record<string, string>): Promise<{ status: number; body: { error?: string } }> {
  const wrapper = functions.exportData as (req: unknown, res: unknown) => unknown;
  return new Promise((resolve) => {
    const requestHeaders: Record<string, string> = {};
    for (const [key, value] of Object.entries(headers)) requestHeaders[key.toLowerCase()] = value;
    const header = (key: string) => requestHeaders[key.toLowerCase()];
    const req = Object.assign(new EventEmitter(), { method: 'GET', url: '/?scope=self', headers: requestHeaders, header, get: header });
    let status = 200;
    const res = Object.assign(new EventEmitter(), {
      statusCode: 200,
      setHeader: () => undefined,
      getHeader: () => undefined,
      writeHead(code: number) {
        status = code;
        return this;
      },
      end(body?: string) {
        resolve({ status, body: body ? (JSON.parse(body) as { error?: string }) : {} });
      },
    });
    void wrapper(req, res);
  });
}

function callableNames(): string[] {
  return Object.entries(functions)
    .filter(([, value]) => typeof value === 'function' && (value as { __endpoint?: { callableTrigger?: unknown } }).__endpoint?.callableTrigger !== undefined)
    .map(([name]) => name);
}

describe('App Check on every callable (ENFORCE_APP_CHECK=true)', () => {
  it('covers every callable the backend deploys', () => {
    expect(callableNames()).toEqual(
      expect.arrayContaining(['createOrganization', 'acceptInvitation', 'assignOwner', 'eraseContact', 'linkStripeCustomer', ...oneShot]),
    );
    expect(callableNames().length).toBeGreaterThanOrEqual(20);
  });

  it('refuses a request without an App Check token, or with a forged one, before the handler runs', async () => {
    for (const name of callableNames()) {
      const attempts: Array<Record<string, string>> = [{}, { 'X-Firebase-AppCheck': 'forged' }];
      for (const headers of attempts) {
        const response = await callWrapper(name, headers);
        expect(response, name).toEqual({ status: 401, body: { error: { status: 'UNAUTHENTICATED', message: 'Unauthenticated' } } });
      }
    }
    expect(warnings.mock.calls.filter((call) => String(call[0]).includes('Failed to validate AppCheck token'))).toHaveLength(callableNames().length);
  });

  it('lets a request with a valid token reach the handler (which then asks for a sign-in)', async () => {
    for (const name of callableNames()) {
      const response = await callWrapper(name, { 'X-Firebase-AppCheck': `issued-${name}` });
      expect(response, name).toEqual({ status: 401, body: { error: { status: 'UNAUTHENTICATED', message: 'sign in first' } } });
      const verification = verifications.filter((entry) => entry.token === `issued-${name}`);
      // Replay protection is requested exactly on the one-shot actions.
      expect(verification, name).toEqual([{ token: `issued-${name}`, consume: oneShot.includes(name) }]);
    }
  });

  it('refuses a one-shot action replayed with a token already consumed', async () => {
    for (const name of oneShot) {
      const token = `issued-replay-${name}`;
      expect((await callWrapper(name, { 'X-Firebase-AppCheck': token })).body.error?.message, name).toBe('sign in first');
      const replay = await callWrapper(name, { 'X-Firebase-AppCheck': token });
      expect(replay.status, name).toBe(403);
      expect(replay.body.error).toMatchObject({ status: 'PERMISSION_DENIED', message: expect.stringMatching(/cannot be replayed/) });
    }
  });

  it('exportData (ID tokens over HTTP) refuses a request without a valid App Check token before reading the ID token', async () => {
    expect(await callExport({ Authorization: 'Bearer some-id-token' })).toEqual({
      status: 401,
      body: { error: 'send an App Check token as "X-Firebase-AppCheck"' },
    });
    expect(await callExport({ Authorization: 'Bearer some-id-token', 'X-Firebase-AppCheck': 'forged' })).toEqual({
      status: 401,
      body: { error: 'the App Check token is invalid or expired' },
    });
    // A valid App Check token gets as far as the ID token, which this test does not have.
    expect(await callExport({ 'X-Firebase-AppCheck': 'issued-export' })).toMatchObject({
      status: 401,
      body: { error: expect.stringMatching(/Authorization: Bearer/) },
    });
  });
});
