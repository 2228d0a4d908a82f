/**
 * Production's BulkWriter pacing, simulated on a controlled clock with the SDK's own rate limiter: a BulkWriter
 * starts at 500 operations/s and multiplies that by 1.5 every 5 minutes up to 10,000/s (the 500/50/5 rule), and
 * sends its writes in batches of 20. Each BulkWriter starts its own ramp: every function invocation (and every
 * `withBulkWriter` call in it) starts again at 500/s.
 */
import { DEFAULT_INITIAL_OPS_PER_SECOND_LIMIT, DEFAULT_MAXIMUM_OPS_PER_SECOND_LIMIT } from '@google-cloud/firestore/build/src/bulk-writer';
import { RateLimiter } from '@google-cloud/firestore/build/src/rate-limiter';

/** Not exported by the SDK (bulk-writer.js: RATE_LIMITER_MULTIPLIER, RATE_LIMITER_MULTIPLIER_MILLIS, MAX_BATCH_SIZE). */
const RAMP_MULTIPLIER = 1.5;
const RAMP_PERIOD_MS = 5 * 60 * 1000;
const BULK_BATCH_SIZE = 20;

const HOUR_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * HOUR_MS;

export interface PurgeModel {
  documents: number;
  /** Documents listed, counted into the request and deleted per page (org-purge.ts). */
  pageSize: number;
  /** Time of one page besides BulkWriter's pacing: the listing query, the counting transaction, round trips. */
  pageOverheadMs: number;
  /** The purge's share of the run: it starts no page after this long (shouldPause); the next run resumes it. */
  budgetMs: number;
  /** The schedule: one invocation per period. */
  periodMs: number;
  /** The first invocation after the request (the grace period, plus up to one period to the next run). */
  firstRunAfterMs: number;
}

export interface PurgeTimeline {
  invocations: number;
  /** From the deletion request to the last document deleted. */
  doneAfterMs: number;
  /** Documents deleted by the first invocation. */
  firstInvocationDocuments: number;
}

/** Deletes `count` documents through a rate limiter from `startMs`; returns the time the last batch was sent. */
function paceDeletes(limiter: RateLimiter, count: number, startMs: number): number {
  let now = startMs;
  for (let sent = 0; sent < count; sent += BULK_BATCH_SIZE) {
    const batch = Math.min(BULK_BATCH_SIZE, count - sent);
    while (!limiter.tryMakeRequest(batch, now)) {
      const delay = limiter.getNextRequestDelayMs(batch, now);
      if (delay < 0) throw new Error(`a batch of ${batch} exceeds the limiter's capacity`);
      now += Math.max(1, delay);
    }
  }
  return now;
}

/** Runs the purge invocation by invocation on a simulated clock (time 0 = the deletion request). */
export function simulatePurge(model: PurgeModel): PurgeTimeline {
  let remaining = model.documents;
  let invocationStart = model.firstRunAfterMs;
  let invocations = 0;
  let firstInvocationDocuments = 0;
  for (;;) {
    invocations += 1;
    const limiter = new RateLimiter(
      DEFAULT_INITIAL_OPS_PER_SECOND_LIMIT,
      RAMP_MULTIPLIER,
      RAMP_PERIOD_MS,
      DEFAULT_MAXIMUM_OPS_PER_SECOND_LIMIT,
      invocationStart,
    );
    const pauseAfter = invocationStart + model.budgetMs;
    let now = invocationStart;
    while (remaining > 0 && now <= pauseAfter) {
      const page = Math.min(model.pageSize, remaining);
      now = paceDeletes(limiter, page, now + model.pageOverheadMs);
      remaining -= page;
      if (invocations === 1) firstInvocationDocuments += page;
    }
    if (remaining === 0) return { invocations, doneAfterMs: now, firstInvocationDocuments };
    if (invocations > 10_000) throw new Error('the purge makes no progress');
    invocationStart += model.periodMs;
  }
}

/** Seconds to send `count` writes through one fresh BulkWriter at production's ramp (no other overhead). */
export function rampSeconds(count: number): number {
  const limiter = new RateLimiter(DEFAULT_INITIAL_OPS_PER_SECOND_LIMIT, RAMP_MULTIPLIER, RAMP_PERIOD_MS, DEFAULT_MAXIMUM_OPS_PER_SECOND_LIMIT, 0);
  return paceDeletes(limiter, count, 0) / 1000;
}
