/**
 * "States that take access away at once" (access-matrix.md): the server changes a member document or the
 * organization's access state, and the very next request of the same client, with the same ID token, is
 * judged by the new state. The state is written through the server's own code path
 * (functions/src/orgs/access-state.ts), which copies it onto every member document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDoc, doc, setLogLevel, type Firestore as ClientFirestore } from 'firebase/firestore';
import type { RulesTestEnvironment } from '@firebase/rules-unit-testing';
import { ORGANIZATION_VERSION, paths, type AccessState } from '@leadpulse/model';
import { deriveAccessState, prepareAccessUpdate } from '../../functions/src/orgs/access-state';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { outcome, rulesTestEnvironment } from '../support/rules';
import { principals } from './contract';
import { laneSeed, orgIds, writeSeed } from './fixtures';
import { NOW, runOnClient, type AccessRequest } from './requests';

const projectId = uniqueProjectId('access-states');
const admin = adminFirestore(projectId);
const orgId = orgIds.A;
let env: RulesTestEnvironment;
let member: ClientFirestore;
let owner: ClientFirestore;

const readContact: AccessRequest = { kind: 'get', path: paths.contact(orgId, 'c1') };
const writeContact = (notes: string): AccessRequest => ({ kind: 'update', path: paths.contact(orgId, 'c1'), data: { notes, updatedAt: NOW } });
const renameOrg = (name: string): AccessRequest => ({ kind: 'update', path: paths.org(orgId), data: { name } });

const allowed = async (db: ClientFirestore, request: AccessRequest) => (await outcome(() => runOnClient(db, request))).allowed;

/** What the server does when billing lapses, is restored, or deletion is requested: one transaction. */
async function setOrgState(orgStatus: 'active' | 'deleting', subscription: 'active' | 'unpaid'): Promise<AccessState> {
  const now = new Date();
  const access = deriveAccessState({
    orgStatus,
    subscriptionStatus: subscription,
    lapsedSince: subscription === 'unpaid' ? new Date(now.getTime() - 30 * 86_400_000) : null,
    now,
  });
  await admin.db.runTransaction(async (tx) => {
    const write = await prepareAccessUpdate(admin.db, tx, orgId);
    tx.update(admin.db.doc(paths.org(orgId)), { status: orgStatus });
    write(access, { schemaVersion: ORGANIZATION_VERSION });
  });
  return access;
}

beforeAll(async () => {
  setLogLevel('silent');
  await writeSeed(admin.db, laneSeed('active', principals, false));
  env = await rulesTestEnvironment(projectId);
  member = env.authenticatedContext('u-member-a').firestore() as unknown as ClientFirestore;
  owner = env.authenticatedContext('u-owner-a').firestore() as unknown as ClientFirestore;
});

afterAll(async () => {
  await env?.cleanup();
  await admin.close();
});

describe('access changes take effect on the next request', () => {
  it('billing lapsed past grace: members keep reading, every write is denied; restoring billing gives writes back', async () => {
    expect(await allowed(member, writeContact('before lapse'))).toBe(true);

    expect(await setOrgState('active', 'unpaid')).toBe('read_only');
    expect(await allowed(member, readContact)).toBe(true);
    expect(await allowed(member, writeContact('during lapse'))).toBe(false);
    expect(await allowed(owner, renameOrg('Lapsed Inc'))).toBe(false);
    expect((await admin.db.doc(paths.contact(orgId, 'c1')).get()).get('notes')).toBe('before lapse');

    expect(await setOrgState('active', 'active')).toBe('full');
    expect(await allowed(member, writeContact('after restore'))).toBe(true);
    expect(await allowed(owner, renameOrg('Restored Inc'))).toBe(true);
  });

  it('deletion requested: every read and write of the organization is denied; the member still sees their own membership saying so', async () => {
    expect(await allowed(member, readContact)).toBe(true);

    expect(await setOrgState('deleting', 'active')).toBe('none');
    expect(await allowed(member, readContact)).toBe(false);
    expect(await allowed(owner, { kind: 'get', path: paths.org(orgId) })).toBe(false);
    expect(await allowed(owner, { kind: 'list', collectionPath: paths.members(orgId) })).toBe(false);
    expect(await allowed(member, writeContact('while deleting'))).toBe(false);
    const own = await getDoc(doc(member, paths.member(orgId, 'u-member-a')));
    expect(own.get('access')).toBe('none');

    await setOrgState('active', 'active');
  });

  it('removal: the removed member is denied on their next request, without a token refresh', async () => {
    const removed = env.authenticatedContext('u-viewer-a').firestore() as unknown as ClientFirestore;
    expect(await allowed(removed, readContact)).toBe(true);

    await admin.db.doc(paths.member(orgId, 'u-viewer-a')).delete();
    expect(await allowed(removed, readContact)).toBe(false);
    expect(await allowed(removed, { kind: 'group', collectionId: 'members', where: { field: 'uid', value: 'u-viewer-a' } })).toBe(true);
  });

  it('a role change applies at once: a member promoted to admin may delete, demoted back may not', async () => {
    await admin.db.doc(paths.member(orgId, 'u-member-a')).update({ role: 'admin' });
    expect(await allowed(member, { kind: 'delete', path: paths.contact(orgId, 'c-delete') })).toBe(true);
    await admin.db.doc(paths.member(orgId, 'u-member-a')).update({ role: 'member' });
    expect(await allowed(member, { kind: 'delete', path: paths.message(orgId, 'm-delete') })).toBe(false);
  });
});
