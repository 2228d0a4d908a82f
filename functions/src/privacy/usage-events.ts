import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import {
  paths,
  serverCollections,
  LOG_TTL_DAYS,
  randomUsageEventShard,
  USAGE_EVENT_RECORD_VERSION,
  usageEventRecordSchema,
  usageEventSchema,
  type UsageEventRecord,
} from '@leadpulse/model';
import { parseArgs, type Caller } from '../common/callable';
import type { Clock } from '../common/clock';
import { chargeRateLimits, usageEventLimits } from '../common/rate-limit';
import { DAY_MS } from './config';

export interface UsageEventDeps {
  db: Firestore;
  clock: Clock;
}

/**
 * `recordUsageEvent` (signed-in users, P8): accepts only the allow-listed vocabulary of usageEventSchema (unknown
 * fields, e-mail addresses, phone numbers and free text are refused, naming the field, and nothing is stored).
 * The caller must be signed in, but who they are is not stored: the record holds the event and when it arrived.
 * Rate-limited per person (usageEventLimits: `resource-exhausted`).
 */
export async function recordUsageEvent(deps: UsageEventDeps, signedIn: Caller, data: unknown): Promise<{ recorded: true }> {
  const payload = parseArgs(usageEventSchema, data);
  const { db } = deps;
  const ref = db.collection(serverCollections.usageEvents).doc();
  await db.runTransaction(async (tx) => {
    const now = deps.clock();
    // The person is counted under a hash, in a counter apart from the event: the event still names no one.
    const count = await chargeRateLimits(db, tx, [{ limit: usageEventLimits.perUser, subject: signedIn.uid }], now);
    const record: UsageEventRecord = usageEventRecordSchema.parse({
      schemaVersion: USAGE_EVENT_RECORD_VERSION,
      shard: randomUsageEventShard(),
      payload,
      receivedAt: Timestamp.fromDate(now),
      expiresAt: Timestamp.fromMillis(now.getTime() + LOG_TTL_DAYS * DAY_MS),
    });
    count();
    tx.create(db.doc(paths.usageEvent(ref.id)), record);
  });
  return { recorded: true };
}
