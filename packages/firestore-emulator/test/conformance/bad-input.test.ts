/**
 * Bad input is refused with INVALID_ARGUMENT and never half-applied: odd segment counts, reserved ids,
 * over-long names, documents over 1 MiB, commits over 500 writes. (Malformed protobufs and invalid UTF-8:
 * transport.test.ts.) What firebase-admin already refuses on the client goes through a plain gRPC Commit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Firestore } from 'firebase-admin/firestore';
import { adminClient, encodeMessage, rawUnaryCall, rejectionOf, uniqueProjectId, type GrpcFailure } from './support';

const projectId = uniqueProjectId('conf-bad-input');
const database = `projects/${projectId}/databases/(default)`;
let db: Firestore;
let close: () => Promise<void>;

beforeAll(() => {
  ({ db, close } = adminClient(projectId));
});
afterAll(() => close());

const INVALID_ARGUMENT = 3;

function commitOf(names: string[]): Buffer {
  return encodeMessage('google.firestore.v1.CommitRequest', {
    database,
    writes: names.map((name) => ({ update: { name, fields: { v: { integerValue: '1' } } } })),
  });
}

async function documentsIn(collectionId: string): Promise<number> {
  return (await db.collection(collectionId).get()).size;
}

describe('invalid paths', () => {
  it('a document name with an odd number of segments (a collection) is refused, and the commit writes nothing', async () => {
    const failure = (await rejectionOf(
      rawUnaryCall('Commit', commitOf([`${database}/documents/paths/valid`, `${database}/documents/paths`])),
    )) as unknown as GrpcFailure;
    expect(failure.code).toBe(INVALID_ARGUMENT);
    expect(failure.details).not.toBe('');
    expect(await documentsIn('paths')).toBe(0);
  });

  it('a document name outside the request database is refused', async () => {
    const failure = (await rejectionOf(
      rawUnaryCall('Commit', commitOf([`projects/someone-else/databases/(default)/documents/paths/x`])),
    )) as unknown as GrpcFailure;
    expect(failure.code).toBe(INVALID_ARGUMENT);
  });

  it('reserved ids (__name__ style) are refused for documents and collections', async () => {
    for (const path of ['reserved/__bad__', '__bad__/doc']) {
      const error = await rejectionOf(db.doc(path).set({ v: 1 }));
      expect(error.code).toBe(INVALID_ARGUMENT);
    }
    expect(await documentsIn('reserved')).toBe(0);
  });

  it('a document id over 1500 bytes is refused; one of exactly 1500 bytes is accepted', async () => {
    const error = await rejectionOf(db.doc(`long/${'a'.repeat(1501)}`).set({ v: 1 }));
    expect(error.code).toBe(INVALID_ARGUMENT);
    await db.doc(`long/${'a'.repeat(1500)}`).set({ v: 1 });
    expect(await documentsIn('long')).toBe(1);
  });
});

describe('size and count limits', () => {
  it('a document over 1 MiB is refused, and the batch it is in writes nothing', async () => {
    const batch = db.batch();
    batch.set(db.doc('big/small'), { v: 1 });
    batch.set(db.doc('big/huge'), { text: 'x'.repeat(1_048_576) });
    const error = await rejectionOf(batch.commit());
    expect(error.code).toBe(INVALID_ARGUMENT);
    expect(await documentsIn('big')).toBe(0);
  });

  it('a document just under 1 MiB is accepted', async () => {
    await db.doc('big/fits').set({ text: 'x'.repeat(1_000_000) });
    expect(((await db.doc('big/fits').get()).get('text') as string).length).toBe(1_000_000);
  });
  // A commit is capped by its size (10 MiB), not by its number of writes: see fidelity.test.ts.
});

describe('no partial writes', () => {
  it('a batch with a valid write and a reserved id applies neither', async () => {
    const batch = db.batch();
    batch.set(db.doc('partial/ok'), { v: 1 });
    batch.set(db.doc('partial/__no__'), { v: 2 });
    const error = await rejectionOf(batch.commit());
    expect(error.code).toBe(INVALID_ARGUMENT);
    expect(await documentsIn('partial')).toBe(0);
  });
});
