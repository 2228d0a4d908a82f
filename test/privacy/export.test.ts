/**
 * P10 (and P14): exports over the authenticated HTTPS function, through real HTTP. Owners and admins get the whole
 * organization as NDJSON, members their own personal data; every export is audited; refusals change nothing.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Firestore } from 'firebase-admin/firestore';
import { paths } from '@leadpulse/model';
import { handleExportRequest, type ExportDeps, type IdTokenVerifier } from '../../functions/src/privacy/export';
import { canonical, digest, dumpProject, under } from '../support/snapshot';
import { START, freshProject, manualClock, onePersonPerRole, seedOrg, seedUser, uid } from './support';

let db: Firestore;
let close: () => Promise<void>;
let server: Server;
let baseUrl: string;
let deps: ExportDeps;
let handlerRuns: Array<Promise<void>>;
const tokens = new Map<string, string>();
let owner: string;
let admin: string;
let member: string;
let viewer: string;
let ownerB: string;

/** Stands in for firebase-admin's verifyIdToken (auth-emulator.test.ts runs the real one): known tokens only. */
const verifyIdToken: IdTokenVerifier = async (token) => {
  const who = tokens.get(token);
  if (!who) throw new Error('auth/argument-error');
  return { uid: who, email: `${who}@example.com`, email_verified: true };
};

/** Stands in for firebase-admin's App Check verifyToken: the one token the LeadPulse app would hold. */
const APP_CHECK_TOKEN = 'app-check-from-leadpulse';
const verifyAppCheck = async (token: string) => {
  if (token !== APP_CHECK_TOKEN) throw new Error('app-check/invalid-argument');
};

function tokenFor(who: string): string {
  const token = `token-${who}`;
  tokens.set(token, who);
  return token;
}

beforeEach(async () => {
  ({ db, close } = freshProject('privacy-export'));
  deps = { db, clock: manualClock().clock, verifyIdToken, verifyAppCheck, pageSize: 4 };
  const people = onePersonPerRole('owner', 'admin', 'member', 'viewer');
  ({ owner, admin, member, viewer } = people.uids);
  ownerB = uid('ownerB');
  await seedOrg(db, {
    orgId: 'orgA',
    now: START,
    members: people.members,
    contacts: 5,
    messagesPerContact: 2,
    invites: 1,
    auditEntries: 2,
    config: true,
  });
  await seedOrg(db, {
    orgId: 'orgB',
    now: START,
    members: [
      { uid: ownerB, role: 'owner' },
      { uid: member, role: 'viewer' },
    ],
    contacts: 2,
  });
  await seedUser(db, member, START, { consent: true });
  await seedUser(db, owner, START);
  handlerRuns = [];
  server = createServer((req, res) => {
    handlerRuns.push(handleExportRequest(deps, req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await close();
});

async function exportAs(token: string | null, query: string, method = 'GET', appCheck: string | null = APP_CHECK_TOKEN) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (appCheck) headers['x-firebase-appcheck'] = appCheck;
  const response = await fetch(`${baseUrl}/?${query}`, { method, headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function parseNdjson(text: string): Array<Record<string, unknown>> {
  expect(text.endsWith('\n')).toBe(true);
  return text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('organization export', () => {
  for (const role of ['owner', 'admin'] as const) {
    it(`an ${role} gets every document of the organization, one line each, and an audit entry`, async () => {
      const who = role === 'owner' ? owner : admin;
      const response = await exportAs(tokenFor(who), 'scope=organization&orgId=orgA');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="leadpulse-organization-orgA-2030-03-01\.ndjson"$/);

      const lines = parseNdjson(response.text);
      const trailer = lines.pop();
      const exported = new Map(lines.map((line) => [line.path as string, line.data]));
      const stored = [...(await dumpProject(db)).entries()].filter(([path]) => under(paths.org('orgA'))(path));
      // Exactly the organization's documents (the audit entry of this export included), nothing of org B.
      expect([...exported.keys()].sort()).toEqual(stored.map(([path]) => path).sort());
      expect(trailer).toEqual({ complete: true, documents: stored.length });
      for (const [path, doc] of stored) expect(canonical(exported.get(path)), path).toBe(canonical(doc.data));
      expect(exported.get(paths.contact('orgA', 'contact000000'))).toMatchObject({
        name: 'Customer 0',
        createdAt: { $timestamp: '2030-03-01T10:00:00.000000000Z' },
      });

      const audit = (await db.collection(paths.auditLog('orgA')).where('action', '==', 'privacy.org_exported').get()).docs.map((d) => d.data());
      expect(audit).toEqual([expect.objectContaining({ actorUid: who, targetId: 'orgA' })]);
    });
  }

  it('refuses members, viewers, other organizations, bad tokens and bad queries, changing nothing', async () => {
    const before = digest(await dumpProject(db));
    const refusals: Array<[string | null, string, number, RegExp, string?]> = [
      [tokenFor(member), 'scope=organization&orgId=orgA', 403, /needs the role owner or admin/],
      [tokenFor(viewer), 'scope=organization&orgId=orgA', 403, /needs the role/],
      [tokenFor(ownerB), 'scope=organization&orgId=orgA', 403, /not a member/],
      [null, 'scope=organization&orgId=orgA', 401, /Authorization: Bearer/],
      ['forged-token', 'scope=organization&orgId=orgA', 401, /invalid, expired or revoked/],
      [tokenFor(owner), 'scope=organization', 400, /orgId/, 'orgId'],
      [tokenFor(owner), 'scope=organization&orgId=a%2Fb', 400, /orgId/, 'orgId'],
      [tokenFor(owner), 'scope=everything', 400, /scope/, 'scope'],
      [tokenFor(owner), 'scope=self&orgId=orgA', 400, /Unrecognized key/, '(query)'],
    ];
    for (const [token, query, status, message, field] of refusals) {
      const response = await exportAs(token, query);
      expect(response.status, `${query} as ${token}`).toBe(status);
      const body = JSON.parse(response.text) as { error: string; field?: string };
      expect(body.error).toMatch(message);
      if (field) expect(body.field).toBe(field);
    }
    // A valid ID token from outside the LeadPulse app (a script): no App Check token, or a forged one.
    for (const [appCheck, message] of [
      [null, /X-Firebase-AppCheck/],
      ['forged', /App Check token is invalid/],
    ] as const) {
      const response = await exportAs(tokenFor(owner), 'scope=organization&orgId=orgA', 'GET', appCheck);
      expect(response.status).toBe(401);
      expect((JSON.parse(response.text) as { error: string }).error).toMatch(message);
    }
    expect((await exportAs(tokenFor(owner), 'scope=organization&orgId=orgA', 'POST')).status).toBe(405);
    expect(digest(await dumpProject(db))).toBe(before);
  });

  it('refuses an organization being deleted', async () => {
    await db.doc(paths.org('orgA')).update({ status: 'deleting', access: 'none' });
    const response = await exportAs(tokenFor(owner), 'scope=organization&orgId=orgA');
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text).error).toMatch(/being deleted/);
  });

  it('stops reading when the client goes away', async () => {
    // Enough documents that the response cannot fit in the socket buffers at once.
    await seedOrg(db, { orgId: 'orgBig', now: START, members: [{ uid: owner, role: 'owner' }], contacts: 1500, messagesPerContact: 1 });
    deps.pageSize = 100;
    const url = new URL(`${baseUrl}/?scope=organization&orgId=orgBig`);
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(url, { headers: { authorization: `Bearer ${tokenFor(owner)}` } }, (res) => {
        res.once('data', () => {
          res.destroy();
          resolve();
        });
      });
      req.on('error', reject);
      req.end();
    });
    // The handler ends (it does not hang, nor crash the process) although the export was cut short.
    await Promise.all(handlerRuns);
  });
});

describe('personal export', () => {
  it("a member gets their profile, memberships and consent, nobody else's, and each organization audits it", async () => {
    const response = await exportAs(tokenFor(member), 'scope=self');
    expect(response.status).toBe(200);
    const lines = parseNdjson(response.text);
    expect(lines.pop()).toEqual({ complete: true, documents: 4 });
    expect(lines.map((line) => line.path).sort()).toEqual(
      [paths.user(member), paths.member('orgA', member), paths.member('orgB', member), paths.marketingConsent(member)].sort(),
    );
    expect(lines.find((line) => line.path === paths.user(member))?.data).toMatchObject({ email: `${member}@example.com` });
    for (const orgId of ['orgA', 'orgB']) {
      const audit = (await db.collection(paths.auditLog(orgId)).where('action', '==', 'privacy.member_exported').get()).docs.map((d) => d.data());
      expect(audit).toEqual([expect.objectContaining({ actorUid: member, targetUid: member })]);
    }
  });

  it('a person with no data gets an empty, complete export', async () => {
    const response = await exportAs(tokenFor(uid('nobody')), 'scope=self');
    expect(parseNdjson(response.text)).toEqual([{ complete: true, documents: 0 }]);
  });
});
