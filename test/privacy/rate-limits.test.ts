/**
 * Rate limits (Firestore-backed fixed windows, driven by a hand-moved clock): exports per person and per
 * organization, usage events per person. A refused call counts nothing and stores nothing; the next window allows
 * again; counters name no one (hashed ids).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FieldValue, type Firestore } from 'firebase-admin/firestore';
import { paths, RATE_LIMIT_COUNTER_VERSION, serverCollections } from '@leadpulse/model';
import { exportLimits, usageEventLimits } from '../../functions/src/common/rate-limit';
import { handleExportRequest, type ExportDeps } from '../../functions/src/privacy/export';
import { recordUsageEvent } from '../../functions/src/privacy/usage-events';
import { START, caller, freshProject, manualClock, seedOrg, uid } from './support';

let db: Firestore;
let close: () => Promise<void>;
let time: ReturnType<typeof manualClock>;

beforeEach(() => {
  ({ db, close } = freshProject('privacy-rate-limits'));
  time = manualClock();
});
afterEach(async () => close());

const count = async (collection: string) => (await db.collection(collection).count().get()).data().count;

describe('usage events', () => {
  const event = { event: 'page_viewed', page: 'contacts' };

  it(`allows ${usageEventLimits.perUser.limit} per person per window, refuses the next without storing it, and allows again in the next window`, async () => {
    const deps = { db, clock: time.clock };
    const busy = caller(uid('busy'));
    for (let i = 0; i < usageEventLimits.perUser.limit; i++) await recordUsageEvent(deps, busy, event);
    time.advance(usageEventLimits.perUser.windowMs - 1);

    await expect(recordUsageEvent(deps, busy, event)).rejects.toMatchObject({
      code: 'resource-exhausted',
      details: { retryAfterSeconds: 1 },
    });
    expect(await count(serverCollections.usageEvents)).toBe(usageEventLimits.perUser.limit);
    // Someone else is not held back by it.
    await expect(recordUsageEvent(deps, caller(uid('other')), event)).resolves.toEqual({ recorded: true });

    time.advance(1);
    await expect(recordUsageEvent(deps, busy, event)).resolves.toEqual({ recorded: true });
    expect(await count(serverCollections.usageEvents)).toBe(usageEventLimits.perUser.limit + 2);

    // The counters name no one: neither their ids nor their fields hold a uid.
    const counters = await db.collection(serverCollections.rateLimits).get();
    expect(counters.size).toBe(2);
    for (const counter of counters.docs) {
      expect(counter.id).toMatch(/^usage-user-[0-9a-f]{32}$/);
      expect(Object.keys(counter.data()).sort()).toEqual(['count', 'expiresAt', 'schemaVersion', 'windowStart']);
      expect(counter.get('schemaVersion')).toBe(RATE_LIMIT_COUNTER_VERSION);
    }
  });

  it('counts a counter written before versions existed (version 1) and stamps it; keeps a newer version', async () => {
    const deps = { db, clock: time.clock };
    const old = caller(uid('old'));
    await recordUsageEvent(deps, old, event);
    const [counter] = (await db.collection(serverCollections.rateLimits).get()).docs;
    await counter.ref.update({ schemaVersion: FieldValue.delete() });
    await recordUsageEvent(deps, old, event);
    expect((await counter.ref.get()).data()).toMatchObject({ count: 2, schemaVersion: RATE_LIMIT_COUNTER_VERSION });

    await counter.ref.update({ schemaVersion: RATE_LIMIT_COUNTER_VERSION + 1 });
    await recordUsageEvent(deps, old, event);
    expect((await counter.ref.get()).data()).toMatchObject({ count: 3, schemaVersion: RATE_LIMIT_COUNTER_VERSION + 1 });
  });
});

describe('exports', () => {
  let server: Server;
  let baseUrl: string;
  let deps: ExportDeps;

  beforeEach(async () => {
    deps = { db, clock: time.clock, verifyIdToken: async (token) => ({ uid: token }), verifyAppCheck: null };
    server = createServer((req, res) => void handleExportRequest(deps, req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function exportAs(who: string, query: string) {
    const response = await fetch(`${baseUrl}/?${query}`, { headers: { authorization: `Bearer ${who}` } });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), text: await response.text() };
  }

  it('limits each person and each organization per window; a refused export is neither counted nor audited', async () => {
    const [owner, adminOne, adminTwo] = [uid('owner'), uid('admin1'), uid('admin2')];
    await seedOrg(db, {
      orgId: 'orgR',
      now: START,
      members: [
        { uid: owner, role: 'owner' },
        { uid: adminOne, role: 'admin' },
        { uid: adminTwo, role: 'admin' },
      ],
    });
    const org = 'scope=organization&orgId=orgR';
    const perUser = exportLimits.perUser.limit;
    expect(exportLimits.perOrg.limit).toBe(2 * perUser);

    for (let i = 0; i < perUser; i++) expect((await exportAs(owner, org)).status).toBe(200);
    // The owner's own limit, whichever scope.
    expect(await exportAs(owner, 'scope=self')).toMatchObject({ status: 429, retryAfter: String(exportLimits.perUser.windowMs / 1000) });
    for (let i = 0; i < perUser; i++) expect((await exportAs(adminOne, org)).status).toBe(200);
    // The organization's limit: a third person is refused too, though they exported nothing yet.
    const refused = await exportAs(adminTwo, org);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.text)).toEqual({ error: expect.stringMatching(/^too many requests \(export-org/) });
    expect(await exportAs(adminTwo, 'scope=self')).toMatchObject({ status: 200 });
    const audited = (await db.collection(paths.auditLog('orgR')).where('action', '==', 'privacy.org_exported').get()).size;
    expect(audited).toBe(2 * perUser);

    time.advance(exportLimits.perOrg.windowMs);
    expect((await exportAs(adminTwo, org)).status).toBe(200);
    expect((await exportAs(owner, org)).status).toBe(200);
  });
});
