import { z } from 'zod';
import { emailSchema, roleSchema, timestampSchema, uidSchema } from './common';

/** Roles an invitation can grant: ownership only moves by transfer. */
export const invitableRoleSchema = roleSchema.exclude(['owner']);

/** `orgs/{orgId}/invites/{inviteId}`: server-only. The token itself is never stored, only its hash. */
export const inviteSchema = z.strictObject({
  email: emailSchema,
  role: invitableRoleSchema,
  tokenHash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest'),
  invitedBy: uidSchema,
  createdAt: timestampSchema,
  expiresAt: timestampSchema,
});
export type Invite = z.infer<typeof inviteSchema>;

/** Privileged actions that leave an audit entry (P14). */
export const auditActions = [
  'org.created',
  'org.updated',
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
 * never message content or contact data.
 */
export const auditEntrySchema = z.strictObject({
  action: auditActionSchema,
  actorUid: uidSchema,
  targetUid: uidSchema.optional(),
  targetId: z.string().max(1500).optional(),
  details: z.record(z.string().max(64), z.union([z.string().max(200), z.number(), z.boolean(), z.null()])).optional(),
  at: timestampSchema,
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;
