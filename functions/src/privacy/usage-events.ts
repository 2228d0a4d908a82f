import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import { paths, serverCollections, usageEventRecordSchema, usageEventSchema, type UsageEventRecord } from '@leadpulse/model';
import { parseArgs, type Caller } from '../common/callable';
import type { Clock } from '../common/clock';

export interface UsageEventDeps {
  db: Firestore;
  clock: Clock;
}

/**
 * `recordUsageEvent` (signed-in users, P8): accepts only the allow-listed vocabulary of usageEventSchema (unknown
 * fields, e-mail addresses, phone numbers and free text are refused, naming the field, and nothing is stored).
 * The caller must be signed in, but who they are is not stored: the record holds the event and when it arrived.
 */
export async function recordUsageEvent(deps: UsageEventDeps, _signedIn: Caller, data: unknown): Promise<{ recorded: true }> {
  const payload = parseArgs(usageEventSchema, data);
  const ref = deps.db.collection(serverCollections.usageEvents).doc();
  const record: UsageEventRecord = usageEventRecordSchema.parse({ payload, receivedAt: Timestamp.fromDate(deps.clock()) });
  await deps.db.doc(paths.usageEvent(ref.id)).create(record);
  return { recorded: true };
}
