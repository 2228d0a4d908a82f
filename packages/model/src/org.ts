import { z } from 'zod';
import { accessStateSchema, roleSchema, timestampSchema, uidSchema, emailSchema } from './common';

export const orgStatusSchema = z.enum(['active', 'deleting']);

/** Fields owners and admins may change from the client; everything else on the organization is server-owned. */
export const orgDisplayFields = ['name', 'branding'] as const;

export const brandingSchema = z.strictObject({
  primaryColor: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a #RRGGBB colour').optional(),
  logoUrl: z.string().url().max(2048).startsWith('https://', 'must be an https URL').optional(),
});

/** `orgs/{orgId}` */
export const organizationSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  branding: brandingSchema.optional(),
  ownerUid: uidSchema,
  plan: z.string().min(1).max(64),
  status: orgStatusSchema,
  access: accessStateSchema,
  createdAt: timestampSchema,
  deletionRequestedAt: timestampSchema.optional(),
});
export type Organization = z.infer<typeof organizationSchema>;

/** `orgs/{orgId}/members/{uid}`: written only by the server. `access` mirrors the organization's. */
export const memberSchema = z.strictObject({
  uid: uidSchema,
  orgId: z.string().min(1),
  role: roleSchema,
  access: accessStateSchema,
  email: emailSchema,
  displayName: z.string().max(100).optional(),
  joinedAt: timestampSchema,
});
export type Member = z.infer<typeof memberSchema>;
