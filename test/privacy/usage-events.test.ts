/**
 * P8: usage analytics accept only the allow-listed vocabulary. Unknown fields and values that look like e-mail
 * addresses, phone numbers or free text are refused with an error naming the field, and nothing is stored.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import {
  randomUsageEventShard,
  serverCollections,
  USAGE_EVENT_RECORD_VERSION,
  USAGE_EVENT_SHARDS,
  usageEventRecordSchema,
  usageEventShards,
} from '@leadpulse/model';
import { recordUsageEvent, type UsageEventDeps } from '../../functions/src/privacy/usage-events';
import { expectRefusedWithoutChange } from '../support/snapshot';
import { caller, freshProject, manualClock } from './support';

let db: Firestore;
let close: () => Promise<void>;
let deps: UsageEventDeps;
const user = caller('user-42');

beforeEach(() => {
  ({ db, close } = freshProject('privacy-usage'));
  deps = { db, clock: manualClock().clock };
});
afterEach(async () => close());

async function storedEvents() {
  return (await db.collection(serverCollections.usageEvents).get()).docs.map((doc) => doc.data());
}

describe('recordUsageEvent', () => {
  it('stores an allowed event with its arrival time and nothing about who sent it', async () => {
    const events = [
      {
        event: 'feature_used',
        feature: 'contacts.import',
        durationMs: 1200,
        client: { browserFamily: 'firefox', osFamily: 'linux', deviceClass: 'desktop', appVersion: '2.14.0' },
      },
      { event: 'page_viewed', page: 'pipeline', client: { appVersion: '10.0.12' } },
      { event: 'session_ended', durationMs: 600_000, client: { deviceClass: 'mobile' } },
    ];
    for (const event of events) expect(await recordUsageEvent(deps, user, event)).toEqual({ recorded: true });
    const stored = await storedEvents();
    expect(stored).toHaveLength(3);
    for (const record of stored) {
      expect(Object.keys(record).sort()).toEqual(['expiresAt', 'payload', 'receivedAt', 'schemaVersion', 'shard']);
      expect(record.schemaVersion).toBe(USAGE_EVENT_RECORD_VERSION);
      expect(usageEventShards).toContain(record.shard);
      usageEventRecordSchema.parse(record);
    }
    expect(stored.map((record) => record.payload)).toEqual(expect.arrayContaining(events));
    expect(JSON.stringify(stored)).not.toContain('user-42');
  });

  const refused: Array<[string, unknown, string, RegExp]> = [
    ['an unknown top-level field', { event: 'page_viewed', page: 'contacts', contactEmail: 'x' }, 'contactEmail', /Unrecognized key: "contactEmail"/],
    [
      'an unknown client field',
      { event: 'page_viewed', page: 'contacts', client: { userAgent: 'Mozilla/5.0' } },
      'client.userAgent',
      /Unrecognized key: "userAgent"/,
    ],
    ['message content as a field', { event: 'feature_used', feature: 'messages.send', body: 'Hi Ann' }, 'body', /Unrecognized key: "body"/],
    ['an e-mail address as a value', { event: 'feature_used', feature: 'ann@client.example' }, 'feature', /looks like an e-mail address/],
    ['a phone number as a value', { event: 'page_viewed', page: '+1 (415) 555-0100' }, 'page', /looks like a phone number/],
    ['a phone number without separators', { event: 'page_viewed', page: '4155550100' }, 'page', /looks like a phone number/],
    ['free text as a value', { event: 'feature_used', feature: 'call Ann back tomorrow' }, 'feature', /looks like free text/],
    [
      'free text in the client',
      { event: 'page_viewed', page: 'contacts', client: { browserFamily: 'my new browser' } },
      'client.browserFamily',
      /looks like free text/,
    ],
    [
      'an e-mail address as the version',
      { event: 'page_viewed', page: 'contacts', client: { appVersion: 'a@b.co' } },
      'client.appVersion',
      /looks like an e-mail address/,
    ],
    [
      'a phone number shaped like a version',
      { event: 'page_viewed', page: 'contacts', client: { appVersion: '612.345.678' } },
      'client.appVersion',
      /looks like a phone number/,
    ],
    [
      'a version with a leading zero',
      { event: 'page_viewed', page: 'contacts', client: { appVersion: '01.2.3' } },
      'client.appVersion',
      /must be a version like 1.4.2/,
    ],
    [
      'a version part of three digits',
      { event: 'page_viewed', page: 'contacts', client: { appVersion: '1.2.345' } },
      'client.appVersion',
      /must be a version like 1.4.2/,
    ],
    ['a word outside the vocabulary', { event: 'feature_used', feature: 'contacts.delete_all' }, 'feature', /not in the usage vocabulary/],
    ['an unknown event', { event: 'contact_viewed', contactId: 'c1' }, 'event', /event/i],
    ['a negative duration', { event: 'session_ended', durationMs: -1 }, 'durationMs', /./],
    ['a duration over a day', { event: 'session_ended', durationMs: 4_155_550_100 }, 'durationMs', /./],
    ['a number where a word belongs', { event: 'page_viewed', page: 4155550100 }, 'page', /expected string/],
    ['not an object', 'page_viewed', '(arguments)', /expected object/],
  ];
  for (const [what, payload, field, message] of refused) {
    it(`refuses ${what}, naming ${field}, and stores nothing`, async () => {
      const error = await expectRefusedWithoutChange(db, () => recordUsageEvent(deps, user, payload), 'invalid-argument', message);
      expect(error.details).toEqual({ field });
      expect(error.message.startsWith(`${field}: `)).toBe(true);
      expect(await storedEvents()).toEqual([]);
    });
  }
});

describe('the shard of a usage event', () => {
  it('is drawn uniformly from every shard, and the record schema refuses one outside them', () => {
    const counts = new Array<number>(USAGE_EVENT_SHARDS).fill(0);
    const draws = 20_000;
    for (let i = 0; i < draws; i++) counts[randomUsageEventShard()] += 1;
    // A uniform draw puts 2,000 in each; a shard never or hardly ever drawn would take 500 writes/s alone.
    expect(counts).toHaveLength(USAGE_EVENT_SHARDS);
    for (const count of counts) expect(count).toBeGreaterThan(1_500);
    const record = { schemaVersion: USAGE_EVENT_RECORD_VERSION, payload: { event: 'page_viewed', page: 'contacts' } };
    const at = { receivedAt: Timestamp.fromMillis(0), expiresAt: Timestamp.fromMillis(0) };
    for (const shard of usageEventShards) expect(usageEventRecordSchema.safeParse({ ...record, ...at, shard }).success).toBe(true);
    for (const shard of [-1, USAGE_EVENT_SHARDS, 1.5, '1', undefined]) {
      expect(usageEventRecordSchema.safeParse({ ...record, ...at, shard }).error?.issues.map((issue) => issue.path)).toEqual([['shard']]);
    }
  });
});
