/**
 * Regenerates docs/data-viewer.png (the picture of the data viewer in docs/emulator.md) from a running `npm start`:
 *   npm start            # in another terminal
 *   npx tsx scripts/data-viewer-screenshot.ts
 * It makes a few reads as demo users (allowed and denied) so the decisions table has rows, then opens the demo
 * organization's first contact in the viewer, in the Chromium the browser suite uses.
 */
import { join } from 'node:path';
import { paths } from '@leadpulse/model';
import { launchChromium } from '../test/browser/support/browser';
import { demoProjectId } from './seed-data';

const firestore = `http://127.0.0.1:8080`;
const documents = `/v1/projects/${demoProjectId}/databases/(default)/documents`;

/** The unsigned ID token the Auth emulator would issue for `uid` (the emulator does not verify signatures). */
function idToken(uid: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: uid, user_id: uid })}.`;
}

async function main(): Promise<void> {
  const reads: [string, string][] = [
    ['acme-member', paths.contacts('acme')],
    ['acme-member', paths.contact('acme', 'c-ada')],
    ['acme-member', paths.contact('globex', 'c-x')],
    ['globex-admin', paths.config('globex', 'general')],
    ['acme-viewer', paths.subscription('acme')],
  ];
  for (const [uid, path] of reads) {
    await fetch(`${firestore}${documents}/${path}`, { headers: { authorization: `Bearer ${idToken(uid)}` } });
  }
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${firestore}/`);
    await page.getByTestId('collections').getByText('orgs', { exact: true }).click();
    await page.getByTestId('documents').getByText('acme', { exact: true }).click();
    await page.getByTestId('browse-subcollections').click();
    await page.getByTestId('collections').getByText('contacts', { exact: true }).click();
    await page.getByTestId('documents').getByText('c-ada', { exact: true }).click();
    await page.locator('tr[data-verdict="denied"]').first().waitFor();
    await page.screenshot({ path: join(__dirname, '..', 'docs', 'data-viewer.png') });
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
