/**
 * The engine: projects, their databases and rules, and every RPC of a database. Each RPC validates its whole
 * request first, then (after waiting for any locks) computes its effect synchronously and applies it in one
 * step, so a failing request changes nothing and no other request interleaves with the application.
 */
import type { google } from '@google-cloud/firestore/build/protos/firestore_v1_proto_api';
import * as protobuf from 'protobufjs';
import {
  AccessDecision,
  AccessPolicy,
  BatchGetDocumentsResponse,
  BatchWriteResponse,
  BeginTransactionResponse,
  Caller,
  Code,
  CommitEvent,
  CommitResponse,
  DocumentContents,
  DocumentReader,
  ListCollectionIdsResponse,
  ListDocumentsResponse,
  MissingDocument,
  RequestContext,
  RpcError,
  RunAggregationQueryResponse,
  RunQueryResponse,
  StructuredQuery,
  Timestamp,
  ValidDocument,
  ValidTimestamp,
  ValidValue,
  WriteAccess,
  WriteResult,
  WriteStatus,
} from './api';
import type { AccessDecisionReport, Database, Engine, EngineOptions, TargetSnapshot, TtlRun } from './index';
import type { IndexConfiguration, TtlPolicy } from './indexes';
import { comparePaths, compareUtf8, NameParser } from './paths';
import { executeQuery, PreparedQuery, prepareQuery, projectDocument } from './query';
import { Store } from './store';
import { checkTimestamp, formatMicros, Micros, requestTime, timestampNanos, timestampToMicros, toTimestamp } from './time';
import { CONTENTION_MESSAGE, Transaction, Transactions } from './transactions';
import { fieldsIdentical, getField, integerOf, isNumber, normalizeFields, NULL_VALUE, numberAsDouble, NumberValue, parseFieldPath } from './values';
import { applyWrites, AppliedWrites, prepareWrite } from './writes';

type TransactionOptions = google.firestore.v1.ITransactionOptions;

/** BatchWrite keeps the 500-write cap; Commit has none, only the request size (quotas page). */
const MAX_WRITES_PER_BATCH_WRITE = 500;
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const MAX_AGGREGATIONS = 5;
const PRUNE_INTERVAL_MS = 60_000;
const DEFAULT_DATABASE = '(default)';

function invalid(message: string): RpcError {
  return new RpcError(Code.INVALID_ARGUMENT, message);
}

function unimplemented(feature: string): RpcError {
  return new RpcError(Code.UNIMPLEMENTED, `The offline Firestore emulator does not implement ${feature}.`);
}

/** Rejects request fields the engine does not know, so none is silently ignored. */
function checkFields(request: object, known: string[], rpc: string): void {
  for (const key of Object.keys(request)) {
    if ((request as Record<string, unknown>)[key] !== undefined && !known.includes(key)) {
      throw unimplemented(`the ${rpc} request field "${key}"`);
    }
  }
}

interface ProjectState {
  policy: AccessPolicy | null;
  indexes: IndexConfiguration | null;
  databases: Map<string, FirestoreDatabase>;
}

interface EngineSettings {
  clock: () => number;
  onAccessDecision: (projectId: string, info: AccessDecisionReport) => void;
  transactionIdleTimeoutMs: number;
  lockWaitTimeoutMs: number;
  versionRetentionMs: number;
  seed: ((projectId: string) => readonly DocumentContents[]) | null;
  ttlDelayMs: number;
}

export class FirestoreEngine implements Engine {
  private readonly projects = new Map<string, ProjectState>();
  private readonly settings: EngineSettings;

  constructor(options: EngineOptions) {
    this.settings = {
      clock: options.clock ?? (() => performance.timeOrigin + performance.now()),
      onAccessDecision: options.onAccessDecision ?? (() => undefined),
      transactionIdleTimeoutMs: options.transactionIdleTimeoutMs ?? 60_000,
      lockWaitTimeoutMs: options.lockWaitTimeoutMs ?? 10_000,
      versionRetentionMs: options.versionRetentionMs ?? 3_600_000,
      seed: options.seed ?? null,
      ttlDelayMs: options.ttlDelayMs ?? 0,
    };
  }

  private project(projectId: string): ProjectState {
    let project = this.projects.get(projectId);
    if (!project) {
      project = { policy: null, indexes: null, databases: new Map() };
      this.projects.set(projectId, project);
    }
    return project;
  }

  database(projectId: string, databaseId: string): Database {
    if (!projectId || projectId.includes('/')) throw invalid(`Invalid project id "${projectId}".`);
    if (!databaseId || databaseId.includes('/')) throw invalid(`Invalid database id "${databaseId}".`);
    const project = this.project(projectId);
    let database = project.databases.get(databaseId);
    if (!database) {
      database = new FirestoreDatabase(
        projectId,
        databaseId,
        this.settings,
        () => project.policy,
        () => project.indexes,
      );
      project.databases.set(databaseId, database);
      if (databaseId === DEFAULT_DATABASE && this.settings.seed) database.importDocuments(this.settings.seed(projectId));
    }
    return database;
  }

  clearDatabase(projectId: string, databaseId: string): void {
    // A database never used has nothing to clear.
    this.projects.get(projectId)?.databases.get(databaseId)?.clear();
  }

  setAccessPolicy(projectId: string, policy: AccessPolicy | null): void {
    this.project(projectId).policy = policy;
  }

  setIndexConfiguration(projectId: string, indexes: IndexConfiguration | null): void {
    this.project(projectId).indexes = indexes;
  }

  onCommit(projectId: string, databaseId: string, listener: (event: CommitEvent) => void): () => void {
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- every Database this engine hands out is its own FirestoreDatabase
    return (this.database(projectId, databaseId) as FirestoreDatabase).addListener(listener);
  }

  async runTtl(projectId: string, options: { now?: number } = {}): Promise<TtlRun> {
    const nowMs = options.now ?? this.settings.clock();
    if (!Number.isFinite(nowMs)) throw invalid(`Invalid TTL clock "${String(options.now)}".`);
    const cutoffMicros = Math.floor((nowMs - this.settings.ttlDelayMs) * 1000);
    const project = this.projects.get(projectId);
    const policies = project?.indexes?.ttlPolicies ?? [];
    const deleted: string[] = [];
    if (project && policies.length > 0) {
      for (const database of [...project.databases.values()]) deleted.push(...(await database.expire(policies, cutoffMicros)));
    }
    return { cutoff: toTimestamp(cutoffMicros), deleted: deleted.sort(compareUtf8) };
  }
}

/** How a read request chose its snapshot. */
interface ReadContext {
  micros: Micros;
  transaction: Transaction | null;
  /** The transaction when the request began it: its id goes into the first response, and a failure ends it. */
  newTransaction: Transaction | null;
}

interface ConsistencySelector {
  transaction?: Uint8Array | null;
  newTransaction?: TransactionOptions | null;
  readTime?: Timestamp | null;
}

class FirestoreDatabase implements Database {
  readonly name: string;
  private readonly names: NameParser;
  private store = new Store();
  private readonly transactions: Transactions;
  private readonly listeners = new Set<(event: CommitEvent) => void>();
  /** Latest instant handed out as a commit or read time: later commits must come after it. */
  private floorMicros = 0;
  private lastPruneMicros = 0;

  constructor(
    readonly projectId: string,
    readonly databaseId: string,
    private readonly settings: EngineSettings,
    private readonly policy: () => AccessPolicy | null,
    /** null: queries need no declared index (Google's emulator's behaviour). */
    private readonly indexes: () => IndexConfiguration | null,
  ) {
    this.names = new NameParser(projectId, databaseId);
    this.name = this.names.database;
    this.transactions = new Transactions({
      idleTimeoutMs: settings.transactionIdleTimeoutMs,
      lockWaitTimeoutMs: settings.lockWaitTimeoutMs,
    });
  }

  addListener(listener: (event: CommitEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  clear(): void {
    this.transactions.abortAll();
    const changed = this.store.currentNames();
    this.store = new Store();
    this.emit({ commitTime: toTimestamp(this.nextCommitMicros()), changed });
  }

  importDocuments(documents: readonly DocumentContents[]): void {
    const prepared = documents.map((document) => {
      const { segments } = document;
      const name = this.names.name(segments);
      if (segments.length === 0 || segments.length % 2 !== 0 || segments.some((id) => id === '')) {
        throw invalid(`Imported document "${name}" is not a document name (collection/document pairs).`);
      }
      try {
        return { name, segments, fields: normalizeFields(document.fields, '', this.names, { legacyIds: true }) };
      } catch (error) {
        if (error instanceof RpcError) throw new RpcError(error.code, `Imported document "${name}": ${error.message}`);
        throw error;
      }
    });
    // An import writes past the locks: like clearing, it ends the transactions that could have read the old data.
    if (prepared.length > 0) this.transactions.abortAll();
    const micros = this.nextCommitMicros();
    const commitTime = toTimestamp(micros);
    const changed: string[] = [];
    for (const { name, segments, fields } of prepared) {
      const current = this.store.entry(name)?.current ?? null;
      // As in Google's emulator: an unchanged document keeps its update time, a replaced one its create time.
      if (current && fieldsIdentical(current.fields, fields)) continue;
      this.store.write(name, segments, { name, fields, createTime: current?.createTime ?? commitTime, updateTime: commitTime }, micros);
      changed.push(name);
    }
    if (changed.length > 0) this.emit({ commitTime, changed });
  }

  exportDocuments(): DocumentContents[] {
    const documents: DocumentContents[] = [];
    for (const entry of this.store.descendants([], null, false)) {
      const current = entry.current;
      if (current) documents.push({ segments: entry.segments, fields: current.fields });
    }
    return documents;
  }

  // -------------------------------------------------------------------------------------------------------
  // Time

  private clockMicros(): Micros {
    return Math.floor(this.settings.clock() * 1000);
  }

  /** A read served now: sees every commit so far, and no later commit may be stamped at or before it. */
  private readMicrosNow(): Micros {
    this.floorMicros = Math.max(this.floorMicros, this.clockMicros());
    return this.floorMicros;
  }

  private nextCommitMicros(): Micros {
    this.floorMicros = Math.max(this.floorMicros + 1, this.clockMicros());
    return this.floorMicros;
  }

  currentReadTime(): ValidTimestamp {
    return toTimestamp(this.readMicrosNow());
  }

  /** A client-chosen read time: microsecond precision, not in the future, within the retention window. */
  private pastReadMicros(readTime: Timestamp, field: string): Micros {
    checkTimestamp(readTime, field);
    if (timestampNanos(readTime) % 1000 !== 0) throw invalid(`${field} must have microsecond precision.`);
    const micros = timestampToMicros(readTime);
    const now = this.readMicrosNow();
    if (micros > now) throw invalid(`${field} ${formatMicros(micros)} is in the future.`);
    if (micros < now - this.settings.versionRetentionMs * 1000) {
      throw new RpcError(
        Code.FAILED_PRECONDITION,
        `${field} ${formatMicros(micros)} is older than the ${this.settings.versionRetentionMs / 60_000} minutes ` + 'of versions the emulator keeps.',
      );
    }
    return micros;
  }

  // -------------------------------------------------------------------------------------------------------
  // Reads

  private async readContext(request: ConsistencySelector, lockNames: readonly string[]): Promise<ReadContext> {
    const transactionId = request.transaction;
    const hasTransaction = transactionId !== undefined && transactionId !== null && transactionId.length > 0;
    const selectors = [hasTransaction, Boolean(request.newTransaction), Boolean(request.readTime)].filter(Boolean).length;
    if (selectors > 1) throw invalid('Only one of transaction, new_transaction and read_time may be set.');
    if (request.readTime) {
      return { micros: this.pastReadMicros(request.readTime, 'read_time'), transaction: null, newTransaction: null };
    }
    let transaction: Transaction | null = null;
    let newTransaction: Transaction | null = null;
    if (hasTransaction) transaction = this.transactions.find(transactionId);
    else if (request.newTransaction) {
      transaction = this.startTransaction(request.newTransaction);
      newTransaction = transaction;
    }
    if (!transaction) return { micros: this.readMicrosNow(), transaction: null, newTransaction: null };
    // A read-only transaction reads the snapshot it began with (only read-write ones have none).
    if (transaction.readMicros !== null) return { micros: transaction.readMicros, transaction, newTransaction };
    try {
      await this.transactions.lock(transaction, lockNames);
    } catch (error) {
      if (newTransaction) this.endFailed(newTransaction);
      throw error;
    }
    return { micros: this.readMicrosNow(), transaction, newTransaction };
  }

  private startTransaction(options: TransactionOptions): Transaction {
    const readTime = options.readOnly?.readTime;
    const snapshot = () => (readTime ? this.pastReadMicros(readTime, 'options.read_only.read_time') : this.readMicrosNow());
    return this.transactions.begin(options, snapshot);
  }

  /** Ends a transaction after a failure the client will not be told the transaction id for. */
  private endFailed(transaction: Transaction): void {
    if (transaction.state === 'active') this.transactions.finish(transaction, 'aborted');
  }

  private reader(micros: Micros): DocumentReader {
    return { get: (name) => this.store.read(name, micros) };
  }

  private readMask(mask: google.firestore.v1.IDocumentMask | null | undefined): string[][] | null {
    if (!mask) return null;
    return (mask.fieldPaths ?? []).map((path) => parseFieldPath(path, 'mask'));
  }

  async getDocument(req: google.firestore.v1.IGetDocumentRequest, caller: Caller): Promise<ValidDocument> {
    checkFields(req, ['name', 'mask', 'transaction', 'readTime'], 'GetDocument');
    const name = req.name ?? '';
    this.names.document(name);
    const mask = this.readMask(req.mask);
    const context = await this.readContext(req, [name]);
    this.authorize(caller, 'get', name, (policy, ctx) => policy.authorizeGet(ctx, name, this.reader(context.micros)));
    const doc = this.store.read(name, context.micros);
    if (!doc) throw new RpcError(Code.NOT_FOUND, `Document "${name}" not found.`);
    return applyMask(doc, mask);
  }

  async batchGetDocuments(req: google.firestore.v1.IBatchGetDocumentsRequest, caller: Caller): Promise<BatchGetDocumentsResponse[]> {
    checkFields(req, ['database', 'documents', 'mask', 'transaction', 'newTransaction', 'readTime'], 'BatchGetDocuments');
    this.names.checkDatabase(req.database);
    const documents = req.documents ?? [];
    for (const name of documents) this.names.document(name);
    const mask = this.readMask(req.mask);
    const context = await this.readContext(req, documents);
    try {
      for (const name of documents) {
        this.authorize(caller, 'get', name, (policy, ctx) => policy.authorizeGet(ctx, name, this.reader(context.micros)));
      }
    } catch (error) {
      if (context.newTransaction) this.endFailed(context.newTransaction);
      throw error;
    }
    const readTime = toTimestamp(context.micros);
    const responses: BatchGetDocumentsResponse[] = documents.map((name) => {
      const doc = this.store.read(name, context.micros);
      return doc ? { found: applyMask(doc, mask), readTime } : { missing: name, readTime };
    });
    if (context.newTransaction) {
      const transaction = context.newTransaction.id;
      if (responses.length === 0) responses.push({ readTime, transaction });
      else responses[0].transaction = transaction;
    }
    return responses;
  }

  /**
   * Runs a query for a read request. Inside a read-write transaction, locks every result (re-running until
   * the locked result is stable) and records the query so commit can detect phantoms.
   */
  private async runPrepared(query: PreparedQuery, context: ReadContext): Promise<ValidDocument[]> {
    const transaction = context.transaction;
    if (!transaction || !transaction.readWrite) return executeQuery(this.store, query, context.micros, this.names).documents;
    for (let attempt = 0; attempt < 10; attempt++) {
      const first = executeQuery(this.store, query, this.readMicrosNow(), this.names);
      await this.transactions.lock(
        transaction,
        first.entries.map((entry) => entry.name),
      );
      const locked = executeQuery(this.store, query, this.readMicrosNow(), this.names);
      if (locked.entries.every((entry) => transaction.locks.has(entry.name))) {
        const rerun = () => fingerprint(executeQuery(this.store, query, this.readMicrosNow(), this.names).documents);
        transaction.queries.push({ rerun, fingerprint: fingerprint(locked.documents) });
        return locked.documents;
      }
    }
    this.transactions.finish(transaction, 'aborted');
    throw new RpcError(Code.ABORTED, CONTENTION_MESSAGE);
  }

  private async queryContext(req: ConsistencySelector, caller: Caller, query: PreparedQuery): Promise<ReadContext> {
    const context = await this.readContext(req, []);
    try {
      this.authorize(caller, 'list', queryPath(query), (policy, ctx) =>
        policy.authorizeQuery(ctx, query.parentName, query.source, this.reader(context.micros)),
      );
    } catch (error) {
      if (context.newTransaction) this.endFailed(context.newTransaction);
      throw error;
    }
    return context;
  }

  async runQuery(req: google.firestore.v1.IRunQueryRequest, caller: Caller): Promise<RunQueryResponse[]> {
    checkFields(req, ['parent', 'structuredQuery', 'transaction', 'newTransaction', 'readTime', 'explainOptions'], 'RunQuery');
    if (req.explainOptions) throw unimplemented('query explain (explain_options)');
    const query = prepareQuery(req.parent ?? '', req.structuredQuery, this.names);
    this.indexes()?.check(query);
    const context = await this.queryContext(req, caller, query);
    let documents: ValidDocument[];
    try {
      documents = await this.runPrepared(query, context);
    } catch (error) {
      if (context.newTransaction) this.endFailed(context.newTransaction);
      throw error;
    }
    const readTime = toTimestamp(context.transaction?.readWrite ? this.readMicrosNow() : context.micros);
    const responses: RunQueryResponse[] = documents.map((document) => ({ document, readTime }));
    if (responses.length === 0) responses.push({ readTime });
    if (context.newTransaction) responses[0].transaction = context.newTransaction.id;
    return responses;
  }

  async runAggregationQuery(req: google.firestore.v1.IRunAggregationQueryRequest, caller: Caller): Promise<RunAggregationQueryResponse[]> {
    checkFields(req, ['parent', 'structuredAggregationQuery', 'transaction', 'newTransaction', 'readTime', 'explainOptions'], 'RunAggregationQuery');
    if (req.explainOptions) throw unimplemented('query explain (explain_options)');
    const aggregationQuery = req.structuredAggregationQuery;
    if (!aggregationQuery) throw invalid('Missing structured_aggregation_query.');
    checkFields(aggregationQuery, ['structuredQuery', 'aggregations'], 'StructuredAggregationQuery');
    const query = prepareQuery(req.parent ?? '', aggregationQuery.structuredQuery, this.names);
    const aggregations = prepareAggregations(aggregationQuery.aggregations ?? []);
    this.indexes()?.check(query, aggregationQuery.aggregations ?? []);
    const context = await this.queryContext(req, caller, query);
    let documents: ValidDocument[];
    try {
      // Aggregations read whole documents whatever the projection says, and only those that have every
      // aggregated field, as production (count 3, not 4, next to a sum of a field one document lacks).
      const aggregated = aggregations.flatMap((aggregation) => (aggregation.path ? [aggregation.path] : []));
      const filter = query.predicate;
      const predicate: PreparedQuery['predicate'] =
        aggregated.length === 0
          ? filter
          : (doc, entry) => aggregated.every((path) => getField(doc.fields, path) !== undefined) && (filter === null || filter(doc, entry));
      documents = await this.runPrepared({ ...query, predicate, projection: null }, context);
    } catch (error) {
      if (context.newTransaction) this.endFailed(context.newTransaction);
      throw error;
    }
    const aggregateFields: Record<string, ValidValue> = {};
    for (const aggregation of aggregations) aggregateFields[aggregation.alias] = aggregation.compute(documents);
    const readTime = toTimestamp(context.transaction?.readWrite ? this.readMicrosNow() : context.micros);
    const response: RunAggregationQueryResponse = { result: { aggregateFields }, readTime };
    if (context.newTransaction) response.transaction = context.newTransaction.id;
    return [response];
  }

  async listDocuments(req: google.firestore.v1.IListDocumentsRequest, caller: Caller): Promise<ListDocumentsResponse> {
    checkFields(req, ['parent', 'collectionId', 'pageSize', 'pageToken', 'orderBy', 'mask', 'transaction', 'readTime', 'showMissing'], 'ListDocuments');
    const parent = this.names.parent(req.parent);
    if (!req.collectionId) throw unimplemented('ListDocuments without a collection_id');
    const collectionId = req.collectionId;
    if (collectionId.includes('/')) throw invalid(`Invalid collection id "${collectionId}".`);
    const orderBy = (req.orderBy ?? '').trim();
    if (orderBy !== '' && !/^__name__(\s+asc)?$/i.test(orderBy)) {
      throw unimplemented(`ListDocuments order_by "${orderBy}" (only "__name__" ascending)`);
    }
    const pageSize = req.pageSize ?? 0;
    if (!Number.isInteger(pageSize) || pageSize < 0) throw invalid(`page_size must be a non-negative integer, got ${pageSize}.`);
    const after = req.pageToken ? decodePageToken(req.pageToken) : null;
    const mask = this.readMask(req.mask);
    const context = await this.readContext(req, []);
    const parentName = this.names.name(parent);
    const asQuery: StructuredQuery = { from: [{ collectionId }] };
    this.authorize(caller, 'list', `${parentName}/${collectionId}`, (policy, ctx) =>
      policy.authorizeQuery(ctx, parentName, asQuery, this.reader(context.micros)),
    );

    const collection = [...parent, collectionId];
    const afterSegments = after === null ? null : this.names.document(after, 'page_token');
    /** Documents, and with show_missing the names of missing ones that have descendants. */
    const documents: (ValidDocument | MissingDocument)[] = [];
    let nextPageToken = '';
    /** Adds one listed document; false when the page is full. */
    const add = (segments: readonly string[], doc: ValidDocument | null): boolean => {
      if (pageSize > 0 && documents.length === pageSize) {
        nextPageToken = encodePageToken(documents[documents.length - 1].name);
        return false;
      }
      documents.push(doc ? applyMask(doc, mask) : { name: this.names.name(segments) });
      return true;
    };
    const isAfterToken = (segments: readonly string[]) => afterSegments === null || comparePaths(segments, afterSegments) > 0;
    if (!req.showMissing) {
      for (const entry of this.store.collection(collection.join('/'), afterSegments, false)) {
        const doc = entry.at(context.micros);
        if (doc && isAfterToken(entry.segments) && !add(entry.segments, doc)) break;
      }
    } else {
      // Also list documents that do not exist but have descendants, by name only.
      let lastListed: string | null = null;
      for (const entry of this.store.descendants(parent, afterSegments ?? collection, false)) {
        if (entry.segments[parent.length] !== collectionId) break;
        const documentSegments = entry.segments.slice(0, collection.length + 1);
        const id = documentSegments[documentSegments.length - 1];
        if (id === lastListed || !isAfterToken(documentSegments) || entry.at(context.micros) === null) continue;
        const isDocument = entry.segments.length === documentSegments.length;
        lastListed = id;
        if (!add(documentSegments, isDocument ? entry.at(context.micros) : null)) break;
      }
    }
    return nextPageToken ? { documents, nextPageToken } : { documents };
  }

  async listCollectionIds(req: google.firestore.v1.IListCollectionIdsRequest, caller: Caller): Promise<ListCollectionIdsResponse> {
    checkFields(req, ['parent', 'pageSize', 'pageToken', 'readTime'], 'ListCollectionIds');
    const parent = this.names.parent(req.parent);
    const pageSize = req.pageSize ?? 0;
    if (!Number.isInteger(pageSize) || pageSize < 0) throw invalid(`page_size must be a non-negative integer, got ${pageSize}.`);
    const after = req.pageToken ? decodePageToken(req.pageToken) : null;
    const micros = req.readTime ? this.pastReadMicros(req.readTime, 'read_time') : this.readMicrosNow();
    if (this.policy() && caller.kind !== 'owner') {
      throw new RpcError(Code.PERMISSION_DENIED, 'ListCollectionIds is only available to privileged (owner) callers.');
    }
    const ids = [...this.store.childCollectionIds(parent)]
      .filter((id) => this.store.hasDocumentUnder([...parent, id], micros))
      .filter((id) => after === null || compareUtf8(id, after) > 0)
      .sort(compareUtf8);
    if (pageSize > 0 && ids.length > pageSize) {
      const page = ids.slice(0, pageSize);
      return { collectionIds: page, nextPageToken: encodePageToken(page[page.length - 1]) };
    }
    return { collectionIds: ids };
  }

  async runTarget(target: google.firestore.v1.ITarget, caller: Caller, readTime?: Timestamp): Promise<TargetSnapshot> {
    const { query: queryTarget, documents: documentsTarget } = target;
    if (Boolean(queryTarget) === Boolean(documentsTarget)) {
      throw invalid('A target must set exactly one of query or documents.');
    }
    const micros = readTime ? this.pastReadMicros(readTime, 'read_time') : this.readMicrosNow();
    const reader = this.reader(micros);
    if (queryTarget) {
      checkFields(queryTarget, ['parent', 'structuredQuery'], 'Target.query');
      const query = prepareQuery(queryTarget.parent ?? '', queryTarget.structuredQuery, this.names);
      // Production offers vector search to one-shot queries only (no SDK listens to one).
      if (query.nearest) throw invalid('A vector query (find_nearest) cannot be a listen target.');
      this.indexes()?.check(query);
      this.authorize(caller, 'list', queryPath(query), (policy, ctx) => policy.authorizeQuery(ctx, query.parentName, query.source, reader));
      const documents = executeQuery(this.store, query, micros, this.names).documents;
      return { readTime: toTimestamp(micros), documents, missing: [] };
    }
    const names = documentsTarget?.documents ?? [];
    for (const name of names) this.names.document(name);
    for (const name of names) this.authorize(caller, 'get', name, (policy, ctx) => policy.authorizeGet(ctx, name, reader));
    const documents: ValidDocument[] = [];
    const missing: string[] = [];
    for (const name of names) {
      const doc = this.store.read(name, micros);
      if (doc) documents.push(doc);
      else missing.push(name);
    }
    return { readTime: toTimestamp(micros), documents, missing };
  }

  // -------------------------------------------------------------------------------------------------------
  // Transactions

  async beginTransaction(req: google.firestore.v1.IBeginTransactionRequest, _caller: Caller): Promise<BeginTransactionResponse> {
    checkFields(req, ['database', 'options'], 'BeginTransaction');
    this.names.checkDatabase(req.database);
    return { transaction: this.startTransaction(req.options ?? {}).id };
  }

  async rollback(req: google.firestore.v1.IRollbackRequest, _caller: Caller): Promise<void> {
    checkFields(req, ['database', 'transaction'], 'Rollback');
    this.names.checkDatabase(req.database);
    if (!req.transaction || req.transaction.length === 0) throw invalid('Missing transaction.');
    this.transactions.rollback(req.transaction);
  }

  // -------------------------------------------------------------------------------------------------------
  // Writes

  async commit(req: google.firestore.v1.ICommitRequest, caller: Caller): Promise<CommitResponse> {
    checkFields(req, ['database', 'writes', 'transaction'], 'Commit');
    this.names.checkDatabase(req.database);
    const writes = req.writes ?? [];
    checkRequestSize(req, 'google.firestore.v1.CommitRequest');
    let transaction: Transaction | null = null;
    if (req.transaction && req.transaction.length > 0) transaction = this.transactions.find(req.transaction);
    try {
      const prepared = writes.map((write) => prepareWrite(write, this.names));
      if (transaction && !transaction.readWrite && prepared.length > 0) {
        throw invalid('Cannot modify documents in a read-only transaction.');
      }
      const names = [...new Set(prepared.map((write) => write.name))];
      if (transaction?.readWrite) await this.transactions.lock(transaction, names);
      else while (this.transactions.lockedBy(names) !== null) await this.transactions.waitUntilUnlocked(names);
      // From here on everything is synchronous (the lock check above included): nothing interleaves.
      if (transaction) {
        this.transactions.ensureActive(transaction);
        for (const query of transaction.queries) {
          if (query.rerun() !== query.fingerprint) {
            throw new RpcError(Code.ABORTED, CONTENTION_MESSAGE);
          }
        }
      }
      const commitMicros = this.nextCommitMicros();
      const applied = applyWrites(prepared, (name) => this.store.entry(name)?.current ?? null, commitMicros);
      this.authorizeWrites(caller, applied, commitMicros);
      this.apply(applied, commitMicros);
      if (transaction) this.transactions.finish(transaction, 'committed');
      return { writeResults: applied.writeResults, commitTime: toTimestamp(commitMicros) };
    } catch (error) {
      if (transaction) this.endFailed(transaction);
      throw error;
    }
  }

  async batchWrite(req: google.firestore.v1.IBatchWriteRequest, caller: Caller): Promise<BatchWriteResponse> {
    checkFields(req, ['database', 'writes', 'labels'], 'BatchWrite');
    this.names.checkDatabase(req.database);
    const writes = req.writes ?? [];
    if (writes.length > MAX_WRITES_PER_BATCH_WRITE) throw invalid('maximum 500 writes allowed per request');
    checkRequestSize(req, 'google.firestore.v1.BatchWriteRequest');
    const prepared = writes.map((write) => prepareWrite(write, this.names));
    const seen = new Set<string>();
    for (const write of prepared) {
      if (seen.has(write.name)) throw invalid(`BatchWrite cannot write to the same document more than once: ${write.name}`);
      seen.add(write.name);
    }
    const names = prepared.map((write) => write.name);
    // Writes to documents still locked when the wait ends fail alone, with ABORTED.
    let blocked = new Set<string>();
    try {
      while (this.transactions.lockedBy(names) !== null) await this.transactions.waitUntilUnlocked(names);
    } catch (error) {
      if (!(error instanceof RpcError) || error.code !== Code.ABORTED) throw error;
      blocked = new Set(names.filter((name) => this.transactions.lockedBy([name]) !== null));
    }
    // From here on everything is synchronous.
    const commitMicros = this.nextCommitMicros();
    const writeResults: WriteResult[] = [];
    const status: WriteStatus[] = [];
    for (const write of prepared) {
      try {
        if (blocked.has(write.name)) throw new RpcError(Code.ABORTED, CONTENTION_MESSAGE);
        const applied = applyWrites([write], (name) => this.store.entry(name)?.current ?? null, commitMicros);
        this.authorizeWrites(caller, applied, commitMicros);
        this.apply(applied, commitMicros, false);
        writeResults.push(applied.writeResults[0]);
        status.push({ code: Code.OK });
      } catch (error) {
        if (!(error instanceof RpcError)) throw error;
        writeResults.push({});
        status.push({ code: error.code, message: error.message });
      }
    }
    const changed = prepared
      .filter((write, i) => status[i].code === Code.OK && this.store.entry(write.name)?.versions.at(-1)?.micros === commitMicros)
      .map((write) => write.name);
    if (changed.length > 0) this.emit({ commitTime: toTimestamp(commitMicros), changed });
    return { writeResults, status };
  }

  /** TTL deletion: see Engine.runTtl. A document locked by a transaction is waited for, as a write would. */
  async expire(policies: readonly TtlPolicy[], cutoffMicros: Micros): Promise<string[]> {
    const expired = (): string[] => {
      const names: string[] = [];
      for (const policy of policies) {
        for (const path of this.store.collectionsInGroup(policy.collectionGroup, [])) {
          for (const entry of this.store.collection(path, null, false)) {
            const document = entry.current;
            if (document === null) continue;
            const value = getField(document.fields ?? {}, policy.segments);
            if (value?.timestampValue && timestampToMicros(value.timestampValue) <= cutoffMicros) names.push(entry.name);
          }
        }
      }
      return names;
    };
    const candidates = expired();
    if (candidates.length === 0) return [];
    while (this.transactions.lockedBy(candidates) !== null) await this.transactions.waitUntilUnlocked(candidates);
    // From here on everything is synchronous: the documents may have changed while we waited, so look again.
    const names = expired().filter((name) => this.transactions.lockedBy([name]) === null);
    if (names.length === 0) return [];
    const prepared = names.map((name) => prepareWrite({ delete: name }, this.names));
    const commitMicros = this.nextCommitMicros();
    this.apply(
      applyWrites(prepared, (name) => this.store.entry(name)?.current ?? null, commitMicros),
      commitMicros,
    );
    return names;
  }

  private apply(applied: AppliedWrites, commitMicros: Micros, emit = true): void {
    const changed: string[] = [];
    for (const outcome of applied.outcomes) {
      if (outcome.after === outcome.before) continue;
      this.store.write(outcome.name, outcome.segments, outcome.after, commitMicros);
      changed.push(outcome.name);
    }
    if (commitMicros - this.lastPruneMicros > PRUNE_INTERVAL_MS * 1000) {
      this.lastPruneMicros = commitMicros;
      this.store.prune(commitMicros - this.settings.versionRetentionMs * 1000);
    }
    if (emit) this.emit({ commitTime: toTimestamp(commitMicros), changed });
  }

  private emit(event: CommitEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        console.error('firestore-emulator: a commit listener failed', error);
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Rules

  /** Asks the project's access policy (if any, and unless the caller is the owner); throws when denied. */
  private authorize(
    caller: Caller,
    method: AccessDecisionReport['method'],
    path: string,
    decide: (policy: AccessPolicy, context: RequestContext) => AccessDecision,
    writes?: AccessDecisionReport['writes'],
    time?: Timestamp,
  ): void {
    const policy = this.policy();
    if (caller.kind === 'owner' || policy === null) return;
    const decision = decide(policy, { caller, time: time ?? toTimestamp(this.readMicrosNow()) });
    const report: AccessDecisionReport = {
      databaseId: this.databaseId,
      method,
      path,
      allowed: decision.allowed,
      lookups: decision.lookups,
    };
    if (writes) report.writes = writes;
    if (!decision.allowed) report.message = decision.message;
    else if (decision.ruleLines) report.ruleLines = decision.ruleLines;
    this.settings.onAccessDecision(this.projectId, report);
    if (!decision.allowed) throw new RpcError(Code.PERMISSION_DENIED, decision.message);
  }

  private authorizeWrites(caller: Caller, applied: AppliedWrites, commitMicros: Micros): void {
    const written = applied.outcomes.filter((outcome) => outcome.written);
    if (caller.kind === 'owner' || this.policy() === null || written.length === 0) return;
    const accesses: WriteAccess[] = written.map((outcome) => ({
      name: outcome.name,
      method: outcome.after === null ? 'delete' : outcome.before === null ? 'create' : 'update',
      before: outcome.before,
      after: outcome.after,
    }));
    const afterState = new Map(written.map((outcome) => [outcome.name, outcome.after]));
    // The state right before the commit instant, stable even if the policy keeps the reader.
    const before = this.reader(commitMicros - 1);
    // A document the request deleted reads as null (written), one it did not touch as it was (undefined here).
    const after: DocumentReader = { get: (name) => afterState.get(name) ?? (afterState.has(name) ? null : before.get(name)) };
    this.authorize(
      caller,
      'write',
      accesses[0].name,
      (policy, ctx) => policy.authorizeWrites(ctx, accesses, before, after),
      accesses.map(({ name, method }) => ({ name, method })),
      requestTime(commitMicros),
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

let requestTypes: protobuf.Root | null = null;

/**
 * Refuses a write request over 10 MiB, measured as its encoded protobuf, the way production measures it. Encoding
 * costs a copy of the request, so it is done only when a cheap upper bound of the encoded size exceeds the limit.
 */
function checkRequestSize(request: object, typeName: string): void {
  if (encodedSizeBound(request) <= MAX_REQUEST_BYTES) return;
  requestTypes ??= protobuf.Root.fromJSON(firestoreDescriptor() as protobuf.INamespace);
  const type = requestTypes.lookupType(typeName);
  const size = type.encode(type.fromObject(request)).finish().length;
  if (size > MAX_REQUEST_BYTES) {
    throw invalid(`Request payload size exceeds the limit: ${MAX_REQUEST_BYTES} bytes (the request has ${size} bytes).`);
  }
}

/**
 * At least the protobuf size of a decoded message: every string or bytes counted with its tag and length prefix
 * (a UTF-16 code unit is at most 3 UTF-8 bytes), every number or boolean as an 11-byte tagged varint or double,
 * every nested message or list with a 12-byte tag and length; object keys are counted too (only map keys are
 * encoded, so this only adds).
 */
function encodedSizeBound(value: unknown): number {
  if (typeof value === 'string') return 3 * value.length + 6;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return 11;
  if (value instanceof Uint8Array) return value.length + 6;
  if (value === null || typeof value !== 'object') return 0;
  let size = 12;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) size += encodedSizeBound(item);
    return size;
  }
  for (const [key, item] of Object.entries(value)) size += encodedSizeBound(key) + encodedSizeBound(item);
  return size;
}

function firestoreDescriptor(): unknown {
  return require('@google-cloud/firestore/build/protos/v1.json');
}

function applyMask(doc: ValidDocument, mask: string[][] | null): ValidDocument {
  return mask === null ? doc : projectDocument(doc, mask);
}

function queryPath(query: PreparedQuery): string {
  if (query.collectionId === null) return `${query.parentName}/**`;
  return query.allDescendants ? `${query.parentName}/${query.collectionId}=**` : `${query.parentName}/${query.collectionId}`;
}

function fingerprint(documents: ValidDocument[]): string {
  return documents.map((doc) => `${doc.name}@${doc.updateTime.seconds}.${doc.updateTime.nanos}`).join('\n');
}

function encodePageToken(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url');
}

function decodePageToken(token: string): string {
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  if (encodePageToken(decoded) !== token) throw invalid(`Invalid page_token "${token}".`);
  return decoded;
}

interface PreparedAggregation {
  alias: string;
  /** The field a sum or average reads (null for count). */
  path: string[] | null;
  compute: (documents: ValidDocument[]) => ValidValue;
}

function prepareAggregations(aggregations: google.firestore.v1.StructuredAggregationQuery.IAggregation[]): PreparedAggregation[] {
  if (aggregations.length === 0) throw invalid('An aggregation query needs at least one aggregation.');
  if (aggregations.length > MAX_AGGREGATIONS) {
    throw invalid(`The aggregation query has ${aggregations.length} aggregations, more than the maximum number of aggregations (${MAX_AGGREGATIONS}).`);
  }
  const aliases = new Set<string>();
  let defaultAlias = 0;
  return aggregations.map((aggregation) => {
    checkFields(aggregation, ['count', 'sum', 'avg', 'alias'], 'Aggregation');
    const alias = aggregation.alias || `field_${++defaultAlias}`;
    if (aliases.has(alias)) throw invalid(`Aggregation alias "${alias}" is used more than once.`);
    aliases.add(alias);
    const kinds = [aggregation.count, aggregation.sum, aggregation.avg].filter((part) => part !== undefined && part !== null);
    if (kinds.length !== 1) throw invalid(`Aggregation "${alias}" must set exactly one of count, sum, avg.`);
    if (aggregation.count) {
      const upTo = aggregation.count.upTo;
      let limit: bigint | null = null;
      if (upTo) {
        limit = BigInt(String(upTo.value ?? 0));
        if (limit <= 0n) throw invalid(`count up_to of "${alias}" must be greater than zero.`);
      }
      return {
        alias,
        path: null,
        compute: (documents) => {
          const count = BigInt(documents.length);
          return { integerValue: String(limit !== null && count > limit ? limit : count) };
        },
      };
    }
    const operator = aggregation.sum ? 'sum' : 'avg';
    const fieldPath = (aggregation.sum ?? aggregation.avg)?.field?.fieldPath;
    const path = parseFieldPath(fieldPath, `${operator} aggregation "${alias}"`);
    return { alias, path, compute: (documents) => (operator === 'sum' ? sum(documents, path) : average(documents, path)) };
  });
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Numeric values of a field across documents (other types and missing fields are skipped). */
function numericValues(documents: ValidDocument[], path: string[]): NumberValue[] {
  const values: NumberValue[] = [];
  for (const doc of documents) {
    const value = getField(doc.fields, path);
    if (value !== undefined && isNumber(value)) values.push(value);
  }
  return values;
}

/** Integers stay an integer while the sum fits in int64; any double, or an overflow, makes it a double. */
function sum(documents: ValidDocument[], path: string[]): ValidValue {
  let integerSum = 0n;
  let doubleSum = 0;
  let sawDouble = false;
  for (const value of numericValues(documents, path)) {
    if (value.integerValue !== undefined) integerSum += BigInt(integerOf(value.integerValue));
    else {
      sawDouble = true;
      doubleSum += value.doubleValue;
    }
  }
  if (!sawDouble && integerSum >= INT64_MIN && integerSum <= INT64_MAX) return { integerValue: integerSum.toString() };
  return { doubleValue: Number(integerSum) + doubleSum };
}

function average(documents: ValidDocument[], path: string[]): ValidValue {
  const values = numericValues(documents, path);
  if (values.length === 0) return NULL_VALUE;
  let total = 0;
  for (const value of values) total += numberAsDouble(value);
  return { doubleValue: total / values.length };
}
