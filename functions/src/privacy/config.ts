import { HttpsError } from 'firebase-functions/v2/https';
import { z } from 'zod';

export const DAY_MS = 24 * 60 * 60 * 1000;

/** P5: everything under a deleted organization is gone within this many days of the request. */
export const DELETION_DEADLINE_DAYS = 30;
/** Days the owner may still cancel an organization deletion, by default. */
export const DEFAULT_ORG_DELETION_GRACE_DAYS = 7;

/**
 * The grace period leaves at least a day between its end and the deadline, for the retention job (which
 * runs several times a day) to purge.
 */
export const graceDaysSchema = z
  .number()
  .int()
  .min(0)
  .max(DELETION_DEADLINE_DAYS - 1);

export function checkGraceDays(graceDays: number): number {
  if (!graceDaysSchema.safeParse(graceDays).success) {
    throw new HttpsError('internal', `ORG_DELETION_GRACE_DAYS must be an integer from 0 to ${DELETION_DEADLINE_DAYS - 1}, got ${graceDays}`);
  }
  return graceDays;
}

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}
