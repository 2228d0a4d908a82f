/**
 * Valid documents of every kind for the privacy tests and benchmark (schemas checked on the way in), with
 * deterministic ids so that two projects seeded alike can be compared. No vitest here: the benchmark uses it.
 */
import { Timestamp, type DocumentReference, type Firestore } from 'firebase-admin/firestore';
import {
  auditEntrySchema,
  billingRecordSchema,
  configSchema,
  contactSchema,
  inviteSchema,
  LOG_TTL_DAYS,
  marketingConsentSchema,
  memberSchema,
  messageSchema,
  organizationSchema,
  paths,
  subscriptionMirrorSchema,
  USAGE_EVENT_RECORD_VERSION,
  usageEventRecordSchema,
  userProfileSchema,
  type Role,
  type SubscriptionMirror,
  type SubscriptionStatus,
  type UsageEventRecord,
} from '@leadpulse/model';

export const START = new Date('2030-03-01T10:00:00.000Z');
export const DAY = 24 * 60 * 60 * 1000;

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
  await db
    .doc(paths.user(userUid))
    .set(userProfileSchema.parse({ displayName: `Name of ${userUid}`, email: `${userUid}@example.com`, createdAt: at, updatedAt: at }));
  if (options.consent) {
    await db
      .doc(paths.marketingConsent(userUid))
      .set(marketingConsentSchema.parse({ email: `${userUid}@example.com`, status: 'opted_in', source: 'signup', updatedAt: at, optedOutAt: null }));
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

/** A usage event as recordUsageEvent stores it, received at `receivedAt` into `shard`. */
export function usageEventRecord(receivedAt: Date, shard: number): UsageEventRecord {
  return usageEventRecordSchema.parse({
    schemaVersion: USAGE_EVENT_RECORD_VERSION,
    shard,
    payload: { event: 'page_viewed', page: 'contacts' },
    receivedAt: Timestamp.fromDate(receivedAt),
    expiresAt: Timestamp.fromMillis(receivedAt.getTime() + LOG_TTL_DAYS * DAY),
  });
}
