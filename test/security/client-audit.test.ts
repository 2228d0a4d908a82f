/**
 * P14 (issue 13, finding 9): privileged changes a client makes directly in Firestore — renaming the organization
 * or changing its branding, configuration, contact deletions — are audited from Firestore triggers with the
 * acting user from the event's auth context; the server's own writes (Admin SDK) are not audited twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timestamp, type DocumentSnapshot, type Firestore } from 'firebase-admin/firestore';
import { AUDIT_ENTRY_VERSION, auditEntrySchema, paths } from '@leadpulse/model';
import { auditConfigWrite, auditContactDeletion, auditOrganizationUpdate } from '../../functions/src/orgs/client-audit';
import { adminFirestore, uniqueProjectId, uniqueUid } from '../support/firestore';
import { withoutTtlAndVersion } from '../orgs/support';

const projectId = uniqueProjectId('client-audit');
let db: Firestore;
let close: () => Promise<void>;
let functions: Record<string, unknown>;
beforeAll(async () => {
  ({ db, close } = adminFirestore(projectId));
  process.env.GCLOUD_PROJECT = projectId;
  functions = await import('../../functions/src/index');
});
afterAll(() => close());

const TIME = '2031-05-04T10:00:00.000Z';
let eventCount = 0;
function context(authType: string, authId?: string) {
  eventCount += 1;
  return { id: `event${eventCount}x${uniqueUid('e').replace(/-/g, '')}`, time: TIME, authType, ...(authId ? { authId } : {}) };
}

/** The document as it is now, then after `write`: the change a trigger receives. */
async function change(path: string, write: () => Promise<unknown>): Promise<{ before: DocumentSnapshot; after: DocumentSnapshot }> {
  const before = await db.doc(path).get();
  await write();
  return { before, after: await db.doc(path).get() };
}

async function auditOf(orgId: string) {
  return (await db.collection(paths.auditLog(orgId)).get()).docs.map((doc) => withoutTtlAndVersion(auditEntrySchema.parse(doc.data())));
}

async function seedOrg(): Promise<string> {
  const orgId = uniqueUid('org');
  await db
    .doc(paths.org(orgId))
    .set({ name: 'Before', ownerUid: 'someone', plan: 'free', status: 'active', access: 'full', createdAt: Timestamp.fromDate(new Date(TIME)) });
  return orgId;
}

describe('organization updates', () => {
  it('audits a rename and a branding change by a user once, naming the fields and the user', async () => {
    const orgId = await seedOrg();
    const admin = uniqueUid('admin');
    const data = await change(paths.org(orgId), () => db.doc(paths.org(orgId)).update({ name: 'After', branding: { primaryColor: '#112233' } }));
    const event = { ...context('app_user', admin), params: { orgId }, data };
    expect(await auditOrganizationUpdate({ db }, event)).toBe(true);
    // A redelivered event writes the same entry.
    expect(await auditOrganizationUpdate({ db }, event)).toBe(true);
    expect(await auditOf(orgId)).toEqual([
      { action: 'org.updated', actorUid: admin, targetId: orgId, details: { fields: 'name,branding' }, at: Timestamp.fromDate(new Date(TIME)) },
    ]);
  });

  it('leaves an entry a newer release wrote for the same event as it is when the event is redelivered', async () => {
    const orgId = await seedOrg();
    const data = await change(paths.org(orgId), () => db.doc(paths.org(orgId)).update({ name: 'After' }));
    const event = { ...context('app_user', uniqueUid('owner')), params: { orgId }, data };
    expect(await auditOrganizationUpdate({ db }, event)).toBe(true);
    const entryPath = paths.auditEntry(orgId, `client-${event.id}`);
    await db.doc(entryPath).update({ schemaVersion: AUDIT_ENTRY_VERSION + 1, addedByNextRelease: true });
    expect(await auditOrganizationUpdate({ db }, event)).toBe(true);
    expect((await db.doc(entryPath).get()).data()).toMatchObject({ schemaVersion: AUDIT_ENTRY_VERSION + 1, addedByNextRelease: true, action: 'org.updated' });
  });

  it('does not audit the server’s own writes (access, status) nor updates that change no display field', async () => {
    const orgId = await seedOrg();
    const serverWrite = await change(paths.org(orgId), () => db.doc(paths.org(orgId)).update({ access: 'read_only' }));
    expect(await auditOrganizationUpdate({ db }, { ...context('service_account', 'functions@project'), params: { orgId }, data: serverWrite })).toBe(false);
    expect(await auditOrganizationUpdate({ db }, { ...context('app_user', 'someone'), params: { orgId }, data: serverWrite })).toBe(false);
    const renamedByServer = await change(paths.org(orgId), () => db.doc(paths.org(orgId)).update({ name: 'Renamed by a function' }));
    expect(await auditOrganizationUpdate({ db }, { ...context('service_account'), params: { orgId }, data: renamedByServer })).toBe(false);
    expect(await auditOf(orgId)).toEqual([]);
  });
});

describe('configuration and contacts', () => {
  it('audits configuration created, updated and deleted by a user', async () => {
    const orgId = await seedOrg();
    const owner = uniqueUid('owner');
    const path = paths.config(orgId, 'pipeline');
    const at = Timestamp.fromDate(new Date(TIME));
    for (const [kind, write] of [
      ['created', () => db.doc(path).set({ pipelineStages: ['a'], updatedBy: owner, updatedAt: at })],
      ['updated', () => db.doc(path).update({ pipelineStages: ['a', 'b'] })],
      ['deleted', () => db.doc(path).delete()],
    ] as const) {
      const data = await change(path, write);
      expect(await auditConfigWrite({ db }, { ...context('app_user', owner), params: { orgId, configId: 'pipeline' }, data }), kind).toBe(true);
    }
    const entries = await auditOf(orgId);
    expect(entries.map((entry) => entry.details?.change).sort()).toEqual(['created', 'deleted', 'updated']);
    for (const entry of entries) expect(entry).toMatchObject({ action: 'config.changed', actorUid: owner, targetId: 'pipeline' });
  });

  it('audits a contact deleted by a manager with its id only; the server’s erasure is audited by itself', async () => {
    const orgId = await seedOrg();
    const admin = uniqueUid('admin');
    expect(await auditContactDeletion({ db }, { ...context('app_user', admin), params: { orgId, contactId: 'c42' } })).toBe(true);
    expect(await auditContactDeletion({ db }, { ...context('service_account'), params: { orgId, contactId: 'c43' } })).toBe(false);
    expect(await auditOf(orgId)).toEqual([{ action: 'contact.deleted', actorUid: admin, targetId: 'c42', at: Timestamp.fromDate(new Date(TIME)) }]);
  });
});

describe('wiring (functions/src/index.ts)', () => {
  const triggers: Array<[string, string, string]> = [
    ['auditOrganizationUpdate', 'google.cloud.firestore.document.v1.updated.withAuthContext', 'orgs/{orgId}'],
    ['auditConfigWrite', 'google.cloud.firestore.document.v1.written.withAuthContext', 'orgs/{orgId}/config/{configId}'],
    ['auditContactDeletion', 'google.cloud.firestore.document.v1.deleted.withAuthContext', 'orgs/{orgId}/contacts/{contactId}'],
  ];
  it.each(triggers)('%s is deployed on %s for %s', (name, eventType, document) => {
    const endpoint = (functions[name] as { __endpoint: { eventTrigger: { eventType: string; eventFilterPathPatterns: Record<string, string> } } }).__endpoint;
    expect(endpoint.eventTrigger.eventType).toBe(eventType);
    expect(endpoint.eventTrigger.eventFilterPathPatterns.document).toBe(document);
  });

  it('the deployed contact trigger writes the entry through its handler', async () => {
    const orgId = await seedOrg();
    const run = (functions.auditContactDeletion as { run: (event: unknown) => Promise<unknown> }).run;
    await run({ ...context('app_user', 'manager-1'), params: { orgId, contactId: 'c7' } });
    expect(await auditOf(orgId)).toEqual([expect.objectContaining({ action: 'contact.deleted', actorUid: 'manager-1', targetId: 'c7' })]);
  });

  it('the deployed organization trigger writes the entry through its handler', async () => {
    const orgId = await seedOrg();
    const run = (functions.auditOrganizationUpdate as { run: (event: unknown) => Promise<unknown> }).run;
    const data = await change(paths.org(orgId), () => db.doc(paths.org(orgId)).update({ name: 'Renamed' }));
    await run({ ...context('app_user', 'admin-1'), params: { orgId }, data });
    expect(await auditOf(orgId)).toEqual([
      expect.objectContaining({ action: 'org.updated', actorUid: 'admin-1', targetId: orgId, details: { fields: 'name' } }),
    ]);
  });

  it('the deployed configuration trigger writes the entry through its handler', async () => {
    const orgId = await seedOrg();
    const run = (functions.auditConfigWrite as { run: (event: unknown) => Promise<unknown> }).run;
    const path = paths.config(orgId, 'pipeline');
    const data = await change(path, () => db.doc(path).set({ pipelineStages: ['a'], updatedBy: 'owner-1', updatedAt: Timestamp.fromDate(new Date(TIME)) }));
    await run({ ...context('app_user', 'owner-1'), params: { orgId, configId: 'pipeline' }, data });
    expect(await auditOf(orgId)).toEqual([
      expect.objectContaining({ action: 'config.changed', actorUid: 'owner-1', targetId: 'pipeline', details: { change: 'created' } }),
    ]);
  });
});
