/**
 * The wiring in functions/src/index.ts: each callable through the real onCall wrapper (`run`), showing that it
 * requires sign-in, parses arguments into invalid-argument naming the field, and reaches its handler.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Firestore } from 'firebase-admin/firestore';
import type { CallableRequest } from 'firebase-functions/v2/https';
import { HttpsError } from 'firebase-functions/v2/https';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { readMember, readMembers, readOrg, uniqueUid } from './support';

const projectId = uniqueProjectId('orgs-callables');
let functions: typeof import('../../functions/src/index');
let db: Firestore;
let close: () => Promise<void>;

beforeAll(async () => {
  // What the Functions runtime provides: the project, and the params' values (the CLI fills in defaults).
  process.env.GCLOUD_PROJECT = projectId;
  process.env.MAX_ORGS_PER_OWNER = '5';
  process.env.INVITE_TTL_DAYS = '7';
  process.env.MAX_PENDING_INVITES = '100';
  functions = await import('../../functions/src/index');
  ({ db, close } = adminFirestore(projectId));
});
afterAll(() => close());

interface User {
  uid: string;
  email: string;
}
function newUser(label: string): User {
  const uid = uniqueUid(label);
  return { uid, email: `${uid}@example.com` };
}

function request(user: User | null, data: unknown): CallableRequest {
  return {
    data,
    auth: user ? { uid: user.uid, token: { uid: user.uid, email: user.email, email_verified: true } as never, rawToken: 'test' } : undefined,
    rawRequest: {} as never,
    acceptsStreaming: false,
  };
}

const callableNames = [
  'createOrganization',
  'inviteMember',
  'acceptInvitation',
  'revokeInvitation',
  'changeRole',
  'removeMember',
  'leaveOrganization',
  'transferOwnership',
] as const;

async function rejection(promise: unknown): Promise<HttpsError> {
  const error = await (promise as Promise<unknown>).then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(HttpsError);
  return error as HttpsError;
}

describe('membership callables through onCall', () => {
  it.each(callableNames)('%s requires sign-in', async (name) => {
    expect((await rejection(functions[name].run(request(null, {})))).code).toBe('unauthenticated');
  });

  it.each(callableNames)('%s rejects arguments that are not an object as invalid-argument', async (name) => {
    const error = await rejection(functions[name].run(request(newUser('someone'), 'not an object')));
    expect([error.code, error.details]).toEqual(['invalid-argument', { field: '(arguments)' }]);
  });

  it('runs the whole lifecycle through the wrappers', async () => {
    const owner = newUser('owner');
    const admin = newUser('admin');
    const member = newUser('member');
    const call = (name: (typeof callableNames)[number], user: User, data: unknown) =>
      functions[name].run(request(user, data)) as Promise<Record<string, string>>;

    const { orgId } = await call('createOrganization', owner, { name: 'Wired Inc.' });
    expect((await readOrg(db, orgId)).ownerUid).toBe(owner.uid);

    for (const [user, role] of [
      [admin, 'admin'],
      [member, 'member'],
    ] as const) {
      const link = await call('inviteMember', owner, { orgId, email: user.email, role });
      expect(link.expiresAt).toBe(new Date(Date.parse(link.expiresAt)).toISOString());
      await call('acceptInvitation', user, { orgId, inviteId: link.inviteId, token: link.token });
    }
    const pending = await call('inviteMember', admin, { orgId, email: 'pending@example.com', role: 'viewer' });
    expect(await call('revokeInvitation', admin, { orgId, inviteId: pending.inviteId })).toEqual({ inviteId: pending.inviteId });

    expect(await call('changeRole', owner, { orgId, uid: member.uid, role: 'viewer' })).toEqual({ uid: member.uid, role: 'viewer' });
    expect((await rejection(call('changeRole', member, { orgId, uid: admin.uid, role: 'viewer' }))).code).toBe('permission-denied');

    expect(await call('transferOwnership', owner, { orgId, newOwnerUid: admin.uid })).toEqual({ orgId, ownerUid: admin.uid });
    expect((await rejection(call('leaveOrganization', admin, { orgId }))).code).toBe('failed-precondition');
    await call('removeMember', admin, { orgId, uid: member.uid });
    await call('leaveOrganization', owner, { orgId });

    expect(await readMember(db, orgId, member.uid)).toBeUndefined();
    expect((await readMembers(db, orgId)).map((m) => [m.uid, m.role])).toEqual([[admin.uid, 'owner']]);
  });

  it('fails loudly when a param is misconfigured', async () => {
    process.env.MAX_ORGS_PER_OWNER = '0';
    try {
      const error = await rejection(functions.createOrganization.run(request(newUser('owner'), { name: 'Acme' })));
      expect([error.code, error.message]).toEqual(['internal', 'MAX_ORGS_PER_OWNER must be a positive integer, got 0']);
    } finally {
      process.env.MAX_ORGS_PER_OWNER = '5';
    }
  });
});
