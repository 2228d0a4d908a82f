import { z } from 'zod';
import { docIdSchema, emailSchema, schemaVersionSchema, timestampSchema, uidSchema } from './common';
import { assertDocumentId } from './paths';

// ---------------------------------------------------------------------------------------------------------
// Deletion requests and receipts (P4, P5, P12)
// ---------------------------------------------------------------------------------------------------------

/**
 * What replaces a deleted person's uid in organization data (`createdBy`, `sentBy`, `actorUid`…): random, so
 * nothing links it back to the person once their deletion request is gone.
 */
export const tombstonePrefix = 'deleted-';
export const tombstoneSchema = z.string().regex(/^deleted-[A-Za-z0-9]{20}$/, 'must be a tombstone id');

/** Who started an account deletion: the person, an operator (e.g. a child under 13), or Firebase Auth. */
export const accountDeletionInitiators = ['self', 'operator', 'auth'] as const;
export const accountDeletionInitiatorSchema = z.enum(accountDeletionInitiators);
export type AccountDeletionInitiator = z.infer<typeof accountDeletionInitiatorSchema>;

/** Why an operator erased a user (recorded on the receipt; no personal data). */
export const operatorErasureReasonSchema = z.enum(['child_under_13', 'data_subject_request', 'legal_order']);
export type OperatorErasureReason = z.infer<typeof operatorErasureReasonSchema>;

/** Progress of an organization purge, kept so that a crashed purge resumes where it stopped. */
export const purgeProgressSchema = z.strictObject({
  /** The run that holds the lease; another run takes over only once the lease has expired. */
  runId: z.string().min(1).max(64),
  leaseExpiresAt: timestampSchema,
  startedAt: timestampSchema,
  /**
   * The last document counted, in purge order: a document of that collection at or before it that still
   * exists after a crash was counted already, so the receipt counts every document exactly once.
   */
  cursor: z.strictObject({ collectionPath: z.string().min(1), lastDocId: z.string().min(1) }).nullable(),
  /** Documents counted for deletion so far, by collection id (`orgs` for the organization document). */
  deletedByCollection: z.record(z.string(), z.number().int().min(0)),
  pages: z.number().int().min(0),
});
export type PurgeProgress = z.infer<typeof purgeProgressSchema>;

/**
 * `deletionRequests/{orgId}`: an organization scheduled for purge. Members lost access when it was written;
 * the owner may cancel until `graceEndsAt`; the retention job purges it after that, before `deadline` (P5).
 * Removed when the purge completes (the receipt replaces it) or the deletion is cancelled.
 */
/** Both kinds of `deletionRequests/*`. Version 2 added `schemaVersion` itself (version 1: the shape before it, read the same). */
export const DELETION_REQUEST_VERSION = 2;
export const orgDeletionRequestSchema = z.strictObject({
  schemaVersion: schemaVersionSchema,
  kind: z.literal('organization'),
  orgId: docIdSchema,
  /** The owner who asked (a tombstone once that person deletes their account). */
  requestedBy: uidSchema,
  requestedAt: timestampSchema,
  graceEndsAt: timestampSchema,
  /** Everything under the organization is gone by then: at most 30 days after the request. */
  deadline: timestampSchema,
  state: z.enum(['pending', 'purging']),
  purge: purgeProgressSchema.nullable(),
});
export type OrgDeletionRequest = z.infer<typeof orgDeletionRequestSchema>;

/**
 * `deletionRequests/account:{uid}`: an account deletion in progress. It fixes the tombstone and what was found at
 * the start, so that a run after a crash finishes the same deletion; removed when the receipt is written.
 */
export const accountDeletionRequestSchema = z.strictObject({
  schemaVersion: schemaVersionSchema,
  kind: z.literal('account'),
  uid: uidSchema,
  tombstone: tombstoneSchema,
  initiatedBy: accountDeletionInitiatorSchema,
  reason: operatorErasureReasonSchema.nullable(),
  requestedAt: timestampSchema,
  /** Organizations the person belonged to (their membership and an audit entry are handled in each). */
  memberOrgIds: z.array(docIdSchema),
  /** Organizations the person was the only member of, scheduled for deletion by this request. */
  scheduledOrgIds: z.array(docIdSchema),
  /** The person's addresses (member documents, profile): pending invitations to them are withdrawn too. */
  emails: z.array(emailSchema),
  /** Documents found to delete, by collection id: the receipt reports these. */
  found: z.record(z.string(), z.number().int().min(0)),
});
export type AccountDeletionRequest = z.infer<typeof accountDeletionRequestSchema>;

export const deletionRequestSchema = z.discriminatedUnion('kind', [orgDeletionRequestSchema, accountDeletionRequestSchema]);
export type DeletionRequest = z.infer<typeof deletionRequestSchema>;

/**
 * The id of an account's deletion request. Organization ids contain no ":" (they are document ids of
 * `docIdSchema`), so the two kinds never share an id.
 */
export function accountDeletionRequestId(uid: string): string {
  return assertDocumentId(`account:${uid}`, 'uid');
}

/** Version 2 added `schemaVersion` itself (version 1: the shape before it, read the same). */
export const DELETION_RECEIPT_VERSION = 2;
/** `deletionReceipts/{id}`: what was deleted and when; no personal data (the subject is an org id or a tombstone). */
export const deletionReceiptSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    schemaVersion: schemaVersionSchema,
    kind: z.literal('organization'),
    subjectId: docIdSchema,
    requestedAt: timestampSchema,
    completedAt: timestampSchema,
    /** The collection's TTL field (firestore.indexes.json): `completedAt` + LOG_TTL_DAYS (receipts written before it
     *  existed lack it; the retention job deletes every receipt 180 days after `completedAt`). */
    expiresAt: timestampSchema.optional(),
    deletedDocuments: z.number().int().min(0),
    /** By collection id; `orgs` is the organization document itself. */
    collections: z.record(z.string(), z.number().int().min(0)),
    /** Documents the final leftover scan still found (written while the purge ran), included in the counts. */
    leftoverDocuments: z.number().int().min(0),
  }),
  z.strictObject({
    schemaVersion: schemaVersionSchema,
    kind: z.literal('account'),
    /** The tombstone that replaced the person's uid in organization data. */
    subjectId: tombstoneSchema,
    initiatedBy: accountDeletionInitiatorSchema,
    reason: operatorErasureReasonSchema.nullable(),
    requestedAt: timestampSchema,
    completedAt: timestampSchema,
    /** The collection's TTL field (firestore.indexes.json): `completedAt` + LOG_TTL_DAYS (receipts written before it
     *  existed lack it; the retention job deletes every receipt 180 days after `completedAt`). */
    expiresAt: timestampSchema.optional(),
    deletedDocuments: z.number().int().min(0),
    collections: z.record(z.string(), z.number().int().min(0)),
    /** Organizations the person solely made up, now scheduled for deletion (each gets its own receipt). */
    scheduledOrganizations: z.number().int().min(0),
  }),
]);
export type DeletionReceipt = z.infer<typeof deletionReceiptSchema>;

// ---------------------------------------------------------------------------------------------------------
// Marketing consent (P9)
// ---------------------------------------------------------------------------------------------------------

/** `marketingConsents/{uid}`: consent with its time and source (P9). Deleted 30 days after opting out. */
export const marketingConsentSchema = z.strictObject({
  email: emailSchema,
  status: z.enum(['opted_in', 'opted_out']),
  source: z.enum(['signup', 'settings', 'unsubscribe_link', 'operator']),
  updatedAt: timestampSchema,
  /** Set on the first opt-out (a repeated unsubscribe keeps it); null while opted in. */
  optedOutAt: timestampSchema.nullable(),
});
export type MarketingConsent = z.infer<typeof marketingConsentSchema>;

// ---------------------------------------------------------------------------------------------------------
// Usage analytics (P7, P8): a closed vocabulary. Nothing a person typed can fit in it.
// ---------------------------------------------------------------------------------------------------------

export const usageVocabulary = {
  features: [
    'contacts.list',
    'contacts.search',
    'contacts.create',
    'contacts.edit',
    'contacts.import',
    'contacts.erase',
    'messages.compose',
    'messages.send',
    'pipeline.view',
    'pipeline.move',
    'reports.view',
    'settings.edit',
    'members.invite',
    'billing.open',
    'data.export',
  ],
  pages: ['dashboard', 'contacts', 'contact_detail', 'messages', 'pipeline', 'reports', 'settings', 'members', 'billing'],
  browserFamilies: ['chrome', 'firefox', 'safari', 'edge', 'opera', 'samsung_internet', 'other'],
  osFamilies: ['windows', 'macos', 'linux', 'chromeos', 'ios', 'android', 'other'],
  deviceClasses: ['desktop', 'tablet', 'mobile'],
} as const;

/** The longest duration an event may report: one day. */
export const maxUsageDurationMs = 24 * 60 * 60 * 1000;

/**
 * Why a string is not in the vocabulary, for the error message: data that must never reach analytics is
 * named as such, so a client developer sees at once what they sent.
 */
export function describeDisallowedValue(value: string): string {
  if (/@/.test(value)) return 'looks like an e-mail address; usage events never carry contact data';
  if ((value.match(/\d/g) ?? []).length >= 7) return 'looks like a phone number; usage events never carry contact data';
  if (/\s/.test(value) || value.length > 40) return 'looks like free text; usage events never carry content';
  return 'is not in the usage vocabulary';
}

/** A string that must be one of `values`; anything else fails with the reason `describeDisallowedValue` gives. */
function vocabulary<const T extends readonly [string, ...string[]]>(values: T) {
  const allowed: ReadonlySet<string> = new Set(values);
  return z
    .string()
    .refine((value) => allowed.has(value), { error: (issue) => describeDisallowedValue(String(issue.input)) })
    .transform((value) => value as T[number]);
}

/**
 * A short semantic version: each part 0-99 without leading zeros, so at most six digits in all. A value with
 * seven or more digits (a phone number with dots: 612.345.678) is refused as phone-like.
 */
const appVersionSchema = z.string().refine((value) => /^(0|[1-9]\d?)\.(0|[1-9]\d?)\.(0|[1-9]\d?)$/.test(value), {
  error: (issue) => {
    const reason = describeDisallowedValue(String(issue.input));
    return reason === 'is not in the usage vocabulary' ? 'must be a version like 1.4.2' : reason;
  },
});

const durationMsSchema = z.number().int().min(0).max(maxUsageDurationMs);

/** What the client reports about itself: families and classes only, never a user-agent string. */
export const usageClientSchema = z.strictObject({
  browserFamily: vocabulary(usageVocabulary.browserFamilies).optional(),
  osFamily: vocabulary(usageVocabulary.osFamilies).optional(),
  deviceClass: vocabulary(usageVocabulary.deviceClasses).optional(),
  appVersion: appVersionSchema.optional(),
});

/** The arguments of `recordUsageEvent`: one of a fixed set of events, each with a fixed set of properties. */
export const usageEventSchema = z.discriminatedUnion('event', [
  z.strictObject({
    event: z.literal('feature_used'),
    feature: vocabulary(usageVocabulary.features),
    durationMs: durationMsSchema.optional(),
    client: usageClientSchema.optional(),
  }),
  z.strictObject({
    event: z.literal('page_viewed'),
    page: vocabulary(usageVocabulary.pages),
    durationMs: durationMsSchema.optional(),
    client: usageClientSchema.optional(),
  }),
  z.strictObject({
    event: z.literal('session_ended'),
    durationMs: durationMsSchema,
    client: usageClientSchema.optional(),
  }),
]);
export type UsageEvent = z.infer<typeof usageEventSchema>;

/** Logs and usage analytics are kept at most this long (P7). */
export const LOG_RETENTION_DAYS = 180;
/** Firestore's TTL deletes a document typically within 24 hours after its TTL field's instant. */
export const TTL_DELAY_DAYS = 1;
/** Days from a log or usage record's instant to its `expiresAt` (TTL field): one TTL delay inside the window, so
 *  that TTL is done by its end. */
export const LOG_TTL_DAYS = LOG_RETENTION_DAYS - TTL_DELAY_DAYS;

/**
 * Shards of `usageEvents.receivedAt` (Firestore's "sharded timestamps"): an index on a field that rises with
 * time takes about 500 writes/s for the whole collection; the retention job's range query is served by the
 * composite index (shard, receivedAt) instead, in which each shard is a range of its own, so the collection takes
 * about USAGE_EVENT_SHARDS × 500 writes/s. Ten: 5,000/s is 10,000 people at their usage-event rate limit at once,
 * and the job reads every shard in one `in` query (at most 30 values).
 */
export const USAGE_EVENT_SHARDS = 10;
export const usageEventShardSchema = z
  .number()
  .int()
  .min(0)
  .max(USAGE_EVENT_SHARDS - 1);
/** Every shard, for the `in` filter that reads them all. */
export const usageEventShards: readonly number[] = Array.from({ length: USAGE_EVENT_SHARDS }, (_, shard) => shard);
/** A shard for a new event: uniform, so that writes spread evenly over the shards (not a secret: Math.random). */
export function randomUsageEventShard(): number {
  return Math.floor(Math.random() * USAGE_EVENT_SHARDS);
}

/**
 * `usageEvents/{id}`: the event as accepted, and when it was received. No uid and no organization id: usage
 * is counted, never attributed. `expiresAt` (receipt + LOG_TTL_DAYS) is the collection's TTL field
 * (firestore.indexes.json): TTL deletes it within 24 hours of that, so before 180 days; the retention job deletes
 * what is left 180 days after `receivedAt` (P7), reading it by `shard`.
 */
/** Version 2 added `schemaVersion` itself (version 1: the shape before it, read the same); version 3 `shard`. */
export const USAGE_EVENT_RECORD_VERSION = 3;
export const usageEventRecordSchema = z.strictObject({
  schemaVersion: schemaVersionSchema,
  shard: usageEventShardSchema,
  payload: usageEventSchema,
  receivedAt: timestampSchema,
  expiresAt: timestampSchema,
});
export type UsageEventRecord = z.infer<typeof usageEventRecordSchema>;

// ---------------------------------------------------------------------------------------------------------
// Callable and HTTP arguments (functions/src/accounts and functions/src/privacy), shared with the web client
// ---------------------------------------------------------------------------------------------------------

/** A uid that is also usable as a document id (it names `users/{uid}`). */
const subjectUidSchema = uidSchema.refine((uid) => {
  try {
    assertDocumentId(uid);
    return true;
  } catch {
    return false;
  }
}, 'must be a valid document id');

/** `deleteMyAccount`: the client confirms explicitly, so a stray call cannot delete an account. */
export const deleteMyAccountArgsSchema = z.strictObject({ confirm: z.literal(true) });
/** `eraseUser` (operators only). */
export const eraseUserArgsSchema = z.strictObject({ uid: subjectUidSchema, reason: operatorErasureReasonSchema });
export const requestOrganizationDeletionArgsSchema = z.strictObject({ orgId: docIdSchema });
export const cancelOrganizationDeletionArgsSchema = z.strictObject({ orgId: docIdSchema });
export const eraseContactArgsSchema = z.strictObject({ orgId: docIdSchema, contactId: docIdSchema });
export const setMarketingConsentArgsSchema = z.strictObject({
  optIn: z.boolean(),
  source: z.enum(['signup', 'settings']),
});
/** The query of the `exportData` HTTPS function. */
export const exportQuerySchema = z.discriminatedUnion('scope', [
  z.strictObject({ scope: z.literal('self') }),
  z.strictObject({ scope: z.literal('organization'), orgId: docIdSchema }),
]);
export type ExportQuery = z.infer<typeof exportQuerySchema>;

/**
 * `rateLimits/{name}-{hash}`: one fixed window of a rate limit for one subject (a person or an organization,
 * named only by a hash). `expiresAt` (the window's end) is the field of the collection's TTL policy.
 */
/** Version 2 added `schemaVersion` itself (version 1: the shape before it, read the same). */
export const RATE_LIMIT_COUNTER_VERSION = 2;
export const rateLimitCounterSchema = z.strictObject({
  schemaVersion: schemaVersionSchema,
  windowStart: timestampSchema,
  count: z.number().int().min(0),
  expiresAt: timestampSchema,
});
export type RateLimitCounter = z.infer<typeof rateLimitCounterSchema>;
