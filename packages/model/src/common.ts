import { z } from 'zod';

/**
 * A Firestore Timestamp from either SDK (firebase-admin's or the web client's): both expose seconds,
 * nanoseconds and toMillis(). Structural, so this package needs neither SDK.
 */
export interface TimestampLike {
  seconds: number;
  nanoseconds: number;
  toMillis(): number;
}
export const timestampSchema = z.custom<TimestampLike>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as TimestampLike).seconds === 'number' &&
    typeof (value as TimestampLike).nanoseconds === 'number' &&
    typeof (value as TimestampLike).toMillis === 'function',
  { message: 'expected a Firestore Timestamp' },
);

/** Firebase Auth uids are at most 128 characters. */
export const uidSchema = z.string().min(1).max(128);
/** Ids the server or the client generates for documents (Firestore auto-ids are 20 characters). */
export const docIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'must contain only letters, digits, "_" and "-"');
export const emailSchema = z.string().max(320).email();

export const roles = ['owner', 'admin', 'member', 'viewer'] as const;
export const roleSchema = z.enum(roles);
export type Role = z.infer<typeof roleSchema>;

/**
 * What members of an organization may do, derived in one place (orgs/access-state) from the organization's
 * status and billing; copied onto every member document so that the rules decide with one lookup.
 * full: read and write; read_only: billing lapsed past grace; none: the organization is being deleted.
 */
export const accessStates = ['full', 'read_only', 'none'] as const;
export const accessStateSchema = z.enum(accessStates);
export type AccessState = z.infer<typeof accessStateSchema>;
