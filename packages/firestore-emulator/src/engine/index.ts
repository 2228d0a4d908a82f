/**
 * The engine's public API: an in-memory, multi-project, multi-database Firestore with Google's semantics.
 * The server decodes each RPC into the plain protobufjs shapes described in ./api and calls a `Database`
 * method; every method validates the whole request and throws RpcError(code, message) as Google's emulator
 * would, and never applies part of a request that fails.
 *
 * Objects returned by the engine (documents, values) are shared with its store: treat them as read-only.
 * Timestamps the engine returns carry `seconds` as a decimal string and `nanos` as a number.
 */
import type { google } from '@google-cloud/firestore/build/protos/firestore_v1_proto_api';

import type {
  AccessPolicy,
  BatchGetDocumentsResponse,
  BatchWriteResponse,
  BeginTransactionResponse,
  Caller,
  CommitEvent,
  CommitResponse,
  DocumentContents,
  ListCollectionIdsResponse,
  ListDocumentsResponse,
  RunAggregationQueryResponse,
  RunQueryResponse,
  Timestamp,
  ValidDocument,
  ValidTimestamp,
} from './api';
import { FirestoreEngine } from './engine';
import type { IndexConfiguration } from './indexes';

export * from './api';
export { IndexConfiguration, IndexFileError } from './indexes';
export type { DeclaredIndex, IndexFile, TtlPolicy } from './indexes';

export interface EngineOptions {
  /** Wall clock in epoch milliseconds (fractions allowed). Commit times are taken from it with microsecond
   *  precision and forced strictly increasing per database. Default: the process's high-resolution clock
   *  (performance.timeOrigin + performance.now()). Lock waits and idle expiry use real time regardless. */
  clock?: () => number;
  /** Called after every rules decision (only when a policy is set and the caller is not the owner). */
  onAccessDecision?: (projectId: string, info: AccessDecisionReport) => void;
  /** A transaction nobody has used for this long is abandoned: its locks are released and later use of it
   *  fails. Default 60 000 ms. */
  transactionIdleTimeoutMs?: number;
  /** How long a write or transactional read waits for a document lock held by another transaction before it
   *  fails with ABORTED. Default 10 000 ms. */
  lockWaitTimeoutMs?: number;
  /** How long old document versions stay readable through `read_time`. Default 3 600 000 ms (one hour). */
  versionRetentionMs?: number;
  /** The documents every project's `(default)` database starts with, asked for when it is first used (as
   *  Google's emulator seeds from `--seed_from_export`). Clearing the database does not seed it again. */
  seed?: (projectId: string) => readonly DocumentContents[];
  /** TTL deletion (`runTtl`) deletes a document once its TTL field is this much older than the clock.
   *  Production deletes typically within 24 hours of expiry; default 0. */
  ttlDelayMs?: number;
}

/** The documents one TTL pass deleted (resource names, in name order, across the project's databases). */
export interface TtlRun {
  /** The cutoff applied: documents whose TTL field is a timestamp at or before it were deleted. */
  cutoff: Timestamp;
  deleted: string[];
}

export interface AccessDecisionReport {
  databaseId: string;
  /** 'get': one document read (BatchGetDocuments, a Listen document target); 'list': a query, an aggregation,
   *  ListDocuments or a Listen query target; 'write': one commit, all its writes judged together. */
  method: 'get' | 'list' | 'write';
  /** get: the document's resource name; list: the query's parent resource name followed by `/{collectionId}`
   *  (collection groups and all-descendant queries: `/{collectionId=**}`, kindless: `/**`); write: the
   *  first written document's name (all of them are in `writes`). */
  path: string;
  /** write only: every written document with its rules method. */
  writes?: { name: string; method: 'create' | 'update' | 'delete' }[];
  allowed: boolean;
  /** Document lookups (get/exists/getAfter) the rules made. */
  lookups: number;
  /** The policy's message when denied (it names the lines of the allow statements that were evaluated). */
  message?: string;
  /** When allowed: the lines of the allow statements that granted it, when the policy reports them. */
  ruleLines?: number[];
}

export interface Engine {
  /** The database `projects/{projectId}/databases/{databaseId}`, created empty on first use. */
  database(projectId: string, databaseId: string): Database;
  /** Deletes every document of that one database and aborts its open transactions
   *  (REST `DELETE /emulator/v1/projects/{id}/databases/{databaseId}/documents`). Rules stay loaded. */
  clearDatabase(projectId: string, databaseId: string): void;
  /** Rules for every database of the project. null (the initial state) means no rules loaded: open access,
   *  as Google's emulator started without a rules file. */
  setAccessPolicy(projectId: string, policy: AccessPolicy | null): void;
  /** Indexes every query of the project's databases must be served by, as in production (see ./indexes).
   *  null (the initial state): no index is required, as in Google's emulator. */
  setIndexConfiguration(projectId: string, indexes: IndexConfiguration | null): void;
  /**
   * Our extension (Google's emulator runs no TTL): one pass of production's TTL deletion for the project's
   * loaded index configuration. In every database of the project, each document of a collection group with a
   * `"ttl": true` field override whose field is a timestamp at or before `now` (epoch ms; default: the clock)
   * minus `ttlDelayMs` is deleted, as an ordinary delete (one commit per database, listeners see it, no rules
   * asked). Documents whose field is missing or not a timestamp stay; subcollections stay. No configuration
   * loaded: nothing is deleted.
   */
  runTtl(projectId: string, options?: { now?: number }): Promise<TtlRun>;
  /** Calls `listener` after every successful commit (Commit, BatchWrite, clearDatabase) of that database;
   *  returns the unsubscribe function. Listeners run synchronously after the data is visible. */
  onCommit(projectId: string, databaseId: string, listener: (event: CommitEvent) => void): () => void;
}

/** What a Listen target contains at one read time. */
export interface TargetSnapshot {
  readTime: ValidTimestamp;
  /** Query targets: the matching documents in query order (with projection, offset and limit applied).
   *  Document targets: the existing documents, in request order. */
  documents: ValidDocument[];
  /** Document targets only: the requested names that do not exist at `readTime` (in request order). */
  missing: string[];
}

export interface Database {
  readonly projectId: string;
  readonly databaseId: string;
  /** `projects/{projectId}/databases/{databaseId}` */
  readonly name: string;

  getDocument(req: google.firestore.v1.IGetDocumentRequest, caller: Caller): Promise<ValidDocument>;
  /** One response per requested document (in request order); the first also carries `transaction` when the
   *  request asked for `newTransaction`. */
  batchGetDocuments(req: google.firestore.v1.IBatchGetDocumentsRequest, caller: Caller): Promise<BatchGetDocumentsResponse[]>;
  /** Atomic. Besides update/delete/transform, a write may be `{ verify: name, currentDocument }` (field 5 of the
   *  Write message the web SDK compiles in, used by its transactions): the precondition is checked, nothing written. */
  commit(req: google.firestore.v1.ICommitRequest, caller: Caller): Promise<CommitResponse>;
  beginTransaction(req: google.firestore.v1.IBeginTransactionRequest, caller: Caller): Promise<BeginTransactionResponse>;
  rollback(req: google.firestore.v1.IRollbackRequest, caller: Caller): Promise<void>;
  /** One response per result document (each with `readTime`), or a single response with only `readTime` when
   *  nothing matched; the first carries `transaction` for `newTransaction`. The server streams them in order. */
  runQuery(req: google.firestore.v1.IRunQueryRequest, caller: Caller): Promise<RunQueryResponse[]>;
  runAggregationQuery(req: google.firestore.v1.IRunAggregationQueryRequest, caller: Caller): Promise<RunAggregationQueryResponse[]>;
  /** Non-atomic: one WriteResult and one status per write. */
  batchWrite(req: google.firestore.v1.IBatchWriteRequest, caller: Caller): Promise<BatchWriteResponse>;
  listDocuments(req: google.firestore.v1.IListDocumentsRequest, caller: Caller): Promise<ListDocumentsResponse>;
  listCollectionIds(req: google.firestore.v1.IListCollectionIdsRequest, caller: Caller): Promise<ListCollectionIdsResponse>;

  /**
   * For the server's Listen stream: evaluates the `query` or `documents` part of a target as of `readTime`
   * (default: now), rules-checked for `caller` (a denial throws PERMISSION_DENIED). The other target fields
   * (target_id, resume_token, read_time, once, expected_count) are the stream's business and are not read.
   * Call it again with the `commitTime` of a CommitEvent to see the state right after that commit. A `readTime`
   * must not be later than `currentReadTime()` nor older than the version retention window.
   */
  runTarget(target: google.firestore.v1.ITarget, caller: Caller, readTime?: Timestamp): Promise<TargetSnapshot>;
  /** The time a read now would be served at (never before the last commit). */
  currentReadTime(): ValidTimestamp;
  /**
   * An import: writes every document at one commit time (create and update time), replacing a document of the
   * same name; documents not named keep theirs. Validates every document first: one invalid document fails the
   * whole import (INVALID_ARGUMENT naming the document and field) and nothing is written. Aborts the database's
   * open transactions, as clearing does.
   */
  importDocuments(documents: readonly DocumentContents[]): void;
  /** An export: the documents that exist now, in name order. */
  exportDocuments(): DocumentContents[];
}

export function createEngine(options: EngineOptions = {}): Engine {
  return new FirestoreEngine(options);
}
