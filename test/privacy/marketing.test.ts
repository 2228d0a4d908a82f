/**
 * P9: marketing consent with time and source, and the signed one-click unsubscribe link (RFC 8058) over real
 * HTTP: no sign-in, opts out at once, safe to repeat; a forged, tampered, damaged or expired link changes nothing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Firestore } from 'firebase-admin/firestore';
import { marketingConsentSchema, paths } from '@leadpulse/model';
import {
  UNSUBSCRIBE_LINK_TTL_DAYS,
  handleUnsubscribeRequest,
  setMarketingConsent,
  signUnsubscribeToken,
  unsubscribeHeaders,
  verifyUnsubscribeToken,
  type UnsubscribeDeps,
} from '../../functions/src/privacy/marketing';
import { digest, dumpProject, expectRefusedWithoutChange } from '../support/snapshot';
import { DAY, START, caller, freshProject, manualClock } from './support';

const SIGNING_KEY = 'test-signing-key-0123456789abcdef0123456789';

let db: Firestore;
let close: () => Promise<void>;
let time: ReturnType<typeof manualClock>;
let deps: UnsubscribeDeps;
let server: Server;
let endpoint: string;

beforeEach(async () => {
  ({ db, close } = freshProject('privacy-marketing'));
  time = manualClock();
  deps = { db, clock: time.clock, signingKey: SIGNING_KEY };
  server = createServer((req, res) => void handleUnsubscribeRequest(deps, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/unsubscribe`;
});
afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await close();
});

async function consentOf(uid: string) {
  const snapshot = await db.doc(paths.marketingConsent(uid)).get();
  return snapshot.exists ? marketingConsentSchema.parse(snapshot.data()) : null;
}

/** What a mail client does with the headers: POST `List-Unsubscribe=One-Click` to the link. */
async function oneClick(url: string, encoding: 'urlencoded' | 'multipart' = 'urlencoded') {
  const body =
    encoding === 'urlencoded'
      ? new URLSearchParams({ 'List-Unsubscribe': 'One-Click' })
      : (() => {
          const form = new FormData();
          form.set('List-Unsubscribe', 'One-Click');
          return form;
        })();
  const response = await fetch(url, { method: 'POST', body });
  return { status: response.status, text: await response.text() };
}

function linkFrom(headers: Record<string, string>): string {
  return /^<(.+)>$/.exec(headers['List-Unsubscribe'])?.[1] ?? '';
}

describe('setMarketingConsent', () => {
  it('records opting in and out with time and source', async () => {
    expect(await setMarketingConsent(deps, caller('ann'), { optIn: true, source: 'signup' })).toEqual({ status: 'opted_in' });
    expect(await consentOf('ann')).toMatchObject({ email: 'ann@example.com', status: 'opted_in', source: 'signup', optedOutAt: null });
    time.advance(DAY);
    expect(await setMarketingConsent(deps, caller('ann'), { optIn: false, source: 'settings' })).toEqual({ status: 'opted_out' });
    const consent = await consentOf('ann');
    expect(consent).toMatchObject({ status: 'opted_out', source: 'settings' });
    expect(consent?.optedOutAt?.toMillis()).toBe(START.getTime() + DAY);
    expect(consent?.updatedAt.toMillis()).toBe(START.getTime() + DAY);
  });

  it('stores nothing for someone who never opted in and opts out', async () => {
    expect(await setMarketingConsent(deps, caller('bob'), { optIn: false, source: 'settings' })).toEqual({ status: 'opted_out' });
    expect(await consentOf('bob')).toBeNull();
  });

  it('needs a verified address to opt in, and valid arguments', async () => {
    const unverified = { ...caller('cy'), emailVerified: false };
    await expectRefusedWithoutChange(db, () => setMarketingConsent(deps, unverified, { optIn: true, source: 'signup' }), 'failed-precondition');
    for (const [data, field] of [
      [{ optIn: 'yes', source: 'signup' }, 'optIn'],
      [{ optIn: true, source: 'unsubscribe_link' }, 'source'],
      [{ optIn: true, source: 'signup', email: 'x@y.z' }, 'email'],
    ] as const) {
      const error = await expectRefusedWithoutChange(db, () => setMarketingConsent(deps, caller('cy'), data), 'invalid-argument');
      expect(error.details).toEqual({ field });
    }
  });
});

describe('one-click unsubscribe', () => {
  beforeEach(async () => {
    await setMarketingConsent(deps, caller('ann'), { optIn: true, source: 'signup' });
    await setMarketingConsent(deps, caller('bob'), { optIn: true, source: 'settings' });
  });

  it('the e-mail headers carry a signed link and the RFC 8058 one-click marker', () => {
    const headers = unsubscribeHeaders(endpoint, SIGNING_KEY, 'ann', time.clock());
    expect(headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    const token = new URL(linkFrom(headers)).searchParams.get('token') ?? '';
    expect(verifyUnsubscribeToken(SIGNING_KEY, token, time.clock())).toEqual({ valid: true, uid: 'ann' });
  });

  it('a POST opts out at once without sign-in; repeating it changes nothing', async () => {
    const link = linkFrom(unsubscribeHeaders(endpoint, SIGNING_KEY, 'ann', time.clock()));
    time.advance(DAY);
    expect(await oneClick(link)).toEqual({ status: 200, text: 'You are unsubscribed from LeadPulse marketing e-mail.' });
    const consent = await consentOf('ann');
    expect(consent).toMatchObject({ status: 'opted_out', source: 'unsubscribe_link' });
    expect(consent?.optedOutAt?.toMillis()).toBe(START.getTime() + DAY);

    const after = digest(await dumpProject(db));
    time.advance(DAY);
    expect((await oneClick(link)).status).toBe(200);
    expect((await oneClick(link, 'multipart')).status).toBe(200);
    expect(digest(await dumpProject(db))).toBe(after);
    expect((await consentOf('bob'))?.status).toBe('opted_in');
  });

  it('accepts multipart/form-data, as RFC 8058 recommends', async () => {
    const link = linkFrom(unsubscribeHeaders(endpoint, SIGNING_KEY, 'bob', time.clock()));
    expect((await oneClick(link, 'multipart')).status).toBe(200);
    expect((await consentOf('bob'))?.status).toBe('opted_out');
  });

  it('a GET (a link scanner, or a person clicking) only shows the confirmation form', async () => {
    const link = linkFrom(unsubscribeHeaders(endpoint, SIGNING_KEY, 'ann', time.clock()));
    const response = await fetch(link);
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain('<form method="post">');
    expect(page).toContain('name="List-Unsubscribe" value="One-Click"');
    expect((await consentOf('ann'))?.status).toBe('opted_in');
  });

  it('forged, tampered, damaged and expired links, and POSTs without the marker, change nothing', async () => {
    const before = digest(await dumpProject(db));
    const genuine = new URL(linkFrom(unsubscribeHeaders(endpoint, SIGNING_KEY, 'ann', time.clock())));
    const token = genuine.searchParams.get('token') ?? '';
    const [version, payload, signature] = token.split('.');
    const bobPayload = Buffer.from(JSON.stringify({ uid: 'bob', exp: Math.floor(time.clock().getTime() / 1000) + 3600 })).toString('base64url');
    const withToken = (value: string) => {
      const url = new URL(genuine);
      url.searchParams.set('token', value);
      return url.toString();
    };
    const attempts: Array<[string, string, number]> = [
      ['signed with another key', withToken(signUnsubscribeToken('another-key-0123456789abcdef0123456789', 'ann', new Date(START.getTime() + DAY))), 403],
      ['payload swapped for another user', withToken(`${version}.${bobPayload}.${signature}`), 403],
      ['signature altered', withToken(`${version}.${payload}.${signature.slice(0, -2)}AA`), 403],
      ['signature missing', withToken(`${version}.${payload}`), 400],
      ['no token', endpoint, 400],
      ['another version', withToken(`v2.${payload}.${signature}`), 400],
    ];
    for (const [what, url, status] of attempts) {
      expect((await oneClick(url)).status, what).toBe(status);
    }
    const noMarker = await fetch(genuine, { method: 'POST', body: new URLSearchParams({ confirm: 'yes' }) });
    expect(noMarker.status).toBe(400);
    expect((await fetch(genuine, { method: 'DELETE' })).status).toBe(405);

    time.advance(UNSUBSCRIBE_LINK_TTL_DAYS * DAY);
    const expired = await oneClick(genuine.toString());
    expect(expired.status).toBe(410);
    expect(expired.text).toMatch(/expired/);
    expect(digest(await dumpProject(db))).toBe(before);
  });

  it('a link for someone without a consent record stores nothing', async () => {
    const link = linkFrom(unsubscribeHeaders(endpoint, SIGNING_KEY, 'nobody', time.clock()));
    expect((await oneClick(link)).status).toBe(200);
    expect(await consentOf('nobody')).toBeNull();
  });

  it('refuses to sign with a short key', () => {
    expect(() => signUnsubscribeToken('short', 'ann', START)).toThrow(/at least 32 bytes/);
  });
});
