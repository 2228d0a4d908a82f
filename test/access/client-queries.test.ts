/**
 * The queries docs/access-contract.md documents for clients ("Queries", and the operators' view of unmatched Stripe events),
 * run as their callers under firestore.rules. On the offline emulator firestore.indexes.json is enforced as in
 * production, so each one passing proves the file covers it; and without the index it needs, a query fails
 * with FAILED_PRECONDITION naming the very entry to put back into the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RulesTestEnvironment } from '@firebase/rules-unit-testing';
import {
  collection,
  collectionGroup,
  doc,
  getDocs,
  orderBy,
  query,
  serverTimestamp,
  setDoc,
  setLogLevel,
  where,
  type Firestore as ClientFirestore,
} from 'firebase/firestore';
import type { Firestore } from 'firebase-admin/firestore';
import { collectionGroups, paths, serverCollections } from '@leadpulse/model';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { loadIndexes, readIndexFile } from '../support/indexes';
import { offlineEmulator, rulesTestEnvironment } from '../support/rules';
import { deps, seedOrg, type SeededOrg } from '../orgs/support';
import { expiredQuery, retentionTable, type ExpiryRule } from '../../functions/src/privacy/retention';

const projectId = uniqueProjectId('client-queries');
let env: RulesTestEnvironment;
let admin: Firestore;
let close: () => Promise<void>;
let org: SeededOrg;

function clientOf(user: { uid: string; email: string | null }): ClientFirestore {
  return env.authenticatedContext(user.uid, { email: user.email ?? undefined, email_verified: true }).firestore() as unknown as ClientFirestore;
}

/** A contact's timeline, newest first, as the web client reads it. */
function timeline(db: ClientFirestore, contactId: string) {
  return query(collection(db, paths.messages(org.orgId)), where('contactId', '==', contactId), orderBy('sentAt', 'desc'));
}

/** The caller's memberships in every organization. */
function memberships(db: ClientFirestore, uid: string) {
  return query(collectionGroup(db, collectionGroups.members), where('uid', '==', uid));
}

const idsOf = async (run: Promise<{ docs: { id: string }[] }>) => (await run).docs.map((snapshot) => snapshot.id);

beforeAll(async () => {
  setLogLevel('silent');
  env = await rulesTestEnvironment(projectId);
  ({ db: admin, close } = adminFirestore(projectId));
  org = await seedOrg(
    deps(admin, () => new Date()),
    'queries',
  );
  // The CRM data, written by a member through the rules; one write at a time so sentAt increases.
  const writer = clientOf(org.member);
  for (const contactId of ['alice', 'bob']) {
    await setDoc(doc(writer, paths.contact(org.orgId, contactId)), {
      name: contactId,
      status: 'lead',
      createdBy: org.member.uid,
      createdAt: serverTimestamp(),
      updatedAt: serverTimestamp(),
    });
  }
  for (const [messageId, contactId] of [
    ['m1', 'alice'],
    ['m2', 'bob'],
    ['m3', 'alice'],
  ]) {
    await setDoc(doc(writer, paths.message(org.orgId, messageId)), {
      contactId,
      channel: 'note',
      direction: 'outbound',
      body: `note ${messageId}`,
      sentBy: org.member.uid,
      sentAt: serverTimestamp(),
    });
  }
  await admin.doc(paths.stripeEvent('evt_unmatched')).set({ outcome: 'unmatched', customerId: 'cus_x' });
  await admin.doc(paths.stripeEvent('evt_applied')).set({ outcome: 'applied', customerId: 'cus_y' });
});
afterAll(async () => {
  await env?.cleanup();
  await close?.();
});

describe('the documented queries run with firestore.indexes.json', () => {
  it("a viewer lists the organization's contacts and messages", async () => {
    const viewer = clientOf(org.viewer);
    expect(await idsOf(getDocs(collection(viewer, paths.contacts(org.orgId))))).toEqual(['alice', 'bob']);
    expect(await idsOf(getDocs(collection(viewer, paths.messages(org.orgId))))).toEqual(['m1', 'm2', 'm3']);
  });

  it('an admin lists invitations and the audit log; the owner reads the billing collection', async () => {
    expect(await idsOf(getDocs(collection(clientOf(org.admin), paths.invites(org.orgId))))).toEqual([]);
    expect((await getDocs(collection(clientOf(org.admin), paths.auditLog(org.orgId)))).size).toBeGreaterThan(0);
    expect(await idsOf(getDocs(collection(clientOf(org.owner), paths.billingDocs(org.orgId))))).toEqual([]);
  });

  it("a contact's timeline, newest first", async () => {
    expect(await idsOf(getDocs(timeline(clientOf(org.viewer), 'alice')))).toEqual(['m3', 'm1']);
  });

  it.skipIf(!offlineEmulator)('is enforced for this project: the timeline oldest first has no index', async () => {
    const oldestFirst = query(collection(clientOf(org.viewer), paths.messages(org.orgId)), where('contactId', '==', 'alice'), orderBy('sentAt'));
    const error = await getDocs(oldestFirst).then(
      () => null,
      (reason: unknown) => reason as { code: string },
    );
    expect(error?.code).toBe('failed-precondition');
  });

  it("a person's own memberships, across organizations", async () => {
    const found = await getDocs(memberships(clientOf(org.member), org.member.uid));
    expect(found.docs.map((snapshot) => snapshot.ref.path)).toEqual([paths.member(org.orgId, org.member.uid)]);
  });

  it("operators' unmatched Stripe events", async () => {
    expect(await idsOf(admin.collection(serverCollections.stripeEvents).where('outcome', '==', 'unmatched').get())).toEqual(['evt_unmatched']);
  });
});

/** The retention job's query for usage events (P7), as it runs it. */
function expiredUsageEvents() {
  const rule = retentionTable.find((candidate): candidate is ExpiryRule => candidate.key === 'usageEvents');
  if (!rule) throw new Error('no usageEvents rule in the retention table');
  return expiredQuery(admin, rule, new Date());
}

describe('usage events: no single-field index on a field that rises with time (about 500 writes/s for the collection)', () => {
  it('firestore.indexes.json exempts receivedAt, shard, expiresAt and payload, and indexes receivedAt only after the shard', () => {
    const file = readIndexFile();
    const singleField = Object.fromEntries(
      (file.fieldOverrides ?? []).filter((override) => override.collectionGroup === 'usageEvents').map((override) => [override.fieldPath, override.indexes]),
    );
    expect(singleField).toEqual({ receivedAt: [], shard: [], expiresAt: [], payload: [] });
    const composites = file.indexes
      .filter((index) => index.collectionGroup === 'usageEvents')
      .map((index) => (index.fields as { fieldPath: string; order: string }[]).map((field) => `${field.fieldPath} ${field.order}`));
    expect(composites).toEqual([['shard ASCENDING', 'receivedAt ASCENDING']]);
  });

  it.skipIf(!offlineEmulator)('a range on receivedAt alone finds no index; the same range within the shards does', async () => {
    const unsharded = admin.collection(serverCollections.usageEvents).where('receivedAt', '<', new Date()).orderBy('receivedAt').get();
    expect(
      await unsharded.then(
        () => null,
        (reason: unknown) => (reason as { code: number }).code,
      ),
    ).toBe(9); // FAILED_PRECONDITION
    await admin.doc(paths.usageEvent('expired')).set({ shard: 4, receivedAt: new Date(Date.now() - 181 * 24 * 60 * 60 * 1000) });
    await admin.doc(paths.usageEvent('recent')).set({ shard: 4, receivedAt: new Date() });
    expect(await idsOf(expiredUsageEvents().get())).toEqual(['expired']);
  });
});

describe.skipIf(!offlineEmulator)('a documented query without its index', () => {
  /** A project with the repository's file minus one entry, and the same data. */
  async function withoutEntry(change: (file: ReturnType<typeof readIndexFile>) => unknown): Promise<unknown> {
    const file = readIndexFile();
    const removed = change(file);
    await loadIndexes(projectId, file);
    return removed;
  }
  afterAll(() => loadIndexes(projectId, readIndexFile()));

  async function failure(run: Promise<unknown>): Promise<{ code: string; message: string }> {
    const error = await run.then(
      () => null,
      (reason: unknown) => reason as { code: string; message: string },
    );
    if (error === null) throw new Error('the query succeeded without its index');
    return error;
  }

  it('the timeline fails with failed-precondition naming the composite index to add', async () => {
    const removed = await withoutEntry((file) => {
      const at = file.indexes.findIndex((index) => index.collectionGroup === 'messages');
      return file.indexes.splice(at, 1)[0];
    });
    const error = await failure(getDocs(timeline(clientOf(org.viewer), 'alice')));
    expect(error.code).toBe('failed-precondition');
    expect(error.message).toMatch(/^The query requires an index\. Add this entry to "indexes" in firestore\.indexes\.json: \{/);
    expect(JSON.parse(error.message.slice(error.message.indexOf('{')))).toEqual(removed);
  });

  it("retention's usage-event query fails with failed-precondition naming the (shard, receivedAt) index to add", async () => {
    const removed = await withoutEntry((file) => {
      const at = file.indexes.findIndex((index) => index.collectionGroup === 'usageEvents');
      return file.indexes.splice(at, 1)[0];
    });
    const error = await failure(expiredUsageEvents().get());
    expect(error.message).toMatch(/^9 FAILED_PRECONDITION: The query requires an index\. Add this entry to "indexes" in firestore\.indexes\.json: \{/);
    expect(JSON.parse(error.message.slice(error.message.indexOf('{')))).toEqual(removed);
  });

  it('the membership query fails with failed-precondition naming the collection-group field override to add', async () => {
    const removed = await withoutEntry((file) => {
      const overrides = file.fieldOverrides ?? [];
      const at = overrides.findIndex((override) => override.collectionGroup === 'members' && override.fieldPath === 'uid');
      return overrides.splice(at, 1)[0];
    });
    const error = await failure(getDocs(memberships(clientOf(org.member), org.member.uid)));
    expect(error.code).toBe('failed-precondition');
    expect(error.message).toMatch(/^The query requires a COLLECTION_GROUP_ASC index for collection members and field uid\. Add this entry to "fieldOverrides"/);
    expect(JSON.parse(error.message.slice(error.message.indexOf('{')))).toEqual(removed);
  });
});
