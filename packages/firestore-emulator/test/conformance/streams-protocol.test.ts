/**
 * The Listen and Write streams message by message, as the SDKs rely on them (plain gRPC, so the exact
 * sequence is visible): Listen's ADD / documents / CURRENT / global NO_CHANGE with a read time, incremental
 * changes after a commit, REMOVE on remove_target and for `once` targets; Write's handshake and stream tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Firestore } from 'firebase-admin/firestore';
import { adminClient, RawBidiStream, uniqueProjectId } from './support';

const projectId = uniqueProjectId('conf-streams');
const database = `projects/${projectId}/databases/(default)`;
const documents = `${database}/documents`;
let db: Firestore;
let close: () => Promise<void>;

beforeAll(() => {
  ({ db, close } = adminClient(projectId));
});
afterAll(() => close());

interface WireTimestamp {
  seconds?: string;
  nanos?: number;
}
/**
 * The fields of a decoded ListenResponse or WriteResponse these tests read. Declared present: where one is
 * absent, the test fails on reading it.
 */
interface Message {
  targetChange: { targetChangeType?: string; targetIds?: number[]; resumeToken: Uint8Array; readTime: WireTimestamp };
  documentChange: { document: { name: string }; targetIds?: number[] };
  documentDelete: { document: string; removedTargetIds?: number[] };
  documentRemove: { document: string; removedTargetIds?: number[] };
  streamId: string;
  streamToken: Uint8Array;
  writeResults?: unknown[];
  commitTime: WireTimestamp;
}

/** The first `count` messages of the stream, as the fields above. */
const receivedMessages = async (stream: RawBidiStream, count: number): Promise<Message[]> => (await stream.waitForCount(count)) as unknown as Message[];

const kindOf = (message: Message): string => {
  if (message.targetChange) return `target:${message.targetChange.targetChangeType ?? 'NO_CHANGE'}:${(message.targetChange.targetIds ?? []).join(',')}`;
  if (message.documentChange)
    return `change:${message.documentChange.document.name.split('/').pop() ?? ''}:${(message.documentChange.targetIds ?? []).join(',')}`;
  if (message.documentDelete) return `delete:${message.documentDelete.document.split('/').pop() ?? ''}`;
  if (message.documentRemove) return `remove:${message.documentRemove.document.split('/').pop() ?? ''}`;
  return JSON.stringify(message);
};

const seconds = (timestamp: WireTimestamp): number => Number(timestamp.seconds ?? 0) + (timestamp.nanos ?? 0) / 1e9;

describe('Listen', () => {
  it('sends ADD, the documents, CURRENT with a resume token, then a global NO_CHANGE with a read time', async () => {
    await db.doc('listen/present').set({ v: 1 });
    const stream = new RawBidiStream('Listen', 'google.firestore.v1.ListenRequest', 'google.firestore.v1.ListenResponse');
    try {
      stream.send({ database, addTarget: { targetId: 7, documents: { documents: [`${documents}/listen/present`, `${documents}/listen/absent`] } } });
      const initial = await receivedMessages(stream, 4);
      expect(initial.map(kindOf)).toEqual(['target:ADD:7', 'change:present:7', 'target:CURRENT:7', 'target:NO_CHANGE:']);
      expect(initial[2].targetChange.resumeToken.length).toBeGreaterThan(0);
      expect(initial[3].targetChange.readTime).toBeDefined();

      await db.doc('listen/absent').set({ v: 2 });
      const afterCreate = await receivedMessages(stream, 6);
      expect(afterCreate.slice(4).map(kindOf)).toEqual(['change:absent:7', 'target:NO_CHANGE:']);
      expect(seconds(afterCreate[5].targetChange.readTime)).toBeGreaterThanOrEqual(seconds(initial[3].targetChange.readTime));

      await db.doc('listen/present').delete();
      const afterDelete = await receivedMessages(stream, 8);
      expect(afterDelete.slice(6).map(kindOf)).toEqual(['delete:present', 'target:NO_CHANGE:']);
      expect(afterDelete[6].documentDelete.removedTargetIds).toEqual([7]);

      stream.send({ database, removeTarget: 7 });
      const afterRemove = await receivedMessages(stream, 9);
      expect(kindOf(afterRemove[8])).toBe('target:REMOVE:7');
    } finally {
      stream.close();
    }
  });

  it('a query target reports documents leaving the query as removes, and a once target is removed after CURRENT', async () => {
    await db.doc('listenq/a').set({ open: true });
    const stream = new RawBidiStream('Listen', 'google.firestore.v1.ListenRequest', 'google.firestore.v1.ListenResponse');
    try {
      const query = {
        parent: documents,
        structuredQuery: {
          from: [{ collectionId: 'listenq' }],
          where: { fieldFilter: { field: { fieldPath: 'open' }, op: 'EQUAL', value: { booleanValue: true } } },
        },
      };
      stream.send({ database, addTarget: { targetId: 3, query } });
      expect((await receivedMessages(stream, 4)).map(kindOf)).toEqual(['target:ADD:3', 'change:a:3', 'target:CURRENT:3', 'target:NO_CHANGE:']);
      await db.doc('listenq/a').update({ open: false });
      const afterUpdate = await receivedMessages(stream, 6);
      expect(afterUpdate.slice(4).map(kindOf)).toEqual(['remove:a', 'target:NO_CHANGE:']);
      expect(afterUpdate[4].documentRemove.removedTargetIds).toEqual([3]);

      stream.send({ database, addTarget: { targetId: 4, query, once: true } });
      const once = await receivedMessages(stream, 10);
      expect(once.slice(6).map(kindOf)).toEqual(['target:ADD:4', 'target:CURRENT:4', 'target:NO_CHANGE:', 'target:REMOVE:4']);
    } finally {
      stream.close();
    }
  });
});

describe('auth on streams', () => {
  it('ends a Listen stream whose bearer token is not a JWT with INVALID_ARGUMENT', async () => {
    const stream = new RawBidiStream('Listen', 'google.firestore.v1.ListenRequest', 'google.firestore.v1.ListenResponse', 'Bearer not-a-jwt');
    try {
      stream.send({ database, addTarget: { targetId: 1, documents: { documents: [`${documents}/auth/x`] } } });
      await stream.waitForCount(1);
      expect(stream.status?.code).toBe(3);
      expect(stream.received).toEqual([]);
    } finally {
      stream.close();
    }
  });
});

describe('Write', () => {
  it('answers the handshake with a stream id and token, then each batch with results, a commit time and a new token', async () => {
    const stream = new RawBidiStream('Write', 'google.firestore.v1.WriteRequest', 'google.firestore.v1.WriteResponse');
    try {
      stream.send({ database });
      const [handshake] = await receivedMessages(stream, 1);
      expect(handshake.streamId).toBeTruthy();
      expect(handshake.streamToken.length).toBeGreaterThan(0);
      expect(handshake.writeResults ?? []).toEqual([]);

      const write = (id: string) => ({ update: { name: `${documents}/written/${id}`, fields: { v: { stringValue: id } } } });
      stream.send({ streamToken: handshake.streamToken, writes: [write('one'), write('two')] });
      const [, first] = await receivedMessages(stream, 2);
      expect(first.writeResults).toHaveLength(2);
      expect(first.commitTime).toBeDefined();
      expect(Buffer.from(first.streamToken).equals(Buffer.from(handshake.streamToken))).toBe(false);
      expect((await db.doc('written/two').get()).get('v')).toBe('two');

      stream.send({ streamToken: first.streamToken, writes: [write('three')] });
      const [, , second] = await receivedMessages(stream, 3);
      expect(second.writeResults).toHaveLength(1);
      expect(seconds(second.commitTime)).toBeGreaterThanOrEqual(seconds(first.commitTime));
    } finally {
      stream.close();
    }
  });

  it('ends the stream with the error of a failing batch, having written nothing of it', async () => {
    const stream = new RawBidiStream('Write', 'google.firestore.v1.WriteRequest', 'google.firestore.v1.WriteResponse');
    try {
      stream.send({ database });
      const [handshake] = await receivedMessages(stream, 1);
      stream.send({
        streamToken: handshake.streamToken,
        writes: [
          { update: { name: `${documents}/failing/ok`, fields: {} } },
          { update: { name: `${documents}/failing/missing`, fields: {} }, currentDocument: { exists: true } },
        ],
      });
      await stream.waitForCount(2);
      expect(stream.status?.code).toBe(5);
      expect((await db.doc('failing/ok').get()).exists).toBe(false);
    } finally {
      stream.close();
    }
  });
});
