/**
 * One port, two protocols; malformed requests; the Authorization header; methods not served.
 */
import * as protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Firestore } from 'firebase-admin/firestore';
import {
  adminClient,
  decodeMessage,
  emulatorUrl,
  encodeMessage,
  offlineEmulator,
  rawUnaryCall,
  rejectionOf,
  uniqueProjectId,
  type GrpcFailure,
} from './support';

const projectId = uniqueProjectId('conf-transport');
const database = `projects/${projectId}/databases/(default)`;
let db: Firestore;
let close: () => Promise<void>;

beforeAll(() => {
  ({ db, close } = adminClient(projectId));
});
afterAll(() => close());

const UNIMPLEMENTED = 12;
const INVALID_ARGUMENT = 3;
const INTERNAL = 13;

describe('one port serves gRPC and HTTP/1.1', () => {
  it('answers GET / with Ok and serves firebase-admin on the same host:port', async () => {
    const response = await fetch(emulatorUrl('/'));
    expect(response.status).toBe(200);
    expect((await response.text()).trim()).toBe('Ok');

    await db.doc('port/one').set({ served: 'grpc' });
    expect((await db.doc('port/one').get()).data()).toEqual({ served: 'grpc' });
  });

  it('answers a method the service does not have with UNIMPLEMENTED naming it', async () => {
    const failure = (await rejectionOf(rawUnaryCall('NoSuchMethod', Buffer.alloc(0)))) as unknown as GrpcFailure;
    expect(failure.code).toBe(UNIMPLEMENTED);
    expect(failure.details).toContain('NoSuchMethod');
  });
});

describe('malformed requests', () => {
  it('refuses bytes that are not a protobuf message as Google does (INTERNAL "Invalid protobuf byte sequence")', async () => {
    // Field 1 (database), length-delimited, claims 100 bytes and carries 2.
    const truncated = Buffer.from([0x0a, 100, 0x61, 0x62]);
    const failure = (await rejectionOf(rawUnaryCall('Commit', truncated))) as unknown as GrpcFailure;
    expect(failure.code).toBe(INTERNAL);
    expect(failure.details).toContain('Invalid protobuf byte sequence');
  });

  it('refuses a string field that is not UTF-8, and writes nothing', async () => {
    const name = `${database}/documents/utf8/doc`;
    const valid = encodeMessage('google.firestore.v1.CommitRequest', {
      database,
      writes: [{ update: { name, fields: { text: { stringValue: 'MARK' } } } }],
    });
    // Replace the 4 bytes of "MARK" by 4 bytes that are not UTF-8 (a lone continuation byte, then 0xff).
    const at = valid.indexOf(Buffer.from('MARK'));
    const corrupted = Buffer.concat([valid.subarray(0, at), Buffer.from([0x80, 0xff, 0xfe, 0x80]), valid.subarray(at + 4)]);
    const failure = (await rejectionOf(rawUnaryCall('Commit', corrupted))) as unknown as GrpcFailure;
    expect(failure.code).toBe(INTERNAL);
    expect(failure.details).toContain('Invalid protobuf byte sequence');
    expect((await db.doc('utf8/doc').get()).exists).toBe(false);
  });

  it('refuses a Value with no member set (production: "Cannot convert firestore.v1.Value with type unset."), and writes nothing', async () => {
    const request = encodeMessage('google.firestore.v1.CommitRequest', {
      database,
      writes: [{ update: { name: `${database}/documents/unset/doc`, fields: { empty: {} } } }],
    });
    const failure = (await rejectionOf(rawUnaryCall('Commit', request))) as unknown as GrpcFailure;
    expect(failure.code).toBe(INVALID_ARGUMENT);
    if (offlineEmulator) expect(failure.details).toBe('empty: Cannot convert firestore.v1.Value with type unset.');
    expect((await db.doc('unset/doc').get()).exists).toBe(false);
  });

  // protobuf parsers keep the last of two oneof members on the wire (Google's would store 1); the offline emulator
  // cannot tell which came last once protobuf.js has decoded them, so it refuses rather than pick one.
  it.runIf(offlineEmulator)('refuses a Value repeating two members of its oneof on the wire, and writes nothing', async () => {
    const request = encodeMessage('google.firestore.v1.CommitRequest', {
      database,
      writes: [{ update: { name: `${database}/documents/oneof/doc`, fields: { both: { stringValue: 'a', integerValue: '1' } } } }],
    });
    const failure = (await rejectionOf(rawUnaryCall('Commit', request))) as unknown as GrpcFailure;
    expect(failure.code).toBe(INVALID_ARGUMENT);
    expect(failure.details).toContain('both: the value sets both "stringValue" and "integerValue"');
    expect((await db.doc('oneof/doc').get()).exists).toBe(false);
  });

  it('accepts the same request when it is well-formed (the check above is about the bytes)', async () => {
    const request = encodeMessage('google.firestore.v1.CommitRequest', {
      database,
      writes: [{ update: { name: `${database}/documents/utf8/fine`, fields: { text: { stringValue: 'é ✓' } } } }],
    });
    const response = decodeMessage('google.firestore.v1.CommitResponse', await rawUnaryCall('Commit', request));
    expect(response.commitTime).toBeDefined();
    expect((await db.doc('utf8/fine').get()).get('text')).toBe('é ✓');
  });
});

describe('the Authorization header', () => {
  const beginTransaction = encodeMessage('google.firestore.v1.BeginTransactionRequest', { database });

  it('accepts Bearer owner, an unsigned JWT, and no header at all', async () => {
    const unsignedJwt = [
      Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url'),
      Buffer.from(JSON.stringify({ sub: 'alice', user_id: 'alice', iat: 0 })).toString('base64url'),
      '',
    ].join('.');
    for (const authorization of ['Bearer owner', `Bearer ${unsignedJwt}`, null]) {
      const response = decodeMessage('google.firestore.v1.BeginTransactionResponse', await rawUnaryCall('BeginTransaction', beginTransaction, authorization));
      expect(response.transaction).toBeDefined();
    }
  });

  it('refuses a bearer token that is not a JWT as Google does (INVALID_ARGUMENT "invalid jwt")', async () => {
    for (const authorization of ['Bearer not-a-jwt', 'Bearer a.b.c', 'Basic dXNlcjpwYXNz']) {
      const failure = (await rejectionOf(rawUnaryCall('BeginTransaction', beginTransaction, authorization))) as unknown as GrpcFailure;
      expect(failure.code).toBe(INVALID_ARGUMENT);
      expect(failure.details.toLowerCase()).toContain('invalid jwt');
    }
  });
});

describe.skipIf(!offlineEmulator)('what the offline emulator does not implement fails loudly', () => {
  // The request collectionGroup().getPartitions() sends, sent raw: through firebase-admin, google-gax prints an
  // AutopaginateTrueWarning on every first stream-paged call (its own default), noise in a passing run.
  it('answers PartitionQuery (what collectionGroup().getPartitions() sends) with UNIMPLEMENTED naming it', async () => {
    const request = encodeMessage('google.firestore.v1.PartitionQueryRequest', {
      parent: `${database}/documents`,
      structuredQuery: { from: [{ collectionId: 'anything', allDescendants: true }], orderBy: [{ field: { fieldPath: '__name__' } }] },
      partitionCount: 1,
    });
    const failure = (await rejectionOf(rawUnaryCall('PartitionQuery', request))) as unknown as GrpcFailure;
    expect(failure.code).toBe(UNIMPLEMENTED);
    expect(failure.details).toContain('PartitionQuery');
  });

  // protobufjs (and so our decoder) skips fields it has no descriptor for; the request would lose their meaning.
  it('refuses a request carrying a field the protos do not define, at any depth, with UNIMPLEMENTED naming it', async () => {
    const UNKNOWN = 1000;
    const withUnknownField = (message: Uint8Array): Buffer =>
      Buffer.concat([
        message,
        protobuf.Writer.create()
          .uint32((UNKNOWN << 3) | 0)
          .uint32(1)
          .finish(),
      ]);
    const lengthDelimited = (fieldNumber: number, message: Uint8Array): Buffer =>
      Buffer.from(
        protobuf.Writer.create()
          .uint32((fieldNumber << 3) | 2)
          .bytes(message)
          .finish(),
      );
    const name = `${database}/documents/unknown/field`;
    const write = encodeMessage('google.firestore.v1.Write', { update: { name, fields: { a: { integerValue: '1' } } } });
    const commitOf = (writeBytes: Uint8Array): Buffer =>
      Buffer.concat([encodeMessage('google.firestore.v1.CommitRequest', { database }), lengthDelimited(2, writeBytes)]);

    const onTheRequest = withUnknownField(commitOf(write));
    const inAWrite = commitOf(withUnknownField(write));
    // Document.fields is a map<string, Value>: the unknown field is in the value of entry "a".
    const value = withUnknownField(encodeMessage('google.firestore.v1.Value', { integerValue: '1' }));
    const entry = Buffer.concat([lengthDelimited(1, Buffer.from('a')), lengthDelimited(2, value)]);
    const document = Buffer.concat([encodeMessage('google.firestore.v1.Document', { name }), lengthDelimited(2, entry)]);
    const inAMapValue = commitOf(Buffer.concat([lengthDelimited(1, document)]));

    for (const [request, message] of [
      [onTheRequest, 'google.firestore.v1.CommitRequest'],
      [inAWrite, 'google.firestore.v1.Write'],
      [inAMapValue, 'google.firestore.v1.Value'],
    ] as const) {
      const failure = (await rejectionOf(rawUnaryCall('Commit', request))) as unknown as GrpcFailure;
      expect(failure.code).toBe(UNIMPLEMENTED);
      expect(failure.details).toContain(`field ${UNKNOWN} of ${message}`);
    }
    expect((await db.doc('unknown/field').get()).exists).toBe(false);
    // The same request without the unknown field is accepted.
    await rawUnaryCall('Commit', commitOf(write));
    expect((await db.doc('unknown/field').get()).data()).toEqual({ a: 1 });
  });

  it('answers a REST method it does not serve with 501 naming the method', async () => {
    const response = await fetch(emulatorUrl(`/v1/projects/${projectId}/databases/(default)/documents:partitionQuery`), {
      method: 'POST',
      body: JSON.stringify({ structuredQuery: { from: [{ collectionId: 'a' }] }, partitionCount: '2' }),
    });
    expect(response.status).toBe(501);
    const body = (await response.json()) as { error: { status: string; message: string } };
    expect(body.error.status).toBe('UNIMPLEMENTED');
    expect(body.error.message).toContain('PartitionQuery');
  });
});
