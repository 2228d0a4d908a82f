import { Timestamp, type Firestore, type Query } from 'firebase-admin/firestore';
import * as logger from 'firebase-functions/logger';
import {
  accountDeletionRequestSchema,
  INVITE_RETENTION_AFTER_EXPIRY_DAYS,
  INVITE_TTL_AFTER_EXPIRY_DAYS,
  LOG_RETENTION_DAYS,
  TTL_DELAY_DAYS,
  LOG_TTL_DAYS,
  orgDeletionRequestSchema,
  serverCollections,
  type AccountDeletionRequest,
  type OrgCollection,
  type OrgDeletionRequest,
  usageEventShards,
} from '@leadpulse/model';
import { DEFAULT_PAGE_SIZE, deleteAll, drainQuery, withBulkWriter, type BulkOptions } from '../common/bulk';
import type { Clock } from '../common/clock';
import { readDocument } from '../common/documents';
import { describeError, logError, skipItem, type SkippedItem } from '../common/logging';
import { DAY_MS } from './config';
import { purgeOrganization, type PurgeDeps } from './org-purge';

/**
 * Data that expires: deleted once `field` is more than `days` old (P6, P7, P9). `field` is a timestamp on every
 * document of the class; documents without it (or, for a sharded class, without a shard) are never matched, so a
 * class must always set them.
 */
export interface ExpiryRule {
  kind: 'expiry';
  /** Key in the run report. */
  key: string;
  dataClass: string;
  location: string;
  kept: string;
  source: { collection: string } | { collectionGroup: OrgCollection };
  field: string;
  days: number;
  /** When `field` is sharded (it rises with time, so its own index is exempted): the shard field and every shard
   *  value. The job then reads all shards in one query, oldest first, from the composite index (shard, field). */
  shards?: { field: string; values: readonly number[] };
  /** The class's TTL policy (firestore.indexes.json `"ttl": true`), when it has one: the field writers set to
   *  `field` + `days` days. The job stays as the backstop that keeps the window exact. */
  ttl?: { field: string; days: number };
}

/** Data whose deletion was requested: deleted organizations (P5) and interrupted account deletions (P4). */
export interface RequestRule {
  kind: 'organizations' | 'accounts';
  key: string;
  dataClass: string;
  location: string;
  kept: string;
}

export type RetentionRule = ExpiryRule | RequestRule;

/** An account deletion request older than this is a run that stopped; the job finishes it. */
export const STALE_ACCOUNT_DELETION_MS = 15 * 60 * 1000;

/** The retention table: every class of data the backend deletes on a schedule, and when (printed in docs/privacy.md). */
export const retentionTable: readonly RetentionRule[] = [
  {
    kind: 'organizations',
    key: 'organizations',
    dataClass: 'Deleted organization (everything under it, its Stripe customers and their links)',
    location: 'orgs/{orgId}/**, deletionRequests/{orgId}, stripeCustomers/{customerId}, the customer at Stripe',
    kept: 'until the undo grace period ends (7 days by default), then purged (the Stripe customer deleted); gone at most 30 days after the request',
  },
  {
    kind: 'accounts',
    key: 'accounts',
    dataClass: 'Deleted account (profile, memberships, consent, invitations to and from the person, Auth user)',
    location: 'users/{uid}, orgs/*/members/{uid}, orgs/*/invites/*, marketingConsents/{uid}, deletionRequests/account:{uid}',
    kept: 'deleted when requested; a deletion interrupted for 15 minutes is finished by the next run',
  },
  {
    kind: 'expiry',
    key: 'usageEvents',
    dataClass: 'Usage analytics',
    location: 'usageEvents/*',
    kept: '180 days after receipt',
    source: { collection: serverCollections.usageEvents },
    field: 'receivedAt',
    days: LOG_RETENTION_DAYS,
    shards: { field: 'shard', values: usageEventShards },
    ttl: { field: 'expiresAt', days: LOG_TTL_DAYS },
  },
  {
    kind: 'expiry',
    key: 'auditLog',
    dataClass: 'Audit log (logs)',
    location: 'orgs/*/auditLog/*',
    kept: '180 days after the action',
    source: { collectionGroup: 'auditLog' },
    field: 'at',
    days: LOG_RETENTION_DAYS,
    ttl: { field: 'expiresAt', days: LOG_TTL_DAYS },
  },
  {
    kind: 'expiry',
    key: 'stripeEvents',
    dataClass: 'Stripe event ledger (logs)',
    location: 'stripeEvents/*',
    kept: '180 days after receipt (without the organization id once the organization is purged)',
    source: { collection: serverCollections.stripeEvents },
    field: 'receivedAt',
    days: LOG_RETENTION_DAYS,
    ttl: { field: 'expiresAt', days: LOG_TTL_DAYS },
  },
  {
    kind: 'expiry',
    key: 'deletionReceipts',
    dataClass: 'Deletion receipts (logs; no personal data)',
    location: 'deletionReceipts/*',
    kept: '180 days after the deletion completed',
    source: { collection: serverCollections.deletionReceipts },
    field: 'completedAt',
    days: LOG_RETENTION_DAYS,
    ttl: { field: 'expiresAt', days: LOG_TTL_DAYS },
  },
  {
    kind: 'expiry',
    key: 'marketingConsents',
    dataClass: 'Marketing data after opt-out',
    location: 'marketingConsents/{uid}',
    kept: '30 days after opting out (kept while opted in)',
    source: { collection: serverCollections.marketingConsents },
    field: 'optedOutAt',
    days: 30,
  },
  {
    kind: 'expiry',
    key: 'invites',
    dataClass: 'Invitations (the invitee e-mail address)',
    location: 'orgs/*/invites/*',
    kept: 'until accepted or revoked; 7 days after they expire',
    source: { collectionGroup: 'invites' },
    field: 'expiresAt',
    days: INVITE_RETENTION_AFTER_EXPIRY_DAYS,
    ttl: { field: 'deleteAt', days: INVITE_TTL_AFTER_EXPIRY_DAYS },
  },
  {
    kind: 'expiry',
    key: 'billingRecords',
    dataClass: 'Billing records (tax; amounts, invoice, customer and organization ids: no personal data)',
    location: 'billingRecords/{invoiceId}',
    kept: '7 years (until retainUntil, set by billing to the issue date + 7 years), also for customers never linked to an organization',
    source: { collection: serverCollections.billingRecords },
    field: 'retainUntil',
    days: 0,
  },
];

/** How a rule's documents are deleted, as docs/privacy.md's retention table says it. */
export function deletedBy(rule: RetentionRule): string {
  if (rule.kind !== 'expiry' || !rule.ttl) return 'the retention job';
  return (
    `TTL on \`${rule.ttl.field}\` (${rule.field} + ${rule.ttl.days} days), deleted within ${TTL_DELAY_DAYS * 24} hours after; ` +
    `the retention job deletes what is left at ${rule.days} days (backstop: keeps the window exact, and covers documents written before the TTL field)`
  );
}

/**
 * Finishes an account deletion that stopped, from its request (account deletion's `deleteAccount`, bound to its
 * dependencies: accounts/runtime.ts, `resumeAccountDeletion`). Throws when it cannot finish.
 */
export type ResumeAccountDeletion = (request: AccountDeletionRequest) => Promise<unknown>;

export interface RetentionDeps extends BulkOptions, Pick<PurgeDeps, 'leaseMs' | 'onPage' | 'closeBilling'> {
  db: Firestore;
  clock: Clock;
  resumeAccountDeletion: ResumeAccountDeletion;
  /** Starts no new work after this long, leaving the rest to the next run (the function timeout is longer). */
  budgetMs?: number;
  /** Milliseconds from a fixed point, for the budget (tests move it by hand). */
  elapsedMs?: () => number;
}

/** Well inside the function's 1,800 s timeout, so that a run always ends in time to log its report. */
export const DEFAULT_RETENTION_BUDGET_MS = 20 * 60 * 1000;

export interface RetentionReport {
  /** ISO 8601: the clock the run measured ages against. */
  now: string;
  /** Documents deleted, by rule key (for organizations: everything their purges deleted). */
  purged: Record<string, number>;
  organizations: Array<{ orgId: string; outcome: string; deletedDocuments?: number; error?: string }>;
  accounts: Array<{ outcome: string; error?: string }>;
  /** Organizations still present after their deadline (each is also logged as an error). */
  overdueOrganizations: string[];
  /** Rules that ran out of their share of the budget (the next run carries on) or failed, by key. */
  unfinished: Record<string, 'out_of_time' | 'failed'>;
  /** Documents a rule could not read (deletion requests): passed over, each also logged (SKIPPED_ITEM_MESSAGE). */
  skipped: SkippedItem[];
  /** False when a rule did not run to the end. */
  complete: boolean;
}

type Deadline = () => boolean;

/**
 * The retention job (P5, P6, P7, P9): applies every rule of the table against `deps.clock()`, each a page at a
 * time, and reports what it deleted. Each rule gets its own share of the budget (an equal share of what is left,
 * so time a rule does not use goes to the next), checked before every page, purges included: a flood in one
 * class never keeps the others from running. One failing rule, organization, account or unreadable request does
 * not stop the rest; the report names it.
 */
export async function runRetention(deps: RetentionDeps): Promise<RetentionReport> {
  const now = deps.clock();
  const elapsed = deps.elapsedMs ?? (() => performance.now());
  const started = elapsed();
  const budgetMs = deps.budgetMs ?? DEFAULT_RETENTION_BUDGET_MS;
  const report: RetentionReport = {
    now: now.toISOString(),
    purged: {},
    organizations: [],
    accounts: [],
    overdueOrganizations: [],
    unfinished: {},
    skipped: [],
    complete: true,
  };

  for (const [index, rule] of retentionTable.entries()) {
    const ruleStarted = elapsed();
    const share = (budgetMs - (ruleStarted - started)) / (retentionTable.length - index);
    const outOfTime: Deadline = () => elapsed() - ruleStarted > share;
    try {
      let complete: boolean;
      if (rule.kind === 'expiry') {
        const result = await expire(deps, rule, now, outOfTime);
        report.purged[rule.key] = result.handled;
        complete = result.complete;
      } else if (rule.kind === 'organizations') complete = await purgeDueOrganizations(deps, now, report, outOfTime);
      else complete = await resumeStaleAccountDeletions(deps, now, report, outOfTime);
      if (!complete) report.unfinished[rule.key] = 'out_of_time';
    } catch (error) {
      report.unfinished[rule.key] = 'failed';
      logError('retention rule failed', error, { rule: rule.key });
    }
  }
  report.complete = Object.keys(report.unfinished).length === 0;
  return report;
}

/** The documents of an expiry rule whose time has come at `now`, oldest first (firestore.indexes.json serves it). */
export function expiredQuery(db: Firestore, rule: ExpiryRule, now: Date): Query {
  const base: Query = 'collection' in rule.source ? db.collection(rule.source.collection) : db.collectionGroup(rule.source.collectionGroup);
  const cutoff = Timestamp.fromMillis(now.getTime() - rule.days * DAY_MS);
  const sharded = rule.shards ? base.where(rule.shards.field, 'in', rule.shards.values) : base;
  return sharded.where(rule.field, '<', cutoff).orderBy(rule.field);
}

async function expire(deps: RetentionDeps, rule: ExpiryRule, now: Date, outOfTime: Deadline): Promise<{ handled: number; complete: boolean }> {
  const query = expiredQuery(deps.db, rule, now);
  return withBulkWriter(deps.db, deps, (writer) => drainQuery(query, deps.pageSize ?? DEFAULT_PAGE_SIZE, (refs) => deleteAll(writer, refs), outOfTime));
}

/** Purges the organizations whose grace period is over; false if the budget ran out first. */
async function purgeDueOrganizations(deps: RetentionDeps, now: Date, report: RetentionReport, outOfTime: Deadline): Promise<boolean> {
  const { db } = deps;
  const due = await db.collection(serverCollections.deletionRequests).where('graceEndsAt', '<=', Timestamp.fromDate(now)).get();
  report.purged.organizations = 0;
  const purgeDeps: PurgeDeps = {
    db,
    clock: deps.clock,
    closeBilling: deps.closeBilling,
    pageSize: deps.pageSize,
    bulkWriter: deps.bulkWriter,
    leaseMs: deps.leaseMs,
    onPage: deps.onPage,
    shouldPause: outOfTime,
  };
  for (const snapshot of due.docs) {
    if (outOfTime()) return false;
    let request: OrgDeletionRequest | null;
    try {
      request = readDocument(orgDeletionRequestSchema, snapshot);
    } catch (error) {
      report.skipped.push(skipItem('retention', snapshot.ref.path, error));
      continue;
    }
    if (!request) continue;
    try {
      const outcome = await purgeOrganization(purgeDeps, request.orgId);
      if (outcome.status === 'purged') {
        report.purged.organizations += outcome.receipt.deletedDocuments;
        report.organizations.push({ orgId: request.orgId, outcome: outcome.status, deletedDocuments: outcome.receipt.deletedDocuments });
        continue;
      }
      report.organizations.push({ orgId: request.orgId, outcome: outcome.status });
    } catch (error) {
      report.organizations.push({ orgId: request.orgId, outcome: 'failed', error: describeError(error) });
      logError('organization purge failed', error, { orgId: request.orgId });
    }
    if (request.deadline.toMillis() <= now.getTime()) {
      report.overdueOrganizations.push(request.orgId);
      logger.error('organization deletion is past its deadline', { orgId: request.orgId, deadline: request.deadline.toDate().toISOString() });
    }
    if (outOfTime()) return false;
  }
  return true;
}

/** Finishes account deletions that stopped; false if the budget ran out first. */
async function resumeStaleAccountDeletions(deps: RetentionDeps, now: Date, report: RetentionReport, outOfTime: Deadline): Promise<boolean> {
  const { db } = deps;
  const requests = await db.collection(serverCollections.deletionRequests).where('kind', '==', 'account').get();
  for (const snapshot of requests.docs) {
    if (outOfTime()) return false;
    try {
      const request = readDocument(accountDeletionRequestSchema, snapshot);
      if (!request || now.getTime() - request.requestedAt.toMillis() < STALE_ACCOUNT_DELETION_MS) continue;
      await deps.resumeAccountDeletion(request);
      report.accounts.push({ outcome: 'deleted' });
    } catch (error) {
      // The request's id names the uid: the report and the alert carry it for operators, never for clients.
      report.skipped.push(skipItem('retention', snapshot.ref.path, error));
      report.accounts.push({ outcome: 'failed', error: describeError(error) });
    }
  }
  return true;
}

/** Logs a run's report: an error when an organization failed or is overdue, so that alerting picks it up. */
export function logRetentionReport(report: RetentionReport): RetentionReport {
  const failed =
    report.organizations.some((org) => org.outcome === 'failed') ||
    report.accounts.some((account) => account.outcome === 'failed') ||
    Object.values(report.unfinished).includes('failed') ||
    report.skipped.length > 0;
  if (failed || report.overdueOrganizations.length > 0) logger.error('retention run needs attention', report);
  else logger.info('retention run', report);
  return report;
}
