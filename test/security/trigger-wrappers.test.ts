/**
 * The wiring in functions/src/index.ts of the exports that are neither callables (test/security/app-check.test.ts,
 * test/orgs/callables.test.ts) nor Firestore triggers (test/security/client-audit.test.ts): each invoked through
 * its deployed wrapper as the platform would (scheduled functions and the v1 Auth trigger through `run`, HTTP
 * functions as request handlers), with the params and secrets in process.env, against the offline Firestore
 * emulator and firebase-tools' Auth emulator. Each shows an effect of its handler, or a refusal only it makes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getAuth } from 'firebase-admin/auth';
import type { Firestore } from 'firebase-admin/firestore';
import { paths, serverCollections } from '@leadpulse/model';
import { adminAccountAuth } from '../../functions/src/accounts/account-auth';
import { deleteAccount } from '../../functions/src/accounts/account-deletion';
import { signUnsubscribeToken } from '../../functions/src/privacy/marketing';
import { AUTH_EMULATOR_START_TIMEOUT_MS, startAuthEmulator, type RunningAuthEmulator } from '../support/auth-emulator';
import { freshProject, seedOrg, seedUser, subscriptionMirror, usageEventRecord } from '../privacy/support';
import { provideFunctionParams } from '../support/function-params';

const DAY = 24 * 60 * 60 * 1000;
const WEBHOOK_SECRET = 'whsec_trigger_wrappers';
const SIGNING_KEY = 'unsubscribe-signing-key-of-the-trigger-wrapper-test';

let functions: Record<string, unknown>;
let db: Firestore;
let closeDb: () => Promise<void>;
let authEmulator: RunningAuthEmulator;

beforeAll(async () => {
  let projectId: string;
  ({ db, projectId, close: closeDb } = freshProject('trigger-wrappers'));
  // Account deletion ends with Auth: firebase-tools' own Auth emulator (offline).
  authEmulator = await startAuthEmulator(projectId);
  // What the Functions runtime provides: the project, the params' values and the secrets.
  provideFunctionParams({
    GCLOUD_PROJECT: projectId,
    FIREBASE_AUTH_EMULATOR_HOST: authEmulator.host,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    // Nothing here may reach Stripe: a call would fail against this closed port.
    STRIPE_API_URL: 'http://127.0.0.1:9',
    UNSUBSCRIBE_SIGNING_KEY: SIGNING_KEY,
  });
  // The logs (reports, heartbeats, warnings) are not printed; firebase-functions' logger keeps the console it finds.
  for (const method of ['log', 'debug', 'info', 'warn', 'error'] as const) vi.spyOn(console, method).mockImplementation(() => undefined);
  functions = await import('../../functions/src/index');
}, AUTH_EMULATOR_START_TIMEOUT_MS);
afterAll(async () => {
  vi.restoreAllMocks();
  await closeDb();
  await authEmulator.stop();
  delete process.env.FIREBASE_AUTH_EMULATOR_HOST;
});

const wrapper = <T>(name: string) => functions[name] as T;
type Scheduled = { run: (event: { scheduleTime: string; jobName?: string }) => Promise<void> };
const scheduleEvent = () => ({ scheduleTime: new Date().toISOString(), jobName: 'test' });

describe('scheduled functions (run)', () => {
  it('retention deletes what has expired and finishes a stopped account deletion', async () => {
    const now = Date.now();
    const usage = (id: string, daysAgo: number) => db.doc(paths.usageEvent(id)).set(usageEventRecord(new Date(now - daysAgo * DAY), 0));
    await usage('old', 181);
    await usage('recent', 10);
    // An account deletion that stopped after recording its request, 20 minutes ago.
    await seedUser(db, 'quitter', new Date(now), { consent: true });
    const stopped = {
      db,
      clock: () => new Date(now - 20 * 60 * 1000),
      auth: adminAccountAuth(getAuth()),
      orgDeletion: { graceDays: 7, cancelSubscription: () => Promise.resolve() },
      onStep: (step: string) => (step === 'recorded' ? Promise.reject(new Error('instance died')) : undefined),
    };
    await expect(deleteAccount(stopped, 'quitter', 'self')).rejects.toThrow('instance died');
    expect((await db.doc(paths.user('quitter')).get()).exists).toBe(true);

    await wrapper<Scheduled>('retention').run(scheduleEvent());

    const left = (await db.collection(serverCollections.usageEvents).get()).docs.map((doc) => doc.id);
    expect(left).toEqual(['recent']);
    expect((await db.doc(paths.user('quitter')).get()).exists).toBe(false);
    expect((await db.doc(paths.marketingConsent('quitter')).get()).exists).toBe(false);
    expect((await db.collection(serverCollections.deletionRequests).get()).docs.map((doc) => doc.id)).toEqual([]);
  });

  it('billingGraceSweep turns an organization read-only once its billing grace has ended', async () => {
    const now = new Date();
    await seedOrg(db, { orgId: 'org-lapsed', now, members: [{ uid: 'owner-lapsed', role: 'owner' }] });
    await db.doc(paths.subscription('org-lapsed')).set(subscriptionMirror(now, 'canceled', new Date(now.getTime() - 20 * DAY)));
    await seedOrg(db, { orgId: 'org-in-grace', now, members: [{ uid: 'owner-in-grace', role: 'owner' }] });
    await db.doc(paths.subscription('org-in-grace')).set(subscriptionMirror(now, 'canceled', new Date(now.getTime() - 2 * DAY)));

    await wrapper<Scheduled>('billingGraceSweep').run(scheduleEvent());

    expect((await db.doc(paths.org('org-lapsed')).get()).get('access')).toBe('read_only');
    expect((await db.doc(paths.org('org-in-grace')).get()).get('access')).toBe('full');
  });
});

describe('the v1 Auth trigger (run)', () => {
  it('onAuthUserDeleted deletes the account’s data', async () => {
    const now = new Date();
    await seedUser(db, 'gone-user', now, { consent: true });
    await seedOrg(db, {
      orgId: 'org-of-gone',
      now,
      members: [
        { uid: 'owner-of-gone', role: 'owner' },
        { uid: 'gone-user', role: 'member' },
      ],
    });

    const trigger = wrapper<{ run: (user: { uid: string }, context: unknown) => Promise<unknown> }>('onAuthUserDeleted');
    await trigger.run({ uid: 'gone-user' }, { eventId: 'auth-event-1', timestamp: now.toISOString(), params: {} });

    expect((await db.doc(paths.user('gone-user')).get()).exists).toBe(false);
    expect((await db.doc(paths.marketingConsent('gone-user')).get()).exists).toBe(false);
    expect((await db.doc(paths.member('org-of-gone', 'gone-user')).get()).exists).toBe(false);
    expect((await db.doc(paths.member('org-of-gone', 'owner-of-gone')).get()).exists).toBe(true);
  });
});

describe('HTTP functions (request handlers)', () => {
  /** Calls `stripeWebhook` with an Express-like request, as the Functions runtime does (it has read the body). */
  function deliver(body: string, signature: string | null): Promise<{ status: number; body: Record<string, unknown> }> {
    const handler = wrapper<(req: unknown, res: unknown) => unknown>('stripeWebhook');
    return new Promise((resolve) => {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(signature ? { 'stripe-signature': signature } : {}) };
      const header = (key: string) => headers[key.toLowerCase()];
      const req = Object.assign(new EventEmitter(), {
        method: 'POST',
        url: '/',
        headers,
        header,
        get: header,
        rawBody: Buffer.from(body),
        body: JSON.parse(body) as unknown,
      });
      let status = 200;
      const res = Object.assign(new EventEmitter(), {
        setHeader: () => undefined,
        getHeader: () => undefined,
        status(code: number) {
          status = code;
          return this;
        },
        json(sent: Record<string, unknown>) {
          resolve({ status, body: sent });
        },
        send(sent: Record<string, unknown>) {
          resolve({ status, body: sent });
        },
        end() {
          resolve({ status, body: {} });
        },
      });
      void handler(req, res);
    });
  }

  it('stripeWebhook accepts an event signed with the configured secret and refuses one signed with another', async () => {
    const event = JSON.stringify({
      id: 'evt_wrapper_1',
      object: 'event',
      type: 'charge.succeeded',
      api_version: '2026-10-28.endive',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: { object: { id: 'ch_1', object: 'charge', amount: 1200 } },
    });
    const signed = (secret: string) => Stripe.webhooks.generateTestHeaderString({ payload: event, secret });
    expect(await deliver(event, signed(WEBHOOK_SECRET))).toEqual({ status: 200, body: { received: true, ignored: true } });
    const refused = await deliver(event, signed('whsec_someone_else'));
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/^signature verification failed/);
  });

  it('unsubscribe opts out the person its signed link names', async () => {
    await seedUser(db, 'reader', new Date(), { consent: true });
    const handler = wrapper<(req: unknown, res: unknown) => Promise<void>>('unsubscribe');
    const server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const post = async (token: string) => {
        const response = await fetch(`${base}/?token=${encodeURIComponent(token)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'List-Unsubscribe=One-Click',
        });
        return { status: response.status, text: await response.text() };
      };
      const forged = await post(signUnsubscribeToken('another-key-of-at-least-32-bytes-long', 'reader', new Date(Date.now() + DAY)));
      expect(forged.status).toBe(403);
      expect((await db.doc(paths.marketingConsent('reader')).get()).get('status')).toBe('opted_in');
      const done = await post(signUnsubscribeToken(SIGNING_KEY, 'reader', new Date(Date.now() + DAY)));
      expect(done).toEqual({ status: 200, text: 'You are unsubscribed from LeadPulse marketing e-mail.' });
      expect((await db.doc(paths.marketingConsent('reader')).get()).get('status')).toBe('opted_out');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
