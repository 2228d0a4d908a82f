/**
 * The LeadPulse web client in a real browser: the `firebase` web SDK's browser build, bundled by esbuild, in
 * Debian's headless Chromium, against the offline Firestore emulator (WebChannel streams, REST calls) and the Auth
 * emulator, with firestore.rules and the demo seed, as `npm start` runs them. Every scenario runs in the streaming
 * and the long-polling WebChannel modes (and the default, auto-detect, once). Without Chromium the suite fails,
 * saying how to install it. Then the data viewer at the emulator's root URL, and a DNS-rebinding page refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { paths } from '@leadpulse/model';
import type { TransportMode } from './page/client';
import { AUTH_EMULATOR_START_TIMEOUT_MS } from '../support/auth-emulator';
import { LocalBackend } from './support/backend';
import { bundleTestPage, call, launchChromium, ok, REBOUND_HOST, servePage, type PageServer } from './support/browser';

let backend: LocalBackend;
let browser: Browser;
let pageServer: PageServer;

// Started side by side, the Auth emulator being the slow one. Each is kept as soon as it is up, so that afterAll stops
// it even when another failed to start.
beforeAll(async () => {
  const starts = await Promise.allSettled([
    launchChromium().then((started) => (browser = started)),
    LocalBackend.start().then((started) => (backend = started)),
    bundleTestPage()
      .then(servePage)
      .then((started) => (pageServer = started)),
  ]);
  for (const start of starts) if (start.status === 'rejected') throw start.reason instanceof Error ? start.reason : new Error(String(start.reason));
}, AUTH_EMULATOR_START_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await pageServer?.close();
  await backend?.stop();
});

const ACME = 'acme';
const GLOBEX = 'globex';
const uidOf = (role: string, orgId = ACME) => `${orgId}-${role}`;
const emailOf = (role: string, orgId = ACME) => backend.users.find((u) => u.uid === uidOf(role, orgId))?.email ?? '';
const now = { $serverTimestamp: true };
/** How long the data viewer may take to show something: its fetches share a busy machine with the suite. */
const POLL = { timeout: 15_000 };

/** A page of its own (own cookies and IndexedDB) with the SDK started in `mode`; records the channel requests. */
async function openClient(mode: TransportMode): Promise<{ context: BrowserContext; page: Page; backChannels: URL[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const backChannels: URL[] = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname.endsWith('/channel') && url.searchParams.get('TYPE') === 'xmlhttp') backChannels.push(url);
  });
  await page.goto(pageServer.url);
  await call(page, 'start', { projectId: backend.projectId, firestore: { host: '127.0.0.1', port: backend.firestorePort }, authUrl: backend.authUrl, mode });
  return { context, page, backChannels };
}

async function signInAs(page: Page, role: string, orgId = ACME): Promise<void> {
  expect(ok(await call(page, 'signIn', emailOf(role, orgId), backend.password))).toBe(uidOf(role, orgId));
}

function newContact(createdBy: string, name: string, status = 'lead') {
  return { name, status, createdBy, createdAt: now, updatedAt: now };
}

function newContactFields(createdBy: string, name: string) {
  return { name, status: 'lead', createdBy };
}

describe.each(['streaming', 'long-polling'] as const)('web SDK over %s WebChannel', (mode) => {
  let context: BrowserContext;
  let page: Page;
  let backChannels: URL[];

  beforeAll(async () => {
    ({ context, page, backChannels } = await openClient(mode));
  });
  afterAll(async () => {
    await context?.close();
  });

  it('signs in with the Auth emulator and reads its organization', async () => {
    await signInAs(page, 'member');
    const org = ok(await call(page, 'get', paths.org(ACME)));
    expect(org.exists).toBe(true);
    expect(org.data?.name).toBe('Acme Corp');
    const contacts = ok(await call(page, 'list', paths.contacts(ACME)));
    // The demo seed's contacts (other scenarios add their own).
    expect(contacts.map((c) => c.id)).toEqual(expect.arrayContaining(['c-ada', 'c-alan', 'c-grace']));
  });

  it('contacts: a member creates, reads and updates one; only a manager deletes it', async () => {
    await signInAs(page, 'member');
    // Not ASCII: WebChannel frames count UTF-16 code units, not bytes.
    const name = `Zoë Ünïcode 🚀 over ${mode}`;
    const id = ok(await call(page, 'add', paths.contacts(ACME), newContact(uidOf('member'), name)));
    const created = ok(await call(page, 'get', paths.contact(ACME, id)));
    expect(created.data).toMatchObject({ name, status: 'lead', createdBy: uidOf('member') });

    ok(await call(page, 'update', paths.contact(ACME, id), { status: 'prospect', updatedAt: now }));
    expect(ok(await call(page, 'get', paths.contact(ACME, id))).data?.status).toBe('prospect');

    const denied = await call(page, 'remove', paths.contact(ACME, id));
    expect(denied).toEqual({ error: expect.objectContaining({ code: 'permission-denied' }) });
    expect(ok(await call(page, 'get', paths.contact(ACME, id))).exists).toBe(true);

    await signInAs(page, 'admin');
    ok(await call(page, 'remove', paths.contact(ACME, id)));
    expect(ok(await call(page, 'get', paths.contact(ACME, id))).exists).toBe(false);
  });

  it('messages: created for an existing contact, never updated; a viewer creates none', async () => {
    await signInAs(page, 'member');
    const message = { contactId: 'c-ada', channel: 'note', direction: 'outbound', body: `Noted over ${mode}`, sentBy: uidOf('member'), sentAt: now };
    const id = ok(await call(page, 'add', paths.messages(ACME), message));
    expect(ok(await call(page, 'get', paths.message(ACME, id))).data?.body).toBe(`Noted over ${mode}`);

    const update = await call(page, 'update', paths.message(ACME, id), { body: 'rewritten' });
    expect(update).toEqual({ error: expect.objectContaining({ code: 'permission-denied' }) });
    const forMissingContact = await call(page, 'add', paths.messages(ACME), { ...message, contactId: 'c-nobody' });
    expect(forMissingContact).toEqual({ error: expect.objectContaining({ code: 'permission-denied' }) });

    await signInAs(page, 'viewer');
    const byViewer = await call(page, 'add', paths.messages(ACME), { ...message, sentBy: uidOf('viewer') });
    expect(byViewer).toEqual({ error: expect.objectContaining({ code: 'permission-denied' }) });
    // The viewer still reads what the member wrote.
    expect(ok(await call(page, 'get', paths.message(ACME, id))).data?.body).toBe(`Noted over ${mode}`);
  });

  it("another organization's data is permission-denied: as an error, never as an empty result", async () => {
    await signInAs(page, 'owner');
    expect(await call(page, 'get', paths.contact(GLOBEX, 'c-nobody'))).toEqual({
      error: expect.objectContaining({ code: 'permission-denied' }),
    });
    expect(await call(page, 'list', paths.contacts(GLOBEX))).toEqual({ error: expect.objectContaining({ code: 'permission-denied' }) });
    expect(await call(page, 'count', paths.contacts(GLOBEX))).toEqual({ error: expect.objectContaining({ code: 'permission-denied' }) });
    const key = `${mode}-globex`;
    await call(page, 'listen', key, paths.contacts(GLOBEX));
    expect(await call(page, 'waitForServerSnapshot', key)).toEqual({ error: expect.objectContaining({ code: 'permission-denied' }) });
    await call(page, 'unlisten', key);
  });

  it('a listener receives added, modified and removed changes', async () => {
    await signInAs(page, 'member');
    const key = `${mode}-leads`;
    await call(page, 'listen', key, paths.contacts(ACME), { where: [['status', '==', 'lead']] });
    const initial = ok(await call(page, 'waitForServerSnapshot', key));
    expect(initial.ids).toContain('c-grace');

    const id = ok(await call(page, 'add', paths.contacts(ACME), newContact(uidOf('member'), `Listened over ${mode}`)));
    ok(await call(page, 'waitForChange', key, 'added', id));
    ok(await call(page, 'update', paths.contact(ACME, id), { name: 'Renamed lead', updatedAt: now }));
    ok(await call(page, 'waitForChange', key, 'modified', id));
    ok(await call(page, 'update', paths.contact(ACME, id), { status: 'customer', updatedAt: now }));
    const removed = ok(await call(page, 'waitForChange', key, 'removed', id));
    expect(removed.ids).not.toContain(id);
    await call(page, 'unlisten', key);
  });

  it('a listener keeps receiving after large documents (a back channel ends by size and the next picks up)', async () => {
    await signInAs(page, 'member');
    const key = `${mode}-large`;
    await call(page, 'listen', key, paths.contacts(ACME));
    ok(await call(page, 'waitForServerSnapshot', key));
    const listenBackChannelsBefore = backChannels.filter((url) => url.pathname.includes('/Listen/')).length;
    // Two documents of 300,000 characters each: each more than one streaming back channel carries.
    for (const suffix of ['1', '2']) {
      const contactId = await backend.createContactAsOwner(ACME, `large-${mode}-${suffix}`, {
        ...newContactFields(uidOf('admin'), `Large ${suffix}`),
        notes: 'x'.repeat(300_000),
      });
      ok(await call(page, 'waitForChange', key, 'added', contactId));
    }
    const small = await backend.createContactAsOwner(ACME, `after-large-${mode}`, newContactFields(uidOf('admin'), 'After the large ones'));
    const seen = ok(await call(page, 'waitForChange', key, 'added', small));
    expect(seen.ids).toEqual(expect.arrayContaining([`large-${mode}-1`, `large-${mode}-2`, small]));
    // Each large document ended its back channel (a streaming one by size, a poll by design): new ones followed.
    expect(backChannels.filter((url) => url.pathname.includes('/Listen/')).length).toBeGreaterThanOrEqual(listenBackChannelsBefore + 2);
    await call(page, 'unlisten', key);
  });

  it("a listener sees another client's write, from the server", async () => {
    const other = await openClient(mode);
    try {
      await signInAs(page, 'member');
      await signInAs(other.page, 'admin');
      const key = `${mode}-other-client`;
      await call(page, 'listen', key, paths.contacts(ACME));
      ok(await call(page, 'waitForServerSnapshot', key));
      const id = ok(await call(other.page, 'add', paths.contacts(ACME), newContact(uidOf('admin'), 'From the other client')));
      const seen = ok(await call(page, 'waitForChange', key, 'added', id));
      expect(seen.fromCache).toBe(false);
      await call(page, 'unlisten', key);
    } finally {
      await other.context.close();
    }
  });

  it('transactions read and write atomically, retrying on contention', async () => {
    await signInAs(page, 'member');
    const id = ok(await call(page, 'add', paths.contacts(ACME), newContact(uidOf('member'), 'Transactional')));
    const path = paths.contact(ACME, id);
    const [first, second] = await Promise.all([
      call(page, 'appendInTransaction', path, 'notes', 'a', { updatedAt: now }),
      call(page, 'appendInTransaction', path, 'notes', 'b', { updatedAt: now }),
    ]);
    expect([ok(first), ok(second)].sort((x, y) => x.length - y.length)[1]).toHaveLength(2);
    expect(['ab', 'ba']).toContain(ok(await call(page, 'get', path)).data?.notes);

    // A transaction the rules refuse (a viewer writing) changes nothing.
    await signInAs(page, 'viewer');
    const refused = await call(page, 'appendInTransaction', path, 'notes', 'c', { updatedAt: now });
    expect(refused).toEqual({ error: expect.objectContaining({ code: 'permission-denied' }) });
    expect(['ab', 'ba']).toContain(ok(await call(page, 'get', path)).data?.notes);
  });

  it('batched writes apply all or nothing', async () => {
    await signInAs(page, 'member');
    const ids = [`batch-${mode}-1`, `batch-${mode}-2`];
    ok(
      await call(page, 'batch', [
        { op: 'set', path: paths.contact(ACME, ids[0]), data: newContact(uidOf('member'), 'Batch one') },
        { op: 'set', path: paths.contact(ACME, ids[1]), data: newContact(uidOf('member'), 'Batch two') },
      ]),
    );
    expect(ok(await call(page, 'get', paths.contact(ACME, ids[1]))).exists).toBe(true);

    const refused = await call(page, 'batch', [
      { op: 'update', path: paths.contact(ACME, ids[0]), data: { name: 'Changed in a refused batch', updatedAt: now } },
      { op: 'delete', path: paths.contact(ACME, ids[1]) }, // members do not delete contacts
    ]);
    expect(refused).toEqual({ error: expect.objectContaining({ code: 'permission-denied' }) });
    expect(ok(await call(page, 'get', paths.contact(ACME, ids[0]))).data?.name).toBe('Batch one');
    expect(ok(await call(page, 'get', paths.contact(ACME, ids[1]))).exists).toBe(true);
  });

  it('pages through contacts with cursors and counts them on the server', async () => {
    await signInAs(page, 'viewer');
    const all = ok(await call(page, 'list', paths.contacts(ACME), { orderBy: [['name', 'asc']] })).map((c) => String(c.data.name));
    expect(all.length).toBeGreaterThan(3);
    const first = ok(await call(page, 'list', paths.contacts(ACME), { orderBy: [['name', 'asc']], limit: 2 }));
    const next = ok(await call(page, 'list', paths.contacts(ACME), { orderBy: [['name', 'asc']], startAfter: [first[1].data.name], limit: 2 }));
    expect([...first, ...next].map((c) => c.data.name)).toEqual(all.slice(0, 4));

    expect(ok(await call(page, 'count', paths.contacts(ACME)))).toBe(all.length);
    const customers = ok(await call(page, 'list', paths.contacts(ACME), { where: [['status', '==', 'customer']] }));
    expect(ok(await call(page, 'count', paths.contacts(ACME), { where: [['status', '==', 'customer']] }))).toBe(customers.length);
  });

  it(`used the ${mode} back channel for every stream`, () => {
    expect(backChannels.length).toBeGreaterThan(0);
    const expected = mode === 'streaming' ? '0' : '1';
    expect(backChannels.filter((url) => url.searchParams.get('CI') !== expected)).toEqual([]);
  });

  it('reconnects after the emulator restarts: writes go through and listeners resume', async () => {
    await signInAs(page, 'member');
    const key = `${mode}-restart`;
    await call(page, 'listen', key, paths.contacts(ACME));
    ok(await call(page, 'waitForServerSnapshot', key));

    await backend.stopFirestore();
    await backend.startFirestore();

    // The Write channel's next request meets "Unknown SID": the SDK opens a new stream and the write goes through.
    const id = ok(await call(page, 'add', paths.contacts(ACME), newContact(uidOf('member'), 'After the restart')));
    // So does a read on the Listen channel, which re-adds every target of the listener on the new stream.
    expect(ok(await call(page, 'get', paths.contact(ACME, id))).data?.name).toBe('After the restart');
    // The listener then hears of another client's write.
    const fromElsewhere = await backend.createContactAsOwner(ACME, `restart-${mode}`, newContactFields(uidOf('admin'), 'Written by the server'));
    expect(ok(await call(page, 'waitForChange', key, 'added', fromElsewhere)).hasPendingWrites).toBe(false);
    // The restarted emulator holds only the seed, so the contacts this client saw before the restart are in limbo
    // until the SDK has asked the server about each one (the snapshots meanwhile say fromCache). Once in sync, the
    // listener holds exactly what the server holds.
    const synced = ok(await call(page, 'waitForServerSnapshot', key, fromElsewhere));
    expect(synced.hasPendingWrites).toBe(false);
    expect([...synced.ids].sort()).toEqual(await backend.contactIds(ACME));
    await call(page, 'unlisten', key);
  }, 60_000);
});

describe('web SDK in its default mode (auto-detect long polling)', () => {
  it('finds no buffering proxy, streams, and reads and writes', async () => {
    const client = await openClient('auto-detect');
    try {
      await signInAs(client.page, 'member');
      const key = 'auto-leads';
      await call(client.page, 'listen', key, paths.contacts(ACME));
      ok(await call(client.page, 'waitForServerSnapshot', key));
      const id = ok(await call(client.page, 'add', paths.contacts(ACME), newContact(uidOf('member'), 'Auto-detected')));
      ok(await call(client.page, 'waitForChange', key, 'added', id));
      // Detection starts streaming (CI=0); the emulator writes a first noop at once so that the client sees bytes
      // within its detection window (twice the handshake's round trip), though on a loaded machine the client may
      // still decide to poll, which is its own choice and works too.
      expect(client.backChannels[0]?.searchParams.get('CI')).toBe('0');
    } finally {
      await client.context.close();
    }
  });
});

describe("the data viewer at the emulator's root URL", () => {
  it('browses projects, collections and documents, shows rules decisions with their rule lines, clears data', async () => {
    const client = await openClient('streaming');
    const context = await browser.newContext();
    try {
      // One allowed and one denied decision to show.
      await signInAs(client.page, 'member');
      ok(await call(client.page, 'get', paths.contact(ACME, 'c-ada')));
      expect(await call(client.page, 'get', paths.contact(GLOBEX, 'c-nobody'))).toEqual({ error: expect.objectContaining({ code: 'permission-denied' }) });

      const viewer = await context.newPage();
      const response = await viewer.goto(backend.firestoreUrl('/'));
      expect(response?.headers()['content-type']).toContain('text/html');
      await expect.poll(() => viewer.getByTestId('project').inputValue(), POLL).toBe(backend.projectId);

      await viewer.getByTestId('collections').getByText('orgs', { exact: true }).click();
      await viewer.getByTestId('documents').getByText('acme', { exact: true }).click();
      await expect.poll(() => viewer.getByTestId('document').textContent(), POLL).toContain('name: "Acme Corp"');
      await viewer.getByTestId('browse-subcollections').click();
      await viewer.getByTestId('collections').getByText('contacts', { exact: true }).click();
      await viewer.getByTestId('documents').getByText('c-ada', { exact: true }).click();
      await expect.poll(() => viewer.getByTestId('document').textContent(), POLL).toContain('name: "Ada Lovelace"');
      expect(await viewer.getByTestId('crumbs').textContent()).toBe('/orgs/acme');

      const denied = viewer.locator('tr[data-verdict="denied"]', { hasText: `documents/orgs/${GLOBEX}/contacts/c-nobody` }).first();
      await denied.waitFor();
      const deniedCells = await denied.locator('td').allTextContents();
      expect(deniedCells[2]).toBe('get');
      expect(deniedCells[4]).toBe('denied');
      expect(deniedCells[5]).toMatch(/^L\d+/);
      expect(Number(deniedCells[6])).toBeGreaterThanOrEqual(1);
      const allowed = viewer.locator('tr[data-verdict="allowed"]', { hasText: `documents/orgs/${ACME}/contacts/c-ada` }).first();
      await allowed.waitFor();
      expect((await allowed.locator('td').allTextContents())[5]).toMatch(/^L\d+$/);

      viewer.once('dialog', (dialog) => void dialog.accept());
      await viewer.getByTestId('clear-data').click();
      await expect.poll(() => viewer.getByTestId('status').textContent(), POLL).toBe('data cleared');
      expect(await viewer.getByTestId('collections').textContent()).toBe('No collections');
      const afterClear = await fetch(backend.firestoreUrl(`/v1/${backend.databaseName}/documents/${paths.org(ACME)}`), {
        headers: { authorization: 'Bearer owner' },
      });
      expect(afterClear.status).toBe(404);
    } finally {
      await context.close();
      await client.context.close();
      // Back to the demo seed for anything after this.
      await backend.stopFirestore();
      await backend.startFirestore();
    }
  });
});

describe('a DNS-rebinding page', () => {
  it('is refused: it can neither read, load rules nor clear data', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      // The attacker's name now resolves to 127.0.0.1, so its page and the emulator share an origin.
      const landing = await page.goto(`http://${REBOUND_HOST}:${backend.firestorePort}/`);
      expect(landing?.status()).toBe(403);
      const statuses = await page.evaluate(async (projectId) => {
        const documents = `/v1/projects/${projectId}/databases/(default)/documents`;
        const attempts = [
          fetch(`${documents}/orgs/acme`, { headers: { authorization: 'Bearer owner' } }),
          fetch(`/emulator/v1/projects/${projectId}/databases/(default)/documents`, { method: 'DELETE' }),
          fetch(`/emulator/v1/projects/${projectId}:securityRules`, {
            method: 'PUT',
            body: JSON.stringify({ rules: { files: [{ content: 'service cloud.firestore { match /{d=**} { allow read, write; } }' }] } }),
          }),
        ];
        return Promise.all(attempts.map(async (attempt) => (await attempt).status));
      }, backend.projectId);
      expect(statuses).toEqual([403, 403, 403]);
      const stillThere = await fetch(backend.firestoreUrl(`/v1/${backend.databaseName}/documents/${paths.org(ACME)}`), {
        headers: { authorization: 'Bearer owner' },
      });
      expect(stillThere.status).toBe(200);
    } finally {
      await context.close();
    }
  });
});
