/**
 * The deployed `exportData` (the trigger in functions/src/index.ts, with its options) answers browsers from the
 * web app's origin only: a preflight from any other origin gets no permission for itself.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const APP_ORIGIN = 'https://app.leadpulse.test';
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  // The param the trigger's `cors` option reads, as functions/.env.<project> sets it in production.
  process.env.BILLING_APP_URL = APP_ORIGIN;
  const { exportData } = await import('../../functions/src/index');
  // The trigger is an Express-style handler; Node's request and response are what it reads and writes.
  const handler = exportData as unknown as (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function preflight(origin: string) {
  const response = await fetch(`${baseUrl}/?scope=self`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
  });
  await response.arrayBuffer();
  return response.headers.get('access-control-allow-origin');
}

describe('exportData CORS', () => {
  it('allows the web app origin', async () => {
    expect(await preflight(APP_ORIGIN)).toBe(APP_ORIGIN);
  });

  it('gives any other origin no permission (not itself, not *)', async () => {
    for (const origin of ['https://evil.example', 'https://app.leadpulse.test.evil.example', 'null']) {
      expect(await preflight(origin)).not.toBe(origin);
      expect(await preflight(origin)).not.toBe('*');
    }
  });
});
