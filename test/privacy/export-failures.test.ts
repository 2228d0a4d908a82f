/**
 * An export that fails on our side is logged with its stack (the client sees only a status, or a cut connection);
 * a client that goes away is not a failure and logs nothing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Firestore } from 'firebase-admin/firestore';
import { handleExportRequest, type ExportDeps } from '../../functions/src/privacy/export';
import { manualClock } from './support';

// The log lines, captured (and kept out of the test output).
const logged = vi.hoisted(() => ({ error: vi.fn() }));
vi.mock('firebase-functions/logger', async (original) => ({ ...(await original<typeof import('firebase-functions/logger')>()), error: logged.error }));

let server: Server;
let baseUrl: string;
let runs: Array<Promise<void>>;

/** Firestore failing every transaction, as when the database is unavailable. */
const unavailable = { runTransaction: () => Promise.reject(new Error('14 UNAVAILABLE: firestore down')) } as unknown as Firestore;
const deps: ExportDeps = { db: unavailable, clock: manualClock().clock, verifyIdToken: async (token) => ({ uid: token }), verifyAppCheck: null };

beforeEach(async () => {
  runs = [];
  server = createServer((req, res) => runs.push(handleExportRequest(deps, req, res)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  logged.error.mockClear();
});

describe('exportData failures', () => {
  it('answers 500 without details and logs the error with its stack', async () => {
    const response = await fetch(`${baseUrl}/?scope=self`, { headers: { authorization: 'Bearer u-1' } });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'internal error' });
    await Promise.all(runs);
    expect(logged.error).toHaveBeenCalledTimes(1);
    const [message, fields] = logged.error.mock.calls[0] as [string, Record<string, unknown>];
    expect(message).toBe('export failed before it started');
    expect(fields).toMatchObject({
      error: '14 UNAVAILABLE: firestore down',
      stack_trace: expect.stringMatching(/^Error: 14 UNAVAILABLE: firestore down\n\s+at /),
    });
  });

  it('logs nothing for a refusal of the caller', async () => {
    const response = await fetch(`${baseUrl}/?scope=self`);
    expect(response.status).toBe(401);
    await response.arrayBuffer();
    await Promise.all(runs);
    expect(logged.error).not.toHaveBeenCalled();
  });
});
