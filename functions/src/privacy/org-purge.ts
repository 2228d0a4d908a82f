import { randomUUID } from 'node:crypto';
import { FieldPath, Timestamp, type BulkWriter, type CollectionReference, type DocumentReference, type Firestore } from 'firebase-admin/firestore';
import {
  DELETION_RECEIPT_VERSION,
  DELETION_REQUEST_VERSION,
  deletionReceiptSchema,
  LOG_TTL_DAYS,
  orgDeletionRequestSchema,
  paths,
  type DeletionReceipt,
  type OrgDeletionRequest,
  type PurgeProgress,
  stampedVersion,
} from '@leadpulse/model';
import { DAY_MS } from './config';
import type { Clock } from '../common/clock';
import { readDocument } from '../common/documents';
import { DEFAULT_PAGE_SIZE, compareDocumentIds, deleteAll, withBulkWriter, type BulkOptions } from '../common/bulk';

/** How long a purge run may go without progress before another run takes over. */
export const DEFAULT_PURGE_LEASE_MS = 10 * 60 * 1000;
/** Rounds of the leftover scan before the purge gives up for this run (something keeps writing). */
const LEFTOVER_ROUNDS = 3;

/** The collection id under which the receipt counts the organization document itself. */
const ORG_DOCUMENT_KEY = 'orgs';

export interface PurgePage {
  /** 1-based, counted across resumed runs. */
  page: number;
  collectionPath: string;
  refs: readonly DocumentReference[];
}

/** Ends an organization's billing for good (billing's closeOrgBilling). */
export type CloseBilling = (orgId: string) => Promise<void>;

export interface PurgeDeps extends BulkOptions {
  db: Firestore;
  clock: Clock;
  /**
   * Ends the organization's billing: cancels the subscriptions, deletes the Stripe customers and their links, drops
   * the org id from the event ledger. Called before the tree goes (it needs the mirror's customer id) and again
   * after it (events parked meanwhile), so it must be idempotent.
   */
  closeBilling: CloseBilling;
  leaseMs?: number;
  /** Called when a page has been counted (before its deletes) and when it has been deleted: progress logs. */
  onPage?: (phase: 'counted' | 'deleted', page: PurgePage) => void | Promise<void>;
  /** Asked before every page: true stops the purge there (the caller's time is up); the next run resumes it. */
  shouldPause?: () => boolean;
}

export type PurgeOutcome =
  | { status: 'purged'; receiptId: string; receipt: DeletionReceipt }
  /** No deletion request (never requested, cancelled, or already purged). */
  | { status: 'not_requested' }
  | { status: 'in_grace'; graceEndsAt: string }
  /** Another run holds the lease. */
  | { status: 'leased'; leaseExpiresAt: string }
  /** Stopped between two pages because `shouldPause` said so; the lease is released for the next run. */
  | { status: 'paused' };

/** The receipt of an organization's deletion; it names the organization, which is not personal data. */
export function orgReceiptId(orgId: string): string {
  return `organization-${orgId}`;
}

/** Lost the lease to another run (after a pause longer than the lease): stop, that run carries on. */
export class PurgeLeaseLost extends Error {
  constructor(orgId: string) {
    super(`another run took over the purge of ${orgId}`);
    this.name = 'PurgeLeaseLost';
  }
}

/** Thrown between two pages when the caller's time is up. */
class PurgePaused extends Error {}

/**
 * Deletes everything under `orgs/{orgId}` once the deletion request's grace period is over, then writes the
 * receipt and removes the request. Pages of `pageSize` documents: each page is first counted into the request
 * (with a cursor, so a document is counted once however often the purge is interrupted), then deleted with
 * BulkWriter. A run that stops anywhere is resumed by the next one from the first document still there. A lease
 * keeps concurrent runs from purging the same organization twice. Nothing outside the organization tree is
 * touched, and it is found by listing, not by scanning the database.
 */
export async function purgeOrganization(deps: PurgeDeps, orgId: string, runId: string = randomUUID()): Promise<PurgeOutcome> {
  const { db } = deps;
  const requestRef = db.doc(paths.deletionRequest(orgId));
  const leaseMs = deps.leaseMs ?? DEFAULT_PURGE_LEASE_MS;

  const claim = await db.runTransaction(async (tx): Promise<PurgeOutcome | OrgDeletionRequest> => {
    const request = readDocument(orgDeletionRequestSchema, await tx.get(requestRef));
    if (!request) return { status: 'not_requested' };
    const now = deps.clock();
    if (now.getTime() < request.graceEndsAt.toMillis()) {
      return { status: 'in_grace', graceEndsAt: request.graceEndsAt.toDate().toISOString() };
    }
    const held = request.purge;
    if (held && held.runId !== runId && held.leaseExpiresAt.toMillis() > now.getTime()) {
      return { status: 'leased', leaseExpiresAt: held.leaseExpiresAt.toDate().toISOString() };
    }
    const purge: PurgeProgress = {
      runId,
      leaseExpiresAt: Timestamp.fromMillis(now.getTime() + leaseMs),
      startedAt: held?.startedAt ?? Timestamp.fromDate(now),
      cursor: held?.cursor ?? null,
      deletedByCollection: held?.deletedByCollection ?? {},
      pages: held?.pages ?? 0,
    };
    // Never lowers the version a newer release stamped (rolling deploy, rollback).
    const schemaVersion = stampedVersion(request.schemaVersion, DELETION_REQUEST_VERSION);
    tx.update(requestRef, { state: 'purging', purge, schemaVersion });
    return { ...request, state: 'purging', purge, schemaVersion };
  });
  if ('status' in claim) return claim;

  // Before the billing mirror under the organization is deleted: closing needs the customer id it holds.
  await deps.closeBilling(orgId);

  try {
    return await purgeTree(deps, requestRef, runId, leaseMs, orgId);
  } catch (error) {
    if (!(error instanceof PurgePaused)) throw error;
    await releaseLease(deps, requestRef, runId);
    return { status: 'paused' };
  }
}

async function purgeTree(deps: PurgeDeps, requestRef: DocumentReference, runId: string, leaseMs: number, orgId: string): Promise<PurgeOutcome> {
  const { db } = deps;
  return withBulkWriter(db, deps, async (writer) => {
    const purger = new TreePurger(deps, writer, requestRef, runId, leaseMs);
    const orgRef = db.doc(paths.org(orgId));
    await purger.purgeDocumentTree(orgRef);
    let leftoverDocuments = 0;
    for (let round = 1; ; round++) {
      const remaining = await orgRef.listCollections();
      const orgDocument = await orgRef.get();
      if (remaining.length === 0 && !orgDocument.exists) break;
      if (round > LEFTOVER_ROUNDS) {
        throw new Error(`orgs/${orgId} still has data after ${LEFTOVER_ROUNDS} leftover scans: ${remaining.map((c) => c.id).join(', ') || 'the document'}`);
      }
      leftoverDocuments += await purger.purgeDocumentTree(orgRef);
    }
    // Again once the organization is gone: Stripe events that arrived meanwhile were parked under its id.
    await deps.closeBilling(orgId);
    return finish(deps, requestRef, runId, orgId, leftoverDocuments);
  });
}

/** Lets the next run take over at once (its progress is counted in the request, so it resumes exactly). */
async function releaseLease(deps: PurgeDeps, requestRef: DocumentReference, runId: string): Promise<void> {
  await deps.db.runTransaction(async (tx) => {
    const request = readDocument(orgDeletionRequestSchema, await tx.get(requestRef));
    if (request?.purge?.runId === runId) tx.update(requestRef, { 'purge.leaseExpiresAt': Timestamp.fromDate(deps.clock()) });
  });
}

/** Writes the receipt and removes the request, in one transaction (so a crash leaves one or the other). */
async function finish(deps: PurgeDeps, requestRef: DocumentReference, runId: string, orgId: string, leftoverDocuments: number): Promise<PurgeOutcome> {
  const { db } = deps;
  const receiptRef = db.doc(paths.deletionReceipt(orgReceiptId(orgId)));
  return db.runTransaction(async (tx) => {
    const request = readDocument(orgDeletionRequestSchema, await tx.get(requestRef));
    if (!request || request.purge?.runId !== runId) throw new PurgeLeaseLost(orgId);
    const collections = request.purge.deletedByCollection;
    const completedAt = deps.clock();
    const receipt = deletionReceiptSchema.parse({
      schemaVersion: DELETION_RECEIPT_VERSION,
      kind: 'organization',
      subjectId: orgId,
      requestedAt: request.requestedAt,
      completedAt: Timestamp.fromDate(completedAt),
      expiresAt: Timestamp.fromMillis(completedAt.getTime() + LOG_TTL_DAYS * DAY_MS),
      deletedDocuments: Object.values(collections).reduce((sum, count) => sum + count, 0),
      collections,
      leftoverDocuments,
    } satisfies DeletionReceipt);
    tx.set(receiptRef, receipt);
    tx.delete(requestRef);
    return { status: 'purged', receiptId: receiptRef.id, receipt };
  });
}

/** Walks an organization's tree depth-first, deleting it a page at a time; see purgeOrganization. */
class TreePurger {
  constructor(
    private readonly deps: PurgeDeps,
    private readonly writer: BulkWriter,
    private readonly requestRef: DocumentReference,
    private readonly runId: string,
    private readonly leaseMs: number,
  ) {}

  private get pageSize(): number {
    return this.deps.pageSize ?? DEFAULT_PAGE_SIZE;
  }

  /**
   * Deletes `doc`'s subcollections, then `doc`. Subcollections are listed (ListCollectionIds also names a
   * collection whose only documents are deeper down), so data the model does not know about goes too.
   * Returns the documents deleted in this call.
   */
  async purgeDocumentTree(doc: DocumentReference): Promise<number> {
    let deleted = 0;
    const collections = (await doc.listCollections()).sort((a, b) => compareDocumentIds(a.id, b.id));
    for (const collection of collections) deleted += await this.purgeCollection(collection);
    const self = await doc.get();
    if (self.exists) deleted += await this.purgePage(doc.parent.path, [doc]);
    return deleted;
  }

  /** Deletes a collection's documents page by page, then whatever lives below documents that no longer exist. */
  private async purgeCollection(collection: CollectionReference): Promise<number> {
    let deleted = 0;
    let previousFirst: string | null = null;
    for (;;) {
      const page = await collection.orderBy(FieldPath.documentId()).select().limit(this.pageSize).get();
      if (page.empty) break;
      if (page.docs[0].id === previousFirst) throw new Error(`${page.docs[0].ref.path} is still there after being deleted`);
      previousFirst = page.docs[0].id;
      deleted += await this.purgePage(
        collection.path,
        page.docs.map((d) => d.ref),
      );
    }
    // Documents that exist no longer: what is listed now are parents of deeper data ("missing" documents).
    for (const parent of await collection.listDocuments()) deleted += await this.purgeDocumentTree(parent);
    return deleted;
  }

  /**
   * Counts the page into the request (renewing the lease, and checking it is still ours), then deletes it.
   * Documents at or before the cursor of the same collection were counted by an interrupted run already.
   */
  private async purgePage(collectionPath: string, refs: DocumentReference[]): Promise<number> {
    const { db } = this.deps;
    if (this.deps.shouldPause?.()) throw new PurgePaused();
    const collectionId = collectionPath.split('/').pop() ?? collectionPath;
    const key = collectionPath === paths.orgs() ? ORG_DOCUMENT_KEY : collectionId;
    const page = await db.runTransaction(async (tx) => {
      const request = readDocument(orgDeletionRequestSchema, await tx.get(this.requestRef));
      if (!request?.purge || request.purge.runId !== this.runId) throw new PurgeLeaseLost(request?.orgId ?? this.requestRef.id);
      const { cursor, deletedByCollection } = request.purge;
      const fresh = refs.filter((ref) => !(cursor && cursor.collectionPath === collectionPath && compareDocumentIds(ref.id, cursor.lastDocId) <= 0)).length;
      const pageNumber = request.purge.pages + 1;
      tx.update(this.requestRef, {
        'purge.cursor': { collectionPath, lastDocId: refs[refs.length - 1].id },
        'purge.deletedByCollection': { ...deletedByCollection, [key]: (deletedByCollection[key] ?? 0) + fresh },
        'purge.pages': pageNumber,
        'purge.leaseExpiresAt': Timestamp.fromMillis(this.deps.clock().getTime() + this.leaseMs),
      });
      return { pageNumber, fresh };
    });
    const event: PurgePage = { page: page.pageNumber, collectionPath, refs };
    await this.deps.onPage?.('counted', event);
    await deleteAll(this.writer, refs);
    await this.deps.onPage?.('deleted', event);
    return page.fresh;
  }
}
