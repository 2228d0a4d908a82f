import { isDeepStrictEqual } from 'node:util';
import {
  DocumentReference,
  GeoPoint,
  Timestamp,
  type CollectionReference,
  type DocumentData,
  type DocumentSnapshot,
  type Firestore,
} from 'firebase-admin/firestore';
import { z } from 'zod';
import { assertDocumentId, paths } from '@leadpulse/model';
import { compareDocumentIds, DEFAULT_PAGE_SIZE } from '../common/bulk';
import { isAlreadyExists } from '../common/firestore-errors';
import { describeError } from '../common/logging';
import { accessOf, isTombstone, memberOrgOf, valueAt, withValueAt, type RestoreGuard, type Review } from './restore-guard';

/** A path a copy starts from: a collection (`users`, `orgs/acme/contacts`) or a document and its tree (`orgs/acme`). */
const prefixSchema = z.string().refine((path) => {
  try {
    path.split('/').forEach((segment) => assertDocumentId(segment, 'segment'));
    return true;
  } catch {
    return false;
  }
}, 'must be a collection or document path such as orgs/acme or users');

export const copyBackOptionsSchema = z.strictObject({
  prefixes: z.array(prefixSchema).min(1, 'name at least one collection or document path'),
  /** Replace documents that differ in the live database (the damage itself, once the operator has checked). */
  overwriteChanged: z.boolean().default(false),
  dryRun: z.boolean().default(false),
  /** Resume after this document path (the `cursor` of an interrupted run's last progress line). */
  startAfter: z.string().min(1).nullable().default(null),
  pageSize: z.number().int().min(1).max(500).default(DEFAULT_PAGE_SIZE),
});
export type CopyBackOptions = z.input<typeof copyBackOptionsSchema>;

export interface CopyBackReport {
  dryRun: boolean;
  /** Documents read in the restored database. */
  scanned: number;
  /** How many were written into the live database (in a dry run: would be); a count, so a large copy stays small. */
  copied: number;
  /** Already identical in the live database (an organization document: in the fields a copy may change). */
  identical: number;
  /** Different in the live database and left alone (changed after the restore point, or damaged): ISO update time. */
  changed: Array<{ path: string; updatedAt: string }>;
  /** Replaced because `overwriteChanged` said so. */
  overwritten: string[];
  /** Deleted on purpose after the restore point, or otherwise never to come back: not written. */
  refused: Array<{ path: string; reason: string }>;
  /** Written in the live database by someone else between this run's read and its write: left alone, run again. */
  changedMeanwhile: string[];
  failed: Array<{ path: string; error: string }>;
  /** The last document handled, in copy order: `startAfter` for a run that resumes. */
  cursor: string | null;
}

export interface CopyBackDeps {
  /** The restored database (`restored-…`), read only. */
  source: Firestore;
  /** `(default)`, the live database. */
  target: Firestore;
  /** Built with the restore point: the instant the restored database holds. */
  guard: RestoreGuard;
  /** Called after each page with the report so far: progress lines with the cursor to resume from. */
  onPage?: (report: CopyBackReport) => void;
}

/**
 * Copies documents lost from the live database back from a restored one, under the given paths: a document
 * missing in the live database is created, one identical there is left, one that differs is reported (and
 * replaced only with `overwriteChanged`, an organization document in its display fields only), and one deleted on
 * purpose after the restore point, or never to come back (the guard: deleted organizations and accounts, removed
 * members, erased contacts, members whose role changed, invitations), is never written. Pages of
 * `pageSize`; documents are visited in one fixed order (path segment by segment, ids in Firestore's order), so a
 * run resumes after `startAfter`; running again changes nothing more.
 */
export async function copyBack(deps: CopyBackDeps, options: CopyBackOptions): Promise<CopyBackReport> {
  const args = copyBackOptionsSchema.parse(options);
  const report: CopyBackReport = {
    dryRun: args.dryRun,
    scanned: 0,
    copied: 0,
    identical: 0,
    changed: [],
    overwritten: [],
    refused: [],
    changedMeanwhile: [],
    failed: [],
    cursor: args.startAfter,
  };
  const copier = new Copier(deps, args, report);
  for (const prefix of [...new Set(args.prefixes)].sort(comparePaths)) {
    const segments = prefix.split('/');
    if (segments.length % 2 === 0) await copier.copyTree([deps.source.doc(prefix)]);
    else await copier.copyCollection(deps.source.collection(prefix));
  }
  return report;
}

type Args = z.output<typeof copyBackOptionsSchema>;

class Copier {
  constructor(
    private readonly deps: CopyBackDeps,
    private readonly args: Args,
    private readonly report: CopyBackReport,
  ) {}

  /** The collection's documents (also those that exist only as parents of deeper data) and everything below. */
  async copyCollection(collection: CollectionReference): Promise<void> {
    const refs = (await collection.listDocuments()).sort((a, b) => compareDocumentIds(a.id, b.id));
    for (let i = 0; i < refs.length; i += this.args.pageSize) await this.copyTree(refs.slice(i, i + this.args.pageSize));
  }

  /**
   * Copies a page of documents, then, document by document, the collections below each. The cursor only moves to
   * a document once everything before it in copy order is done: the first of the page at once (its subtree comes
   * after it), each next one once the subtree before it is.
   */
  async copyTree(refs: DocumentReference[]): Promise<void> {
    const pending = refs.filter((ref) => !this.handledAlready(ref.path));
    if (pending.length > 0) {
      await this.copyPage(pending);
      this.advance(refs[0].path);
      this.deps.onPage?.(this.report);
    }
    // One ListCollectionIds per document, the page's at once: a round trip each would dominate a large copy.
    const below = await Promise.all(refs.map(async (ref) => (this.subtreeHandledAlready(ref.path) ? [] : ref.listCollections())));
    for (const [i, ref] of refs.entries()) {
      for (const collection of below[i].sort((a, b) => compareDocumentIds(a.id, b.id))) await this.copyCollection(collection);
      this.advance(refs[i + 1]?.path ?? ref.path);
    }
  }

  private advance(path: string): void {
    if (this.report.cursor === null || comparePaths(path, this.report.cursor) > 0) this.report.cursor = path;
  }

  private handledAlready(path: string): boolean {
    return this.args.startAfter !== null && comparePaths(path, this.args.startAfter) <= 0;
  }

  /** Everything below `path` comes before the cursor (the cursor is neither `path` nor below it). */
  private subtreeHandledAlready(path: string): boolean {
    const cursor = this.args.startAfter;
    return cursor !== null && comparePaths(path, cursor) < 0 && !cursor.startsWith(`${path}/`);
  }

  private async copyPage(refs: DocumentReference[]): Promise<void> {
    const { source, target, guard } = this.deps;
    const restored = (await source.getAll(...refs)).filter((snapshot) => snapshot.exists);
    this.report.scanned += restored.length;
    if (restored.length > 0) {
      const live = await target.getAll(...restored.map((snapshot) => target.doc(snapshot.ref.path)));
      const reviews = await guard.review(
        restored.map((snapshot) => ({ path: snapshot.ref.path, data: rebase(snapshot.data() ?? {}, target) as DocumentData })),
      );
      await Promise.all(restored.map((snapshot, i) => this.copyDocument(snapshot.ref.path, live[i], reviews.get(snapshot.ref.path))));
    }
  }

  private async copyDocument(path: string, live: DocumentSnapshot, review: Review | undefined): Promise<void> {
    if (!review) throw new Error(`${path} was not reviewed`);
    if (review.refusal) {
      this.report.refused.push({ path, reason: review.refusal });
      return;
    }
    const ref = this.deps.target.doc(path);
    try {
      if (!live.exists) {
        if (!this.args.dryRun) await this.create(ref, review.data);
        this.report.copied += 1;
        return;
      }
      const current = live.data() ?? {};
      let data = this.deps.guard.keepLiveFields(path, current, review.data);
      // A reference this run anonymized that the live document has anonymized already: its tombstone stands.
      for (const field of review.anonymized) {
        const tombstone = valueAt(current, field);
        if (isTombstone(tombstone)) data = withValueAt(data, field, tombstone);
      }
      if (sameValue(current, data)) {
        this.report.identical += 1;
        return;
      }
      const updatedAt = live.updateTime?.toDate() ?? new Date(0);
      const overwriteRefusal = this.deps.guard.overwriteRefusal(path, current, data);
      if (!this.args.overwriteChanged || overwriteRefusal) {
        if (overwriteRefusal) this.report.refused.push({ path, reason: overwriteRefusal });
        else this.report.changed.push({ path, updatedAt: updatedAt.toISOString() });
        return;
      }
      if (!this.args.dryRun) await this.overwrite(ref, live, data);
      this.report.overwritten.push(path);
    } catch (error) {
      if (error instanceof ChangedMeanwhile || isAlreadyExists(error)) this.report.changedMeanwhile.push(path);
      else this.report.failed.push({ path, error: describeError(error) });
    }
  }

  /** Creates the live document (fails with ALREADY_EXISTS if it exists by now). */
  private async create(ref: DocumentReference, data: DocumentData): Promise<void> {
    const org = this.organizationOf(ref);
    if (!org) {
      await ref.create(data);
      return;
    }
    await this.deps.target.runTransaction(async (tx) => {
      const [orgNow, now] = await tx.getAll(org, ref);
      if (now.exists) throw new ChangedMeanwhile();
      tx.create(ref, withAccessOf(orgNow, data));
    });
  }

  /** Replaces the live document only if it is still the version this run compared. */
  private async overwrite(ref: DocumentReference, live: DocumentSnapshot, data: DocumentData): Promise<void> {
    const org = this.organizationOf(ref);
    await this.deps.target.runTransaction(async (tx) => {
      const [now, orgNow] = await tx.getAll(ref, ...(org ? [org] : []));
      if (!now.exists || !live.updateTime || !now.updateTime?.isEqual(live.updateTime)) throw new ChangedMeanwhile();
      tx.set(ref, orgNow ? withAccessOf(orgNow, data) : data);
    });
  }

  /**
   * The live organization of a member document (null for any other). A member's access is the organization's as
   * the transaction writing the member reads it: a change since the guard's review (a lapse, a deletion request)
   * is the one written, and one committing meanwhile conflicts with that read, so one of the two retries.
   */
  private organizationOf(ref: DocumentReference): DocumentReference | null {
    const orgId = memberOrgOf(ref.path);
    return orgId === null ? null : this.deps.target.doc(paths.org(orgId));
  }
}

class ChangedMeanwhile extends Error {}

/** A member's data with the access of its live organization `org` (as it was, if there is no such document). */
function withAccessOf(org: DocumentSnapshot, member: DocumentData): DocumentData {
  const access = accessOf(org);
  return access ? { ...member, access } : member;
}

/** Copy order: path segment by segment, each in Firestore's id order; a document comes before what is below it. */
export function comparePaths(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const order = compareDocumentIds(left[i], right[i]);
    if (order !== 0) return order;
  }
  return left.length - right.length;
}

/** The value with its document references pointing into `target` (a reference names its database). */
function rebase(value: unknown, target: Firestore): unknown {
  if (value instanceof DocumentReference) return target.doc(value.path);
  if (Array.isArray(value)) return value.map((item) => rebase(item, target));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, rebase(item, target)]));
  return value;
}

/** Firestore equality of two field values (references by path, timestamps and points by value). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof DocumentReference || b instanceof DocumentReference) {
    return a instanceof DocumentReference && b instanceof DocumentReference && a.path === b.path;
  }
  if (a instanceof Timestamp || b instanceof Timestamp) return a instanceof Timestamp && b instanceof Timestamp && a.isEqual(b);
  if (a instanceof GeoPoint || b instanceof GeoPoint) return a instanceof GeoPoint && b instanceof GeoPoint && a.isEqual(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  if (isPlainObject(a) || isPlainObject(b)) {
    if (!isPlainObject(a) || !isPlainObject(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => key in b && sameValue(a[key], b[key]));
  }
  return isDeepStrictEqual(a, b);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}
