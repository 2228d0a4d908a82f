import { FieldPath, Timestamp, type Firestore, type Query } from 'firebase-admin/firestore';
import { z } from 'zod';
import {
  collectionGroups,
  DELETION_REQUEST_VERSION,
  deletionReceiptSchema,
  docIdSchema,
  orgDeletionRequestSchema,
  paths,
  serverCollections,
  type OrgDeletionRequest,
} from '@leadpulse/model';
import { deleteAccount, type AccountDeletionDeps } from '../accounts/account-deletion';
import { DEFAULT_PAGE_SIZE } from '../common/bulk';
import { readDocument } from '../common/documents';
import { describeError, skipItem, type SkippedItem } from '../common/logging';
import { addDays, DELETION_DEADLINE_DAYS } from '../privacy/config';
import { prepareOrgDeletion } from '../privacy/org-deletion';
import { purgeOrganization, type PurgeDeps } from '../privacy/org-purge';
import type { UserDirectory } from './restore-guard';

/** The requester of a deletion re-applied after a restore (no person asked again). */
export const RESTORE_ACTOR = 'system:restore';

export const reapplyDeletionsOptionsSchema = z.strictObject({
  /** The instant the restored data comes from: deletions completed after it are applied again. */
  restorePoint: z.date(),
  /**
   * Organizations purged after the restore point whose receipts the live database no longer has (it was replaced
   * by the restore): from the retention reports in the logs (docs/operations.md, "Backups and restore").
   */
  purgedOrgIds: z.array(docIdSchema).default([]),
  dryRun: z.boolean().default(false),
  pageSize: z.number().int().min(1).max(500).default(DEFAULT_PAGE_SIZE),
});
export type ReapplyDeletionsOptions = z.input<typeof reapplyDeletionsOptionsSchema>;

export interface ReapplyDeletionsReport {
  dryRun: boolean;
  /** Organizations deleted after the restore point, and what re-applying did (`absent`: nothing of it is back). */
  organizations: Array<{ orgId: string; outcome: 'absent' | 'would_purge' | 'purged' | 'failed'; deletedDocuments?: number; error?: string }>;
  /** People with data in the database and no Auth user: erased again (ids are not reported: the receipts name tombstones). */
  accounts: { found: number; erased: number; failed: SkippedItem[] };
  /** Receipts completed after the restore point whose kind or subject cannot be read: their deletion is not re-applied. */
  unreadableReceipts: SkippedItem[];
}

/** What the re-apply reads of a receipt: its kind, and an organization receipt's subject. */
const [organizationReceipt, accountReceipt] = deletionReceiptSchema.options;
const receiptSubjectSchema = z.discriminatedUnion('kind', [organizationReceipt.pick({ kind: true, subjectId: true }), accountReceipt.pick({ kind: true })]);

export interface ReapplyDeletionsDeps {
  db: Firestore;
  users: UserDirectory;
  /** The purge as the retention job runs it (closeBilling: billing's closeOrgBilling). */
  purge: PurgeDeps;
  /** Account deletion as `onAuthUserDeleted` runs it. */
  accounts: AccountDeletionDeps;
}

/**
 * Re-applies, after a restore, the deletions made since the restore point, so that nothing deleted comes back
 * (P4, P5): every organization whose deletion receipt was completed after the restore point (or that the operator
 * names from the logs) and that has data again is scheduled for deletion with its grace period over and purged at
 * once; every person who has a profile, membership or consent and no Auth user (Auth is not restored) is erased
 * by the account deletion the Auth trigger runs. Idempotent: a second run finds nothing.
 */
export async function reapplyDeletions(deps: ReapplyDeletionsDeps, options: ReapplyDeletionsOptions): Promise<ReapplyDeletionsReport> {
  const args = reapplyDeletionsOptionsSchema.parse(options);
  const report: ReapplyDeletionsReport = { dryRun: args.dryRun, organizations: [], accounts: { found: 0, erased: 0, failed: [] }, unreadableReceipts: [] };
  for (const orgId of await orgsDeletedSince(deps.db, args.restorePoint, args.purgedOrgIds, report.unreadableReceipts)) {
    report.organizations.push(await reapplyOrgDeletion(deps, orgId, args.dryRun));
  }
  const gone = await peopleWithoutAuthUser(deps, args.pageSize);
  report.accounts.found = gone.length;
  if (args.dryRun) return report;
  for (const uid of gone) {
    try {
      await deleteAccount(deps.accounts, uid, 'auth');
      report.accounts.erased += 1;
    } catch (error) {
      report.accounts.failed.push(skipItem('reapplyDeletions', paths.user(uid), error));
    }
  }
  return report;
}

/** The organizations named, and those of receipts completed after the restore point; an unreadable receipt goes in `unreadable`. */
async function orgsDeletedSince(db: Firestore, restorePoint: Date, named: readonly string[], unreadable: SkippedItem[]): Promise<string[]> {
  const orgIds = new Set(named);
  const receipts = await db.collection(serverCollections.deletionReceipts).where('completedAt', '>', Timestamp.fromDate(restorePoint)).get();
  for (const doc of receipts.docs) {
    try {
      const receipt = readDocument(receiptSubjectSchema, doc);
      if (receipt?.kind === 'organization') orgIds.add(receipt.subjectId);
    } catch (error) {
      unreadable.push(skipItem('reapplyDeletions', doc.ref.path, error));
    }
  }
  return [...orgIds].sort();
}

async function reapplyOrgDeletion(deps: ReapplyDeletionsDeps, orgId: string, dryRun: boolean): Promise<ReapplyDeletionsReport['organizations'][number]> {
  const { db } = deps;
  const orgRef = db.doc(paths.org(orgId));
  try {
    const hasData = (await orgRef.get()).exists || (await orgRef.listCollections()).length > 0;
    if (!hasData) return { orgId, outcome: 'absent' };
    if (dryRun) return { orgId, outcome: 'would_purge' };
    await db.runTransaction(async (tx) => {
      const prepared = await prepareOrgDeletion(db, tx, orgId);
      const now = deps.purge.clock();
      if (prepared.existing) {
        // A restored request still in its grace period: it was purged since, so the grace is over.
        if (prepared.existing.graceEndsAt.toMillis() > now.getTime()) tx.update(db.doc(paths.deletionRequest(orgId)), { graceEndsAt: Timestamp.fromDate(now) });
        return;
      }
      // Access `none` on the organization and every member at once, as an owner's request does; no grace.
      if (prepared.org) {
        prepared.schedule(RESTORE_ACTOR, now, 0);
        return;
      }
      // Only data below a missing organization document came back: nothing to revoke access on.
      tx.create(db.doc(paths.deletionRequest(orgId)), orgDeletionRequestSchema.parse(requestWithoutGrace(orgId, now)));
    });
    const outcome = await purgeOrganization(deps.purge, orgId);
    if (outcome.status === 'leased') return { orgId, outcome: 'failed', error: `another purge holds it until ${outcome.leaseExpiresAt}: run again then` };
    if (outcome.status !== 'purged') return { orgId, outcome: 'failed', error: `purge ${outcome.status}` };
    return { orgId, outcome: 'purged', deletedDocuments: outcome.receipt.deletedDocuments };
  } catch (error) {
    skipItem('reapplyDeletions', paths.org(orgId), error);
    return { orgId, outcome: 'failed', error: describeError(error) };
  }
}

function requestWithoutGrace(orgId: string, now: Date): OrgDeletionRequest {
  const at = Timestamp.fromDate(now);
  return {
    schemaVersion: DELETION_REQUEST_VERSION,
    kind: 'organization',
    orgId,
    requestedBy: RESTORE_ACTOR,
    requestedAt: at,
    graceEndsAt: at,
    deadline: Timestamp.fromDate(addDays(now, DELETION_DEADLINE_DAYS)),
    state: 'pending',
    purge: null,
  };
}

/** The uids that own a profile, a membership or a marketing consent, minus those Auth still knows. */
async function peopleWithoutAuthUser(deps: ReapplyDeletionsDeps, pageSize: number): Promise<string[]> {
  const { db } = deps;
  const gone = new Set<string>();
  const sources: Query[] = [db.collection(paths.users()), db.collectionGroup(collectionGroups.members), db.collection(serverCollections.marketingConsents)];
  for (const source of sources) {
    const query = source.orderBy(FieldPath.documentId()).select().limit(pageSize);
    for (let page = await query.get(); ;) {
      // A member document's id is the member's uid, as a profile's and a consent's are.
      const uids = [...new Set(page.docs.map((doc) => doc.id))];
      const existing = await deps.users.existingUids(uids);
      for (const uid of uids) if (!existing.has(uid)) gone.add(uid);
      if (page.size < pageSize) break;
      page = await query.startAfter(page.docs[page.docs.length - 1]).get();
    }
  }
  return [...gone].sort();
}
