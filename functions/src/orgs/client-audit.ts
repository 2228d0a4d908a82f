import { Timestamp, type DocumentSnapshot, type Firestore } from 'firebase-admin/firestore';
import { AUDIT_ENTRY_VERSION, auditEntrySchema, paths, type AuditEntry } from '@leadpulse/model';
import { isAlreadyExists } from '../common/firestore-errors';
import { auditExpiresAt } from './audit';

/**
 * The principal of a Firestore write, as a trigger "with auth context" reports it (`authType`, `authId`), and the
 * event's own id and time. Firebase's FirestoreAuthEvent has these fields.
 */
export interface WriteContext {
  id: string;
  time: string;
  authType: string;
  authId?: string;
}

/**
 * Writes through the Admin SDK (our own functions, which audit in their own transactions) and system deletions
 * (TTL) are not client changes; everything else is, whatever the principal (P14: the audit log covers every
 * privileged change, whichever way it was made).
 */
const serverPrincipals: ReadonlySet<string> = new Set(['service_account', 'system']);

export interface ClientAuditDeps {
  db: Firestore;
}

/**
 * Records one privileged change a client made directly in Firestore (the rules allowed it), with the acting
 * user from the event's auth context. The entry id derives from the event id, so a redelivered event finds its
 * entry already there and leaves it as it is (possibly stamped with a newer version by a newer release). Returns
 * whether the change is audited.
 */
async function recordClientChange(
  deps: ClientAuditDeps,
  event: WriteContext,
  orgId: string,
  entry: Omit<AuditEntry, 'schemaVersion' | 'actorUid' | 'at' | 'expiresAt'>,
): Promise<boolean> {
  if (serverPrincipals.has(event.authType)) return false;
  const actorUid = event.authId ?? `principal:${event.authType}`;
  const time = new Date(event.time);
  const entryData = { schemaVersion: AUDIT_ENTRY_VERSION, ...entry, actorUid, at: Timestamp.fromDate(time), expiresAt: auditExpiresAt(time) };
  try {
    await deps.db.doc(paths.auditEntry(orgId, `client-${event.id}`)).create(auditEntrySchema.parse(entryData));
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  return true;
}

/** The display fields a client may change on an organization (firestore.rules). */
const organizationDisplayFields = ['name', 'branding'] as const;

/** `org.updated`: an owner or admin renamed the organization or changed its branding; names the fields, not values. */
export async function auditOrganizationUpdate(
  deps: ClientAuditDeps,
  event: WriteContext & { params: { orgId: string }; data?: { before: DocumentSnapshot; after: DocumentSnapshot } },
): Promise<boolean> {
  if (!event.data) return false;
  const { before, after } = event.data;
  const changed = organizationDisplayFields.filter((field) => JSON.stringify(before.get(field)) !== JSON.stringify(after.get(field)));
  if (changed.length === 0) return false;
  return recordClientChange(deps, event, event.params.orgId, { action: 'org.updated', targetId: event.params.orgId, details: { fields: changed.join(',') } });
}

/** `config.changed`: account configuration created, updated or deleted. */
export async function auditConfigWrite(
  deps: ClientAuditDeps,
  event: WriteContext & { params: { orgId: string; configId: string }; data?: { before: DocumentSnapshot; after: DocumentSnapshot } },
): Promise<boolean> {
  if (!event.data) return false;
  const { before, after } = event.data;
  const change = !before.exists ? 'created' : !after.exists ? 'deleted' : 'updated';
  return recordClientChange(deps, event, event.params.orgId, { action: 'config.changed', targetId: event.params.configId, details: { change } });
}

/** `contact.deleted`: a manager deleted a contact; the id only, never its data. */
export async function auditContactDeletion(deps: ClientAuditDeps, event: WriteContext & { params: { orgId: string; contactId: string } }): Promise<boolean> {
  return recordClientChange(deps, event, event.params.orgId, { action: 'contact.deleted', targetId: event.params.contactId });
}
