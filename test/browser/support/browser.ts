/**
 * What the browser suite needs besides the emulators: Debian's Chromium driven by playwright-core (never a
 * downloaded browser), and the test page (test/browser/page/client.ts bundled by esbuild with the `firebase` web
 * SDK's browser build) served from its own loopback origin, so every Firestore request is cross-origin as in a
 * real web client and CORS is exercised.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { PageApi } from '../page/client';

export const CHROMIUM_INSTALL = 'apt-get update && apt-get install -y chromium';

/** Debian's chromium, or CHROMIUM_PATH. Missing, it fails the suite with the install command: CI never skips it. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `\n\n*** The browser suite needs Chromium and ${path} does not exist. ***\n` +
        `Install Debian's package (as root): ${CHROMIUM_INSTALL}\n` +
        '(or set CHROMIUM_PATH to a Chromium binary). .ci/run installs it in CI.\n',
    );
  }
  return path;
}

/** A name a DNS-rebinding page would use, resolved by this browser to 127.0.0.1. */
export const REBOUND_HOST = 'rebind.attacker.test';

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--host-resolver-rules=MAP ${REBOUND_HOST} 127.0.0.1`,
    ],
  });
}

/** The test page's script: the web SDK as a web client bundles it. */
export async function bundleTestPage(): Promise<string> {
  const result = await build({
    entryPoints: [join(__dirname, '..', 'page', 'client.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

/** Serves the page on its own loopback port (another origin than the emulators'). */
export async function servePage(script: string): Promise<PageServer> {
  const html = '<!doctype html><meta charset="utf-8"><title>LeadPulse browser suite</title><script src="/client.js"></script>';
  const server: Server = createServer((request, response) => {
    const isScript = request.url === '/client.js';
    response.writeHead(200, { 'content-type': isScript ? 'text/javascript' : 'text/html' });
    response.end(isScript ? script : html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Api = PageApi;

/** Calls `lp[name](...args)` in the page and returns its (JSON) result. */
export async function call<K extends keyof Api>(page: Page, name: K, ...args: Parameters<Api[K]>): Promise<Awaited<ReturnType<Api[K]>>> {
  return page.evaluate(
    ({ method, params }) => {
      const lp = (globalThis as unknown as { lp: Record<string, (...values: unknown[]) => unknown> }).lp;
      return lp[method](...params);
    },
    { method: name, params: args as unknown[] },
  ) as Promise<Awaited<ReturnType<Api[K]>>>;
}

/** The value of a successful outcome; fails with the page's error otherwise. */
export function ok<T>(outcome: { ok: T } | { error: { code: string; message: string } }): T {
  if ('error' in outcome) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return outcome.ok;
}
