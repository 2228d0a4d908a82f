import { Timestamp, type DocumentData, type DocumentSnapshot, type Firestore } from 'firebase-admin/firestore';
import type { Auth } from 'firebase-admin/auth';
import {
  accountDeletionRequestId,
  accountDeletionRequestSchema,
  auditEntrySchema,
  orgIdOf,
  orgDisplayFields,
  organizationSchema,
  paths,
  serverCollections,
  tombstoneSchema,
  type AccessState,
  type AuditEntry,
  type OrgCollection,
} from '@leadpulse/model';
import { newTombstone, personReferences } from '../accounts/account-deletion';
import { readDocument } from '../common/documents';
import { describeError } from '../common/logging';
import { orgReceiptId } from '../privacy/org-purge';

const orgAccessSchema = organizationSchema.pick({ access: true });
const members: OrgCollection = 'members';
const messages: OrgCollection = 'messages';
const invites: OrgCollection = 'invites';
/** The organization fields a copy may change on a live organization document; the rest is the server's. */
const copiedOrgFields: ReadonlySet<string> = new Set(orgDisplayFields);

/** What the restore needs from Firebase Auth (which a Firestore restore does not roll back). */
export interface UserDirectory {
  /** The uids among `uids` that have an Auth user now. */
  existingUids(uids: readonly string[]): Promise<Set<string>>;
}

/** Auth's batch lookup takes at most 100 identifiers. */
const AUTH_LOOKUP_BATCH = 100;

/** UserDirectory over firebase-admin's Auth (production, and tests against the Auth emulator). */
export function adminUserDirectory(auth: Auth): UserDirectory {
  return {
    async existingUids(uids) {
      const found = new Set<string>();
      for (let i = 0; i < uids.length; i += AUTH_LOOKUP_BATCH) {
        const result = await auth.getUsers(uids.slice(i, i + AUTH_LOOKUP_BATCH).map((uid) => ({ uid })));
        for (const user of result.users) found.add(user.uid);
      }
      return found;
    },
  };
}

/**
 * Top-level collections whose documents name an organization in `orgId` and that the purge cleans (billing's
 * closeOrgBilling: customer links removed, the ledger's org id dropped): a copy of a deleted organization's entry
 * would bring the link back.
 */
const orgNamingCollections: ReadonlySet<string> = new Set([serverCollections.stripeCustomers, serverCollections.stripeEvents]);

/** Audit actions after which a document is gone on purpose, and which document (by the entry's ids). */
function deletedOnPurpose(orgId: string, entry: AuditEntry): string[] {
  switch (entry.action) {
    case 'member.removed':
    case 'member.left':
      return entry.targetUid ? [paths.member(orgId, entry.targetUid)] : [];
    case 'contact.deleted':
    case 'privacy.contact_erased':
      return entry.targetId ? [paths.contact(orgId, entry.targetId)] : [];
    default:
      return [];
  }
}

interface OrgFacts {
  /** Why nothing of the organization may come back, or null. */
  deleted: string | null;
  /** Paths deleted on purpose after the restore point, from its audit log. */
  deletedPaths: Set<string>;
  /** Contacts erased or deleted after the restore point: their messages stay gone too (P11). */
  erasedContactIds: Set<string>;
  /** Members whose role changed after the restore point (role changes, ownership transfers), from its audit log. */
  roleChangedUids: Set<string>;
}

/** The members whose role the audit entry changed: a demoted or promoted member, both sides of a transfer. */
function roleChanged(entry: AuditEntry): string[] {
  if (entry.action === 'member.role_changed') return entry.targetUid ? [entry.targetUid] : [];
  if (entry.action !== 'org.ownership_transferred') return [];
  const previousOwner = entry.details?.previousOwnerUid;
  return [entry.targetUid, typeof previousOwner === 'string' ? previousOwner : undefined].filter((uid) => uid !== undefined);
}

/**
 * Decides, for documents of a restored database, which must not be written back into the live one because they
 * were deleted on purpose after the restore point: the live database (and Auth) say so. Facts are read once per
 * organization and person and cached for the run.
 */
export class RestoreGuard {
  private readonly orgs = new Map<string, Promise<OrgFacts>>();
  /** Per uid looked up: null, or why their documents stay gone and the tombstone that replaces their uid. */
  private readonly gonePeople = new Map<string, { reason: string; tombstone: string } | null>();

  constructor(
    private readonly live: Firestore,
    private readonly users: UserDirectory,
    private readonly restorePoint: Date,
  ) {}

  /**
   * For each restored document: why it must not be written back (null: it may be), and its data as it may be
   * written, with every reference to a deleted person replaced by a tombstone (P4: what the organization owns
   * stays, without who did it), `anonymized` naming the fields replaced.
   */
  async review(docs: ReadonlyArray<{ path: string; data: DocumentData }>): Promise<Map<string, Review>> {
    await this.lookUpPeople(docs.flatMap((doc) => [personOf(doc.path) ?? [], referencedUids(doc.path, doc.data)].flat()));
    const liveAccess = await this.liveAccessOf(docs.map((doc) => memberOrgOf(doc.path)).filter((orgId): orgId is string => orgId !== null));
    const reviews = new Map<string, Review>();
    for (const doc of docs) {
      // What cannot be checked (an unreadable audit entry, say) is not written: reported, and copied once fixed.
      const refusal = await this.refusal(doc.path, doc.data).catch((error: unknown) => `could not be checked: ${describeError(error)}`);
      const review = { refusal, ...this.anonymize(doc.path, doc.data) };
      // A member's access is a copy of the organization's (the rules read it there): it follows the live one, so a
      // membership copied back never has more access than the organization has now (read-only, none). The copy
      // reads it again in the transaction that writes the member.
      const access = liveAccess.get(memberOrgOf(doc.path) ?? '');
      if (access) review.data = { ...review.data, access };
      reviews.set(doc.path, review);
    }
    return reviews;
  }

  /** The access of each organization as the live database has it now (absent: no live organization document). */
  private async liveAccessOf(orgIds: readonly string[]): Promise<Map<string, AccessState>> {
    const distinct = [...new Set(orgIds)];
    if (distinct.length === 0) return new Map();
    const snapshots = await this.live.getAll(...distinct.map((orgId) => this.live.doc(paths.org(orgId))));
    const access = new Map<string, AccessState>();
    snapshots.forEach((snapshot, i) => {
      const orgAccess = accessOf(snapshot);
      if (orgAccess) access.set(distinct[i], orgAccess);
    });
    return access;
  }

  private anonymize(path: string, data: DocumentData): Pick<Review, 'data' | 'anonymized'> {
    const anonymized: string[] = [];
    let result = data;
    for (const field of referenceFields(path)) {
      const uid = valueAt(data, field);
      const tombstone = typeof uid === 'string' ? this.gonePeople.get(uid)?.tombstone : undefined;
      if (!tombstone) continue;
      result = withValueAt(result, field, tombstone);
      anonymized.push(field);
    }
    return { data: result, anonymized };
  }

  private async refusal(path: string, data: DocumentData): Promise<string | null> {
    const segments = path.split('/');
    if (segments[0] === serverCollections.deletionRequests) {
      return 'deletion requests are never copied back: the live database decides what is being deleted';
    }
    // Account deletion withdraws the invitations addressed to the person and records nothing that names them, so
    // no check could tell such an invitation from another: none comes back (they expire in days; send them again).
    if (orgIdOf(path) !== null && segments.length >= 4 && segments[2] === invites) {
      return 'invitations are never copied back: one may be addressed to a person deleted since; send it again';
    }
    const person = personOf(path);
    if (person) {
      const gone = this.gonePeople.get(person);
      if (gone) return gone.reason;
    }
    const namedOrg = orgNamingCollections.has(segments[0]) && typeof data.orgId === 'string' ? data.orgId : null;
    const orgId = orgIdOf(path) ?? namedOrg;
    if (!orgId) return null;
    const facts = await this.orgFacts(orgId);
    if (facts.deleted) return facts.deleted;
    if (facts.deletedPaths.has(path)) return 'deleted on purpose after the restore point (audit log)';
    if (segments.length === 4 && segments[2] === messages && typeof data.contactId === 'string' && facts.erasedContactIds.has(data.contactId)) {
      return 'message of a contact deleted or erased after the restore point (audit log)';
    }
    if (memberOrgOf(path) !== null && facts.roleChangedUids.has(segments[3])) {
      return 'member whose role changed after the restore point (audit log): the restored role is older';
    }
    return null;
  }

  /**
   * The restored organization document as it may replace the live `current` one: its display fields from the
   * restored copy, everything else (owner, plan, status, access, version...) as it is live, since the server moved
   * those on after the restore point. Any other document: `restored` as it is.
   */
  keepLiveFields(path: string, current: DocumentData, restored: DocumentData): DocumentData {
    const segments = path.split('/');
    if (segments.length !== 2 || segments[0] !== paths.orgs()) return restored;
    const pick = (data: DocumentData, copied: boolean) => Object.entries(data).filter(([field]) => copiedOrgFields.has(field) === copied);
    return Object.fromEntries([...pick(current, false), ...pick(restored, true)]);
  }

  /** Why the live `current` must not be replaced by the restored `restored` even when told to overwrite, or null. */
  overwriteRefusal(path: string, current: DocumentData, restored: DocumentData): string | null {
    const segments = path.split('/');
    if (segments[0] === serverCollections.marketingConsents && current.status === 'opted_out' && restored.status !== 'opted_out') {
      return 'would undo an opt-out made after the restore point (P9)';
    }
    return null;
  }

  /** Records, for each person not seen yet, why their documents must stay gone (or null). */
  private async lookUpPeople(uids: readonly string[]): Promise<void> {
    const unseen = [...new Set(uids)].filter((uid) => !this.gonePeople.has(uid));
    if (unseen.length === 0) return;
    const existing = await this.users.existingUids(unseen);
    const requests = await this.live.getAll(...unseen.map((uid) => this.live.doc(paths.deletionRequest(accountDeletionRequestId(uid)))));
    unseen.forEach((uid, i) => {
      if (requests[i].exists) {
        // A deletion still running has its tombstone already; one that finished left none that links back.
        let tombstone = newTombstone();
        try {
          tombstone = readDocument(accountDeletionRequestSchema, requests[i])?.tombstone ?? tombstone;
        } catch {
          // Unreadable (logged by readDocument): the person is still being deleted; a fresh tombstone links nothing.
        }
        this.gonePeople.set(uid, { reason: 'the account is being deleted', tombstone });
      } else if (!existing.has(uid)) this.gonePeople.set(uid, { reason: 'the account is deleted (no Auth user)', tombstone: newTombstone() });
      else this.gonePeople.set(uid, null);
    });
  }

  private orgFacts(orgId: string): Promise<OrgFacts> {
    let facts = this.orgs.get(orgId);
    if (!facts) {
      facts = this.readOrgFacts(orgId);
      this.orgs.set(orgId, facts);
    }
    return facts;
  }

  private async readOrgFacts(orgId: string): Promise<OrgFacts> {
    const empty = { deletedPaths: new Set<string>(), erasedContactIds: new Set<string>(), roleChangedUids: new Set<string>() };
    const [receipt, request] = await this.live.getAll(this.live.doc(paths.deletionReceipt(orgReceiptId(orgId))), this.live.doc(paths.deletionRequest(orgId)));
    if (receipt.exists) return { ...empty, deleted: 'the organization is deleted (deletion receipt)' };
    if (request.exists) return { ...empty, deleted: 'the organization is being deleted (deletion request)' };
    const deletedPaths = new Set<string>();
    const erasedContactIds = new Set<string>();
    const roleChangedUids = new Set<string>();
    const entries = await this.live.collection(paths.auditLog(orgId)).where('at', '>', Timestamp.fromDate(this.restorePoint)).get();
    for (const doc of entries.docs) {
      const entry = readDocument(auditEntrySchema, doc);
      if (!entry) continue;
      for (const deleted of deletedOnPurpose(orgId, entry)) deletedPaths.add(deleted);
      if ((entry.action === 'contact.deleted' || entry.action === 'privacy.contact_erased') && entry.targetId) erasedContactIds.add(entry.targetId);
      for (const uid of roleChanged(entry)) roleChangedUids.add(uid);
    }
    return { deleted: null, deletedPaths, erasedContactIds, roleChangedUids };
  }
}

export interface Review {
  refusal: string | null;
  data: DocumentData;
  anonymized: string[];
}

/** Whether `value` is a tombstone (a field account deletion already anonymized). */
export function isTombstone(value: unknown): boolean {
  return tombstoneSchema.safeParse(value).success;
}

/** The fields of the document at `path` that name a person by uid (account deletion's personReferences). */
function referenceFields(path: string): string[] {
  const segments = path.split('/');
  return personReferences
    .filter(({ source }) =>
      'collection' in source
        ? segments.length === 2 && segments[0] === source.collection
        : segments.length >= 4 && segments[segments.length - 2] === source.collectionGroup,
    )
    .map((reference) => reference.field);
}

function referencedUids(path: string, data: DocumentData): string[] {
  return referenceFields(path).flatMap((field) => {
    const value = valueAt(data, field);
    return typeof value === 'string' && !isTombstone(value) ? [value] : [];
  });
}

/** The value at a dotted field path (`details.invitedBy`). */
export function valueAt(data: DocumentData, field: string): unknown {
  let value: unknown = data;
  for (const key of field.split('.')) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

/** A copy of `data` with `value` at the dotted field path (copied along the path only). */
export function withValueAt(data: DocumentData, field: string, value: unknown): DocumentData {
  const [head, ...rest] = field.split('.');
  if (rest.length === 0) return { ...data, [head]: value };
  const inner: unknown = data[head];
  return { ...data, [head]: withValueAt(typeof inner === 'object' && inner !== null ? inner : {}, rest.join('.'), value) };
}

/** A live organization document's access: what its members' documents carry (undefined: no such document). */
export function accessOf(org: DocumentSnapshot): AccessState | undefined {
  try {
    return readDocument(orgAccessSchema, org)?.access;
  } catch {
    // Unreadable (logged by readDocument): its members come back without access until it is fixed.
    return 'none';
  }
}

/** The organization of a member document `orgs/{orgId}/members/{uid}`, or null. */
export function memberOrgOf(path: string): string | null {
  const segments = path.split('/');
  return segments.length === 4 && segments[0] === paths.orgs() && segments[2] === members ? segments[1] : null;
}

/** The person a document belongs to: `users/{uid}/**`, `marketingConsents/{uid}`, `orgs/{orgId}/members/{uid}`. */
export function personOf(path: string): string | null {
  const segments = path.split('/');
  if (segments[0] === paths.users() && segments.length >= 2) return segments[1];
  if (segments[0] === serverCollections.marketingConsents && segments.length === 2) return segments[1];
  if (segments[0] === paths.orgs() && segments.length === 4 && segments[2] === members) return segments[3];
  return null;
}
