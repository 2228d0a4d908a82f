/**
 * The web client in Chromium against the local backend (offline Firestore emulator with firestore.rules and the
 * demo seed, Auth emulator), in the streaming and long-polling WebChannel modes:
 * - the first query after sign-in (signed out and in again each time, so the SDK reopens its Listen stream with
 *   the new token, then getDocs of the organization's contacts);
 * - a write's round trip (updateDoc until the server acknowledges it on the Write stream);
 * - a listener's delivery of another client's write (client A updates a contact; the time from A's call to the
 *   snapshot in client B, a second browser context, both clocks being this machine's).
 * Medians and p99; the target is a listener update under 50 ms (median).
 */
import type { Page } from 'playwright-core';
import { paths } from '@leadpulse/model';
import type { TransportMode } from '../test/browser/page/client';
import { LocalBackend } from '../test/browser/support/backend';
import { bundleTestPage, call, launchChromium, ok, servePage } from '../test/browser/support/browser';

const SIGN_INS = 15;
const WRITES = 50;
const DELIVERIES = 50;
const LISTENER_TARGET_MS = 50;
const CONTACT = paths.contact('acme', 'c-ada');

interface Figures {
  mode: TransportMode;
  firstQuery: number[];
  write: number[];
  delivery: number[];
}

export async function run(): Promise<void> {
  const backend = await LocalBackend.start();
  const pageServer = await servePage(await bundleTestPage());
  const browser = await launchChromium();
  try {
    const results: Figures[] = [];
    for (const mode of ['streaming', 'long-polling'] as const) {
      const open = async (): Promise<Page> => {
        const page = await (await browser.newContext()).newPage();
        await page.goto(pageServer.url);
        await call(page, 'start', {
          projectId: backend.projectId,
          firestore: { host: '127.0.0.1', port: backend.firestorePort },
          authUrl: backend.authUrl,
          mode,
        });
        return page;
      };
      const writer = await open();
      const reader = await open();
      const signIn = async (page: Page, email: string) => ok(await call(page, 'signIn', email, backend.password));
      const figures: Figures = { mode, firstQuery: [], write: [], delivery: [] };

      for (let i = 0; i < SIGN_INS; i++) {
        ok(await call(writer, 'signOut'));
        await signIn(writer, 'member@acme.example.com');
        figures.firstQuery.push(await call(writer, 'timeQuery', paths.contacts('acme')));
      }

      const notes = (i: number) => ({ notes: `bench ${mode} ${i}`, updatedAt: { $serverTimestamp: true } });
      for (let i = 0; i < WRITES; i++) figures.write.push((await call(writer, 'timeUpdate', CONTACT, notes(i))).ms);

      await signIn(reader, 'viewer@acme.example.com');
      await call(reader, 'listen', 'bench', paths.contacts('acme'));
      ok(await call(reader, 'waitForServerSnapshot', 'bench'));
      for (let i = 0; i < DELIVERIES; i++) {
        await call(reader, 'resetListener', 'bench');
        const { started } = await call(writer, 'timeUpdate', CONTACT, notes(WRITES + i));
        const seen = ok(await call(reader, 'waitForChange', 'bench', 'modified', 'c-ada'));
        figures.delivery.push(seen.at - started);
      }
      results.push(figures);
      await writer.context().close();
      await reader.context().close();
    }
    print(results);
  } finally {
    await browser.close();
    await pageServer.close();
    await backend.stop();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function print(results: Figures[]): void {
  const ms = (value: number) => `${value.toFixed(1)} ms`.padStart(10);
  console.log(`${'Chromium, web SDK 12 → offline emulator'.padEnd(52)}${'median'.padStart(10)}${'p99'.padStart(10)}   n`);
  let listenerMet = true;
  for (const { mode, firstQuery, write, delivery } of results) {
    const rows: [string, number[]][] = [
      [`${mode}: first query after sign-in`, firstQuery],
      [`${mode}: write round trip`, write],
      [`${mode}: listener gets another client's write`, delivery],
    ];
    for (const [label, values] of rows) console.log(`${label.padEnd(52)}${ms(percentile(values, 50))}${ms(percentile(values, 99))}   ${values.length}`);
    if (percentile(delivery, 50) >= LISTENER_TARGET_MS) listenerMet = false;
  }
  console.log(`target: listener update under ${LISTENER_TARGET_MS} ms (median) in every mode: ${listenerMet ? 'met' : 'NOT MET'}`);
  if (!listenerMet) process.exitCode = 1;
}
