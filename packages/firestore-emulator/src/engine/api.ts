/**
 * The contract between the three parts of the offline emulator:
 * - the engine (src/engine): an in-memory, multi-project Firestore with Google's semantics;
 * - the server (src/server): gRPC + HTTP/1.1 on one port, decoding requests into these shapes;
 * - the rules engine (src/rules): an AccessPolicy the engine consults for every non-owner request.
 *
 * Messages are the plain objects protobufjs produces for google.firestore.v1 with
 * `{ longs: String, enums: String, bytes: Buffer, defaults: false, oneofs: false }`:
 * int64 as decimal strings, enums as their names, bytes as Buffer, unset fields absent.
 */
import type { google } from '@google-cloud/firestore/build/protos/firestore_v1_proto_api';

export type Value = google.firestore.v1.IValue;
export type MapValue = google.firestore.v1.IMapValue;
export type Document = google.firestore.v1.IDocument;
export type Timestamp = google.protobuf.ITimestamp;
export type StructuredQuery = google.firestore.v1.IStructuredQuery;

/**
 * The narrowed forms the engine works on. Requests carry protobuf's all-optional messages (above); the engine
 * validates each one once where it enters (normalizeValue, prepareWrite, prepareQuery, the read-time checks)
 * into these, whose members are required where Firestore requires them, and reads them without further checks.
 * Each is assignable to its protobuf type, so they are also what the engine answers and what the rules read.
 */
export interface ValidTimestamp {
  /** int64 as a decimal string. */
  seconds: string;
  nanos: number;
}

/** The members of Value's `value_type` oneof, in the form the engine stores them. */
interface ValueMembers {
  nullValue: 'NULL_VALUE';
  booleanValue: boolean;
  /** int64 as a canonical decimal string. */
  integerValue: string;
  doubleValue: number;
  /** Truncated to microseconds, Firestore's precision. */
  timestampValue: ValidTimestamp;
  stringValue: string;
  bytesValue: Uint8Array;
  referenceValue: string;
  geoPointValue: { latitude: number; longitude: number };
  arrayValue: { values: ValidValue[] };
  mapValue: { fields: Record<string, ValidValue> };
}

export type ValueKind = keyof ValueMembers;

/** Exactly the member K set; the others declared absent, so `value.stringValue !== undefined` narrows. */
type OnlyMember<K extends ValueKind> = { [P in K]: ValueMembers[P] } & { [P in Exclude<ValueKind, K>]?: undefined };

/** A Value with exactly one member of its oneof set. */
export type ValidValue = { [K in ValueKind]: OnlyMember<K> }[ValueKind];

/** A stored document: its full resource name, fields and times. */
export interface ValidDocument {
  name: string;
  fields: Record<string, ValidValue>;
  createTime: ValidTimestamp;
  updateTime: ValidTimestamp;
}

/**
 * What the Database methods answer (see ./index): the protobuf response messages with the members the engine
 * always sets required and the others typed as it sets them. Each is assignable to its protobuf response type,
 * which is what the server encodes.
 */

/** One write's result in a Commit or BatchWrite. */
export interface WriteResult {
  /** The document's update time after the write (its previous one when the write changed nothing); absent after a
   *  delete, for a verify of a document that does not exist, and for a failed write of a BatchWrite. */
  updateTime?: ValidTimestamp;
  /** One per field transform of the write, in order, when it had any. */
  transformResults?: ValidValue[];
}

export interface CommitResponse {
  /** One per write, in request order. */
  writeResults: WriteResult[];
  commitTime: ValidTimestamp;
}

/** One write's outcome in a BatchWrite: OK without a message, or the error the write alone failed with. */
export interface WriteStatus {
  code: Code;
  message?: string;
}

export interface BatchWriteResponse {
  /** One per write, in request order; `{}` for a write that failed. */
  writeResults: WriteResult[];
  status: WriteStatus[];
}

/** Members of every response of a read RPC (BatchGetDocuments, RunQuery, RunAggregationQuery). */
interface ReadResponse {
  /** The time the read was served at. */
  readTime: ValidTimestamp;
  /** The id of the transaction the request began (new_transaction), on its first response only. */
  transaction?: Buffer;
}

export type BatchGetDocumentsResponse = ReadResponse &
  (
    | { found: ValidDocument; missing?: undefined }
    /** The full resource name of a requested document that does not exist at `readTime`. */
    | { missing: string; found?: undefined }
    /** The one response to a request for no documents that began a transaction: it carries the transaction id. */
    | { found?: undefined; missing?: undefined; transaction: Buffer }
  );

export interface RunQueryResponse extends ReadResponse {
  /** One result document; absent in the single response of a query that matched nothing. */
  document?: ValidDocument;
}

export interface RunAggregationQueryResponse extends ReadResponse {
  /** Each aggregation's result under its alias. */
  result: { aggregateFields: Record<string, ValidValue> };
}

export interface BeginTransactionResponse {
  transaction: Buffer;
}

/** ListDocuments with show_missing: a document that does not exist but has descendants, by name only. */
export interface MissingDocument {
  name: string;
  fields?: undefined;
  createTime?: undefined;
  updateTime?: undefined;
}

export interface ListDocumentsResponse {
  documents: (ValidDocument | MissingDocument)[];
  /** Set when more documents follow: the page_token of the next page. */
  nextPageToken?: string;
}

export interface ListCollectionIdsResponse {
  collectionIds: string[];
  /** Set when more ids follow: the page_token of the next page. */
  nextPageToken?: string;
}

/** A document as an import or export holds it: its path below `.../documents` and its fields. */
export interface DocumentContents {
  segments: readonly string[];
  fields: Record<string, Value>;
}

/** Who is calling, from the Authorization header. */
export type Caller =
  /** `Authorization: Bearer owner` (firebase-admin, withSecurityRulesDisabled): rules are bypassed. */
  | { kind: 'owner' }
  /** No Authorization header. */
  | { kind: 'anonymous' }
  /** A Firebase ID token (signed or, in the emulator, unsigned); `token` is its decoded payload. */
  | { kind: 'user'; uid: string; token: Record<string, unknown> };

/** gRPC status codes the engine raises (numbers as in grpc's status.proto). */
export enum Code {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  UNAUTHENTICATED = 16,
}

/** Every error the engine or the rules raise reaches the client as this status and message. */
export class RpcError extends Error {
  constructor(
    readonly code: Code,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** Reads documents by full resource name (`projects/p/databases/d/documents/a/b`) as of one instant. */
export interface DocumentReader {
  get(name: string): Document | null;
}

export type AccessDecision =
  /** `ruleLines`: the lines of the allow statements that granted it (one per write or query branch). */
  | { allowed: true; lookups: number; ruleLines?: number[] }
  /** `message` names the path, the method and the rule line that decided, for debugging. */
  | { allowed: false; message: string; lookups: number };

export interface RequestContext {
  caller: Exclude<Caller, { kind: 'owner' }>;
  /** request.time */
  time: Timestamp;
}

export interface WriteAccess {
  /** Full resource name of the written document. */
  name: string;
  method: 'create' | 'update' | 'delete';
  /** The stored document before this request (null if absent). */
  before: Document | null;
  /** The document as it would be after the whole request (null for delete). */
  after: Document | null;
}

/**
 * Security rules as the engine sees them. The engine calls it for every request from a non-owner caller,
 * once the project has rules loaded. `before` reads the state the request started from (within a transaction:
 * its snapshot); `after` reads the state as if every write of the batch/transaction had been applied.
 */
export interface AccessPolicy {
  authorizeGet(ctx: RequestContext, name: string, before: DocumentReader): AccessDecision;
  /** `parent` is the query's parent resource name; `query` as sent (collection group when allDescendants). */
  authorizeQuery(ctx: RequestContext, parent: string, query: StructuredQuery, before: DocumentReader): AccessDecision;
  /** All writes of one commit are judged together (batch semantics for getAfter and lookup limits). */
  authorizeWrites(ctx: RequestContext, writes: WriteAccess[], before: DocumentReader, after: DocumentReader): AccessDecision;
}

/** What the engine reports after every successful commit, for Listen streams. */
export interface CommitEvent {
  commitTime: Timestamp;
  /** Full resource names of the documents the commit created, changed or deleted. */
  changed: string[];
}
