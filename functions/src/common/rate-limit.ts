import { createHash } from 'node:crypto';
import { Timestamp, type Firestore, type Transaction } from 'firebase-admin/firestore';
import { HttpsError } from 'firebase-functions/v2/https';
import { paths, RATE_LIMIT_COUNTER_VERSION, rateLimitCounterSchema, stampedVersion } from '@leadpulse/model';
import { readDocument } from './documents';

/** At most `limit` calls per `windowMs` for one subject. */
export interface RateLimit {
  /** Names the limit in counter ids and in the error. */
  name: string;
  limit: number;
  windowMs: number;
}

/** Exports are heavy (a whole organization, streamed): a few per hour per person and per organization. */
export const exportLimits = {
  perUser: { name: 'export-user', limit: 10, windowMs: 60 * 60 * 1000 },
  perOrg: { name: 'export-org', limit: 20, windowMs: 60 * 60 * 1000 },
} as const satisfies Record<string, RateLimit>;

/**
 * Usage events: per person only, as events carry no organization (P8). One counter document per person and
 * window, so a person's events serialize on it: the limit stays well under Firestore's sustained rate for one
 * document (about one write a second) averaged over the window.
 */
export const usageEventLimits = {
  perUser: { name: 'usage-user', limit: 300, windowMs: 10 * 60 * 1000 },
} as const satisfies Record<string, RateLimit>;

/** The counter of `limit` for `subject`: the subject is hashed, so no uid or organization id is stored. */
function counterId(limit: RateLimit, subject: string): string {
  return `${limit.name}-${createHash('sha256').update(subject).digest('hex').slice(0, 32)}`;
}

/**
 * Counts one call against each (limit, subject) inside `tx`: reads the counters (call before the transaction's
 * first write) and returns the function that stages their writes. A limit already reached throws
 * `resource-exhausted` with `details.retryAfterSeconds`, and nothing is counted. Fixed windows: a window starts
 * at the first call after the previous one ended.
 */
export async function chargeRateLimits(
  db: Firestore,
  tx: Transaction,
  charges: ReadonlyArray<{ limit: RateLimit; subject: string }>,
  now: Date,
): Promise<() => void> {
  const refs = charges.map(({ limit, subject }) => db.doc(paths.rateLimit(counterId(limit, subject))));
  const snapshots = refs.length === 0 ? [] : await tx.getAll(...refs);
  const writes = charges.map(({ limit }, i) => {
    const counter = readDocument(rateLimitCounterSchema, snapshots[i]);
    const current = counter && counter.windowStart.toMillis() + limit.windowMs > now.getTime() ? counter : null;
    if (current && current.count >= limit.limit) {
      const retryAfterSeconds = Math.ceil((current.windowStart.toMillis() + limit.windowMs - now.getTime()) / 1000);
      throw new HttpsError(
        'resource-exhausted',
        `too many requests (${limit.name}: ${limit.limit} per ${limit.windowMs / 60_000} minutes); retry in ${retryAfterSeconds} s`,
        {
          retryAfterSeconds,
        },
      );
    }
    const windowStart = current ? current.windowStart : Timestamp.fromDate(now);
    const next = rateLimitCounterSchema.parse({
      // Never lowers the version a newer release stamped (rolling deploy, rollback).
      schemaVersion: stampedVersion(counter?.schemaVersion, RATE_LIMIT_COUNTER_VERSION),
      windowStart,
      count: (current?.count ?? 0) + 1,
      expiresAt: Timestamp.fromMillis(windowStart.toMillis() + limit.windowMs),
    });
    return () => tx.set(refs[i], next);
  });
  return () => writes.forEach((write) => write());
}
