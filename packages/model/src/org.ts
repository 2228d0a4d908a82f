import { z } from 'zod';
import {
  accessStateSchema,
  displayNameSchema,
  emailSchema,
  httpsUrlSchema,
  roleSchema,
  schemaVersionSchema,
  storedSchemaVersionSchema,
  timestampSchema,
  uidSchema,
} from './common';

export const orgStatusSchema = z.enum(['active', 'deleting']);

/** Fields owners and admins may change from the client; everything else on the organization is server-owned. */
export const orgDisplayFields = ['name', 'branding'] as const;

export const orgLimits = { name: 100 } as const;

export const brandingSchema = z.strictObject({
  primaryColor: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'must be a #RRGGBB colour')
    .optional(),
  logoUrl: httpsUrlSchema.optional(),
});

/** `orgs/{orgId}`. Version 2 added `schemaVersion` itself (version 1: the shape before it, read the same). */
export const ORGANIZATION_VERSION = 2;
export const organizationSchema = z.strictObject({
  schemaVersion: schemaVersionSchema,
  name: displayNameSchema(orgLimits.name),
  branding: brandingSchema.optional(),
  ownerUid: uidSchema,
  plan: z.string().min(1).max(64),
  status: orgStatusSchema,
  access: accessStateSchema,
  createdAt: timestampSchema,
  deletionRequestedAt: timestampSchema.optional(),
});
export type Organization = z.infer<typeof organizationSchema>;

/**
 * What the server's own flows read of an organization (billing, the grace sweep, deletion, membership): never
 * the display fields, so a display field gone bad blocks none of them. With the stored version, which a write
 * never lowers.
 */
export const organizationStateSchema = organizationSchema
  .pick({ ownerUid: true, plan: true, status: true, access: true })
  .extend({ schemaVersion: storedSchemaVersionSchema });
export type OrganizationState = z.infer<typeof organizationStateSchema>;

/** What a client may send to update `orgs/{orgId}`: display fields only (firestore.rules checks the same). */
export const organizationDisplayUpdateSchema = organizationSchema.pick({ name: true, branding: true }).partial();
export type OrganizationDisplayUpdate = z.infer<typeof organizationDisplayUpdateSchema>;

/**
 * `orgs/{orgId}/members/{uid}`: written only by the server. The document id is the member's uid, repeated in
 * `uid` so that a collection-group query can find a person's memberships (rules allow it only for their own
 * uid). `access` mirrors the organization's, so the rules decide membership, role and state with one lookup.
 * Version 2 added `schemaVersion` itself (version 1: the shape before it, read the same).
 */
export const MEMBER_VERSION = 2;
export const memberSchema = z.strictObject({
  schemaVersion: schemaVersionSchema,
  uid: uidSchema,
  orgId: z.string().min(1),
  role: roleSchema,
  access: accessStateSchema,
  email: emailSchema,
  /** From the Auth token, normalized by the server (memberDisplayName): no control, format or bidi characters. */
  displayName: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u, 'must contain no control, format or bidirectional characters')
    .optional(),
  joinedAt: timestampSchema,
});
export type Member = z.infer<typeof memberSchema>;

/**
 * A member's display name as shown in the member list, from the untrusted `name` of the Auth token: Unicode
 * NFC, control and format characters (bidirectional overrides and isolates, zero-width characters) removed, any
 * run of whitespace made one space, trimmed, at most 100 UTF-16 units without splitting a character. Null when
 * nothing is left. Removing rather than refusing: the person cannot fix a name their identity provider sends.
 */
export function memberDisplayName(name: string): string | null {
  const cleaned = name
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}]/gu, (character) => (/\s/u.test(character) ? ' ' : ''))
    .replace(/\s+/gu, ' ')
    .trim();
  let bounded = '';
  for (const character of cleaned) {
    if (bounded.length + character.length > 100) break;
    bounded += character;
  }
  bounded = bounded.trim();
  return bounded === '' ? null : bounded;
}
