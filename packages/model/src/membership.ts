import { z } from 'zod';
import { displayNameInputSchema, docIdSchema, emailSchema, roleSchema, schemaVersionSchema, timestampSchema, uidSchema } from './common';
import { brandingSchema, orgLimits } from './org';

/** Roles an invitation can grant: ownership only moves by transfer. */
export const invitableRoleSchema = roleSchema.exclude(['owner']);
export type InvitableRole = z.infer<typeof invitableRoleSchema>;

/**
 * Lower-cases the ASCII letters only. Firebase Auth matches addresses case-insensitively, but Unicode
 * lower-casing would also fold look-alikes into ASCII (the Kelvin sign U+212A becomes "k"), so that an address
 * no one verified would match an invited one.
 */
export function canonicalEmail(address: string): string {
  return address.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

/**
 * E-mail addresses as membership compares them: trimmed, checked to be a plain ASCII address (what the pattern
 * accepts, before any case folding: anything else is refused), then ASCII-lower-cased, so an invitation for
 * "Ana@Example.com" is accepted by ana@example.com and by nothing that only folds into it.
 */
export const normalizedEmailSchema = z.string().trim().pipe(emailSchema).transform(canonicalEmail);

/** An invitation token: 32 random bytes, base64url without padding. */
export const inviteTokenSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be an invitation token');

/** An expired invitation (it holds the invitee's e-mail address) is deleted 7 days after it expires. */
export const INVITE_RETENTION_AFTER_EXPIRY_DAYS = 7;
/** Days from expiry to an invitation's `deleteAt`: one TTL delay (Firestore deletes within 24 hours) inside the
 *  7 days, so that TTL is done by then; the retention job deletes what is left at 7 days. */
export const INVITE_TTL_AFTER_EXPIRY_DAYS = INVITE_RETENTION_AFTER_EXPIRY_DAYS - 1;

/**
 * `orgs/{orgId}/invites/{inviteId}`: server-only, one per invited address (the id is derived from the
 * address, so re-inviting replaces). The token itself is never stored, only its sha256; the invitation is
 * deleted when accepted (single use) or revoked. Version 2 added `schemaVersion` itself (version 1: the shape
 * before it, read the same).
 */
export const INVITE_VERSION = 2;
export const inviteSchema = z.strictObject({
  schemaVersion: schemaVersionSchema,
  email: normalizedEmailSchema,
  role: invitableRoleSchema,
  tokenHash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest'),
  invitedBy: uidSchema,
  createdAt: timestampSchema,
  expiresAt: timestampSchema,
  /** The collection's TTL field (firestore.indexes.json): `expiresAt` + INVITE_TTL_AFTER_EXPIRY_DAYS. Written on
   *  every invitation; invitations written before it existed lack it (the retention job deletes those). */
  deleteAt: timestampSchema.optional(),
});
export type Invite = z.infer<typeof inviteSchema>;

/** Privileged actions that leave an audit entry (P14). */
export const auditActions = [
  'org.created',
  'org.updated',
  'config.changed',
  'contact.deleted',
  'org.deletion_requested',
  'org.deletion_cancelled',
  'member.invited',
  'member.invite_revoked',
  'member.joined',
  'member.role_changed',
  'member.removed',
  'member.left',
  'org.ownership_transferred',
  'billing.checkout_started',
  'billing.portal_opened',
  'billing.subscription_changed',
  'privacy.org_exported',
  'privacy.member_exported',
  'privacy.contact_erased',
  'account.deleted',
] as const;
export const auditActionSchema = z.enum(auditActions);

/**
 * `orgs/{orgId}/auditLog/{entryId}`: who did what to whom, when. `details` holds ids, roles and counts only:
 * never message content or contact data. Version 2 added `schemaVersion` itself (version 1: the shape before it,
 * read the same).
 */
export const AUDIT_ENTRY_VERSION = 2;
export const auditEntrySchema = z.strictObject({
  schemaVersion: schemaVersionSchema,
  action: auditActionSchema,
  actorUid: uidSchema,
  targetUid: uidSchema.optional(),
  targetId: z.string().max(1500).optional(),
  details: z.record(z.string().max(64), z.union([z.string().max(200), z.number(), z.boolean(), z.null()])).optional(),
  at: timestampSchema,
  /** The collection group's TTL field (firestore.indexes.json): `at` + LOG_TTL_DAYS. Entries written before it
   *  existed lack it; the retention job deletes every entry 180 days after `at` (P7). */
  expiresAt: timestampSchema.optional(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

// Arguments of the membership callables (functions/src/orgs), shared with the web client.

/**
 * A member's uid as an argument: also a document id, so no "/", not "." or "..", not `__reserved__` (a uid is at
 * most 128 characters, well under the 1500-byte id limit).
 */
const memberUidSchema = uidSchema.refine(
  (uid) => !uid.includes('/') && uid !== '.' && uid !== '..' && !/^__.*__$/.test(uid),
  'must be usable as a document id',
);

export const createOrganizationArgsSchema = z.strictObject({
  name: displayNameInputSchema(orgLimits.name),
  branding: brandingSchema.optional(),
});
export const inviteMemberArgsSchema = z.strictObject({
  orgId: docIdSchema,
  email: normalizedEmailSchema,
  role: invitableRoleSchema,
});
export const acceptInvitationArgsSchema = z.strictObject({
  orgId: docIdSchema,
  inviteId: docIdSchema,
  token: inviteTokenSchema,
});
export const revokeInvitationArgsSchema = z.strictObject({
  orgId: docIdSchema,
  inviteId: docIdSchema,
});
export const changeRoleArgsSchema = z.strictObject({
  orgId: docIdSchema,
  uid: memberUidSchema,
  role: invitableRoleSchema,
});
export const removeMemberArgsSchema = z.strictObject({
  orgId: docIdSchema,
  uid: memberUidSchema,
});
export const leaveOrganizationArgsSchema = z.strictObject({
  orgId: docIdSchema,
});
export const transferOwnershipArgsSchema = z.strictObject({
  orgId: docIdSchema,
  newOwnerUid: memberUidSchema,
});

/** `assignOwner` (operators): makes a member the owner, e.g. after the owner's account was deleted. */
export const assignOwnerArgsSchema = z.strictObject({
  orgId: docIdSchema,
  uid: memberUidSchema,
});

/** What `inviteMember` returns: the data of the accept link sent to the invitee. */
export interface InvitationLink {
  orgId: string;
  inviteId: string;
  token: string;
  /** ISO 8601. */
  expiresAt: string;
}
