/**
 * Shared helpers of the privacy tests: a hand-moved clock, callers, recording stand-ins for the two services the
 * emulator does not provide (Firebase Auth and Stripe's cancellation), organizations seeded with valid documents
 * of every kind, and whole-project dumps and digests to prove what changed and what did not.
 */
import { createHash, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { Timestamp, type DocumentReference, type Firestore } from 'firebase-admin/firestore';
import { HttpsError } from 'firebase-functions/v2/https';
import {
  auditEntrySchema,
  billingRecordSchema,
  configSchema,
  contactSchema,
  inviteSchema,
  marketingConsentSchema,
  memberSchema,
  messageSchema,
  organizationSchema,
  paths,
  subscriptionMirrorSchema,
  userProfileSchema,
  type Role,
  type SubscriptionMirror,
  type SubscriptionStatus,
} from '@leadpulse/model';
import type { AccountAuth } from '../../functions/src/accounts/account-auth';
import type { Caller } from '../../functions/src/common/callable';
import { toJson } from '../../functions/src/privacy/export';
import type { CancelSubscription } from '../../functions/src/privacy/org-deletion';
import { adminFirestore, uniqueProjectId } from '../support/firestore';

export const START = new Date('2030-03-01T10:00:00.000Z');
export const DAY = 24 * 60 * 60 * 1000;

export function manualClock(start = START): { clock: () => Date; advance: (ms: number) => void; set: (date: Date) => void } {
  let now = start.getTime();
  return { clock: () => new Date(now), advance: (ms) => (now += ms), set: (date) => (now = date.getTime()) };
}

/** A fresh project on the emulator; call `close()` in afterAll/afterEach. */
export function freshProject(topic: string): { db: Firestore; projectId: string; close: () => Promise<void> } {
  const projectId = uniqueProjectId(topic);
  const { db, close } = adminFirestore(projectId);
  return { db, projectId, close };
}

/** A signed-in caller as firebase-functions hands it over after verifying the ID token. */
export function caller(uid: string, extraClaims: Record<string, unknown> = {}): Caller {
  const email = `${uid}@example.com`;
  return { uid, email, emailVerified: true, claims: { email, email_verified: true, ...extraClaims } };
}

export function uid(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/**
 * Firebase Auth as AccountAuth, in memory, recording every deletion (test/privacy/auth-emulator.test.ts runs
 * the real firebase-admin adapter against firebase-tools' Auth emulator).
 */
export class RecordingAuth implements AccountAuth {
  readonly users = new Map<string, Record<string, unknown>>();
  readonly deleteCalls: string[] = [];
  addUser(uid: string, claims: Record<string, unknown> = {}): void {
    this.users.set(uid, claims);
  }
  async deleteUser(uid: string): Promise<void> {
    this.deleteCalls.push(uid);
    this.users.delete(uid);
  }
  async customClaims(uid: string): Promise<Record<string, unknown>> {
    return this.users.get(uid) ?? {};
  }
}

/** Stands in for billing's Stripe cancellation: records the organizations, can be told to fail. */
export function recordingCancellation(): { calls: string[]; cancel: CancelSubscription; failWith: (error: Error | null) => void } {
  const calls: string[] = [];
  let failure: Error | null = null;
  return {
    calls,
    failWith: (error) => (failure = error),
    cancel: async (orgId) => {
      calls.push(orgId);
      if (failure) throw failure;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Seeding
// ---------------------------------------------------------------------------------------------------------

export interface SeedOrgOptions {
  orgId: string;
  now: Date;
  /** The first is the owner. */
  members: Array<{ uid: string; role: Role }>;
  contacts?: number;
  messagesPerContact?: number;
  invites?: number;
  auditEntries?: number;
  config?: boolean;
  subscription?: boolean;
  /** Documents in collections the model does not know, below documents that do not exist. */
  strayNestedDocuments?: number;
}

export interface SeededOrg {
  orgId: string;
  owner: string;
  contactIds: string[];
  /** Documents written under `orgs/{orgId}`, by collection id (`orgs` for the organization document). */
  counts: Record<string, number>;
}

/** Writes a valid organization with documents of every kind (schemas checked), with deterministic ids. */
export async function seedOrg(db: Firestore, options: SeedOrgOptions): Promise<SeededOrg> {
  const { orgId } = options;
  const at = Timestamp.fromDate(options.now);
  const owner = options.members[0].uid;
  const counts: Record<string, number> = {};
  const writer = db.bulkWriter({ throttling: false });
  const writes: Promise<unknown>[] = [];
  const put = (ref: DocumentReference, data: object, key = ref.parent.id) => {
    writes.push(writer.set(ref, data));
    counts[key] = (counts[key] ?? 0) + 1;
  };
  put(
    db.doc(paths.org(orgId)),
    organizationSchema.parse({ name: `Org ${orgId}`, ownerUid: owner, plan: 'free', status: 'active', access: 'full', createdAt: at }),
    'orgs',
  );
  for (const { uid: memberUid, role } of options.members) {
    put(
      db.doc(paths.member(orgId, memberUid)),
      memberSchema.parse({ uid: memberUid, orgId, role, access: 'full', email: `${memberUid}@example.com`, displayName: `Name of ${memberUid}`, joinedAt: at }),
    );
  }
  const writers = options.members.filter((m) => m.role !== 'viewer').map((m) => m.uid);
  const contactIds: string[] = [];
  for (let c = 0; c < (options.contacts ?? 0); c++) {
    const contactId = `contact${String(c).padStart(6, '0')}`;
    contactIds.push(contactId);
    put(
      db.doc(paths.contact(orgId, contactId)),
      contactSchema.parse({
        name: `Customer ${c}`,
        email: `customer${c}@client.example`,
        phone: '+1 415 555 0100',
        status: 'lead',
        createdBy: writers[c % writers.length],
        createdAt: at,
        updatedAt: at,
      }),
    );
    for (let m = 0; m < (options.messagesPerContact ?? 0); m++) {
      put(
        db.doc(paths.message(orgId, `${contactId}-m${m}`)),
        messageSchema.parse({
          contactId,
          channel: 'email',
          direction: 'outbound',
          subject: 'Hello',
          body: `Dear customer ${c}, message ${m}`,
          sentBy: writers[(c + m) % writers.length],
          sentAt: at,
        }),
      );
    }
  }
  if (options.config) {
    put(db.doc(paths.config(orgId, 'pipeline')), configSchema.parse({ pipelineStages: ['new', 'won'], updatedBy: owner, updatedAt: at }));
  }
  for (let i = 0; i < (options.invites ?? 0); i++) {
    put(
      db.doc(paths.invite(orgId, `invite${i}`)),
      inviteSchema.parse({
        email: `invitee${i}@example.com`,
        role: 'member',
        tokenHash: 'a'.repeat(64),
        invitedBy: owner,
        createdAt: at,
        expiresAt: Timestamp.fromMillis(options.now.getTime() + 7 * DAY),
      }),
    );
  }
  for (let i = 0; i < (options.auditEntries ?? 0); i++) {
    put(
      db.doc(paths.auditEntry(orgId, `entry${i}`)),
      auditEntrySchema.parse({ action: 'member.joined', actorUid: owner, targetUid: options.members[i % options.members.length].uid, at }),
    );
  }
  if (options.subscription) put(db.doc(paths.subscription(orgId)), subscriptionMirror(options.now, 'active', null));
  for (let i = 0; i < (options.strayNestedDocuments ?? 0); i++) {
    put(db.doc(`${paths.org(orgId)}/attachments/file${i}/versions/v1`), { size: i }, 'versions');
  }
  const settled = Promise.allSettled(writes);
  await writer.close();
  const failed = (await settled).find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  return { orgId, owner, contactIds, counts };
}

/** A billing mirror as billing writes it (its shape is billing's schema). */
export function subscriptionMirror(now: Date, status: SubscriptionStatus, lapsedSince: Date | null): SubscriptionMirror {
  const at = Timestamp.fromDate(now);
  return subscriptionMirrorSchema.parse({
    customerId: 'cus_test',
    customerDeleted: false,
    subscriptionId: 'sub_test',
    subscriptionCreated: Math.floor(now.getTime() / 1000) - 86_400,
    status,
    plan: 'pro',
    priceId: 'price_test',
    seats: 3,
    currentPeriodEnd: Timestamp.fromMillis(now.getTime() + 20 * DAY),
    cancelAtPeriodEnd: false,
    trialEnd: null,
    lapsedSince: lapsedSince ? Timestamp.fromDate(lapsedSince) : null,
    access: 'full',
    lastEventCreated: Math.floor(now.getTime() / 1000),
    updatedAt: at,
  } satisfies SubscriptionMirror);
}

export async function seedUser(db: Firestore, userUid: string, now: Date, options: { consent?: boolean } = {}): Promise<void> {
  const at = Timestamp.fromDate(now);
  await db.doc(paths.user(userUid)).set(
    userProfileSchema.parse({ displayName: `Name of ${userUid}`, email: `${userUid}@example.com`, createdAt: at, updatedAt: at }),
  );
  if (options.consent) {
    await db.doc(paths.marketingConsent(userUid)).set(
      marketingConsentSchema.parse({ email: `${userUid}@example.com`, status: 'opted_in', source: 'signup', updatedAt: at, optedOutAt: null }),
    );
  }
}

export async function seedBillingRecord(db: Firestore, orgId: string, invoiceId: string, issuedAt: Date): Promise<void> {
  await db.doc(paths.billingRecord(invoiceId)).set(
    billingRecordSchema.parse({
      invoiceId,
      invoiceNumber: `INV-${invoiceId}`,
      customerId: 'cus_test',
      orgId,
      currency: 'usd',
      subtotal: 1000,
      tax: 200,
      total: 1200,
      amountDue: 1200,
      amountPaid: 1200,
      status: 'paid',
      issuedAt: Timestamp.fromDate(issuedAt),
      paidAt: Timestamp.fromDate(issuedAt),
      retainUntil: Timestamp.fromMillis(issuedAt.getTime() + 7 * 365 * DAY),
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Dumps and digests
// ---------------------------------------------------------------------------------------------------------

export interface DumpedDocument {
  /** Canonical JSON of the data (sorted keys, typed values). */
  data: string;
  createTime: string;
  updateTime: string;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Every document of the project, by path, found by listing (documents that only hold subcollections included). */
export async function dumpProject(db: Firestore): Promise<Map<string, DumpedDocument>> {
  const dump = new Map<string, DumpedDocument>();
  async function visit(refs: DocumentReference[]): Promise<void> {
    for (let i = 0; i < refs.length; i += 300) {
      const chunk = refs.slice(i, i + 300);
      for (const snapshot of await db.getAll(...chunk)) {
        if (!snapshot.exists) continue;
        dump.set(snapshot.ref.path, {
          data: canonical(toJson(snapshot.data())),
          createTime: snapshot.createTime?.toDate().toISOString() ?? '',
          updateTime: snapshot.updateTime?.toDate().toISOString() ?? '',
        });
      }
    }
    await Promise.all(
      refs.map(async (ref) => {
        for (const collection of await ref.listCollections()) await visit(await collection.listDocuments());
      }),
    );
  }
  await Promise.all((await db.listCollections()).map(async (collection) => visit(await collection.listDocuments())));
  return dump;
}

/** sha256 over the paths, data and write times of the dumped documents `keep` selects. */
export function digest(dump: Map<string, DumpedDocument>, keep: (path: string) => boolean = () => true): string {
  const hash = createHash('sha256');
  for (const path of [...dump.keys()].filter(keep).sort()) {
    const doc = dump.get(path) as DumpedDocument;
    hash.update(`${path}\n${doc.data}\n${doc.createTime}\n${doc.updateTime}\n`);
  }
  return hash.digest('hex');
}

/** The dump's data only (no write times), as a plain object: for comparing two projects' end states. */
export function dataOf(dump: Map<string, DumpedDocument>, keep: (path: string) => boolean = () => true): Record<string, string> {
  return Object.fromEntries([...dump.entries()].filter(([path]) => keep(path)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, doc]) => [path, doc.data]));
}

export const under = (prefix: string) => (path: string) => path === prefix || path.startsWith(`${prefix}/`);

/** Expects `action` to fail with an HttpsError of `code` (message matching `message`) and change nothing at all. */
export async function expectRefusedWithoutChange(
  db: Firestore,
  action: () => Promise<unknown>,
  code: HttpsError['code'],
  message?: RegExp,
): Promise<HttpsError> {
  const before = digest(await dumpProject(db));
  const error = await action().then(
    (result) => {
      throw new Error(`expected ${code}, got success: ${JSON.stringify(result)}`);
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(HttpsError);
  const httpsError = error as HttpsError;
  expect(httpsError.code, httpsError.message).toBe(code);
  if (message) expect(httpsError.message).toMatch(message);
  expect(digest(await dumpProject(db))).toBe(before);
  return httpsError;
}
