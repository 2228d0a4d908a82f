/**
 * The RPCs of google.firestore.v1.Firestore that answer one request, as every transport serves them: gRPC
 * (grpc-service.ts), the REST JSON mapping (firestore-rest.ts). Each routes by the resource name in the request to
 * one engine database and returns what the engine answers; server-streaming RPCs return their messages as an
 * array, which gRPC streams and REST sends as one JSON array. The two streams (Listen, Write) are sessions of their
 * own (listen.ts, write-session.ts), shared the same way.
 */
import { randomBytes } from 'crypto';
import type { google } from '@google-cloud/firestore/build/protos/firestore_v1_proto_api';
import { Caller, Code, RpcError } from '../engine/api';
import type { Database } from '../engine';
import { EmulatorState } from './emulator-state';
import { FIRESTORE_SERVICE_NAME } from './protobuf';
import { databaseFromDocumentsPath, databaseFromName, DatabaseRef } from './resource-names';

export interface RpcMethod<Req = never, Res = unknown> {
  /** True for server-streaming RPCs: the result is every message, in order. */
  streaming: boolean;
  run(state: EmulatorState, request: Req, caller: Caller): Promise<Res>;
}

const OWNER: Caller = { kind: 'owner' };
const AUTO_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function at(state: EmulatorState, ref: DatabaseRef): Database {
  return state.database(ref.projectId, ref.databaseId);
}

function unary<Req, Res>(run: (state: EmulatorState, request: Req, caller: Caller) => Promise<Res>): RpcMethod<Req, Res> {
  return { streaming: false, run };
}

function streaming<Req, Res>(run: (state: EmulatorState, request: Req, caller: Caller) => Promise<Res[]>): RpcMethod<Req, Res[]> {
  return { streaming: true, run };
}

export function unimplemented(method: string): RpcError {
  return new RpcError(Code.UNIMPLEMENTED, `${FIRESTORE_SERVICE_NAME}.${method} is not implemented by the offline Firestore emulator`);
}

/** Client-assigned document ids as the SDKs make them: 20 characters of [A-Za-z0-9]. */
function autoId(): string {
  const bytes = randomBytes(20);
  let id = '';
  for (const byte of bytes) id += AUTO_ID_ALPHABET[byte % AUTO_ID_ALPHABET.length];
  return id;
}

/**
 * CreateDocument, UpdateDocument and DeleteDocument are one-write commits (so rules, preconditions and listeners
 * see exactly what a Commit of that write does); the document they return is read back at the commit time.
 */
async function writeOne(
  database: Database,
  write: google.firestore.v1.IWrite,
  caller: Caller,
  mask: google.firestore.v1.IDocumentMask | null | undefined,
): Promise<google.firestore.v1.IDocument> {
  const committed = await database.commit({ database: database.name, writes: [write] }, caller);
  const name = write.update?.name ?? '';
  // The caller was just allowed to write it; reading back what it wrote is not a separate read.
  return database.getDocument({ name, readTime: committed.commitTime, ...(mask ? { mask } : {}) }, OWNER);
}

// Each engine-backed method states the protobuf message the transports encode: the engine's narrowed results
// must stay assignable to it.
export const rpcMethods = {
  GetDocument: unary((state, req: google.firestore.v1.IGetDocumentRequest, caller): Promise<google.firestore.v1.IDocument> =>
    at(state, databaseFromDocumentsPath(req.name, 'name')).getDocument(req, caller),
  ),
  BatchGetDocuments: streaming((state, req: google.firestore.v1.IBatchGetDocumentsRequest, caller): Promise<google.firestore.v1.IBatchGetDocumentsResponse[]> =>
    at(state, databaseFromName(req.database, 'database')).batchGetDocuments(req, caller),
  ),
  BeginTransaction: unary((state, req: google.firestore.v1.IBeginTransactionRequest, caller): Promise<google.firestore.v1.IBeginTransactionResponse> =>
    at(state, databaseFromName(req.database, 'database')).beginTransaction(req, caller),
  ),
  Commit: unary((state, req: google.firestore.v1.ICommitRequest, caller): Promise<google.firestore.v1.ICommitResponse> =>
    at(state, databaseFromName(req.database, 'database')).commit(req, caller),
  ),
  Rollback: unary(async (state, req: google.firestore.v1.IRollbackRequest, caller) => {
    await at(state, databaseFromName(req.database, 'database')).rollback(req, caller);
    return {};
  }),
  RunQuery: streaming((state, req: google.firestore.v1.IRunQueryRequest, caller): Promise<google.firestore.v1.IRunQueryResponse[]> =>
    at(state, databaseFromDocumentsPath(req.parent, 'parent')).runQuery(req, caller),
  ),
  RunAggregationQuery: streaming(
    (state, req: google.firestore.v1.IRunAggregationQueryRequest, caller): Promise<google.firestore.v1.IRunAggregationQueryResponse[]> =>
      at(state, databaseFromDocumentsPath(req.parent, 'parent')).runAggregationQuery(req, caller),
  ),
  BatchWrite: unary((state, req: google.firestore.v1.IBatchWriteRequest, caller): Promise<google.firestore.v1.IBatchWriteResponse> =>
    at(state, databaseFromName(req.database, 'database')).batchWrite(req, caller),
  ),
  ListDocuments: unary((state, req: google.firestore.v1.IListDocumentsRequest, caller): Promise<google.firestore.v1.IListDocumentsResponse> =>
    at(state, databaseFromDocumentsPath(req.parent, 'parent')).listDocuments(req, caller),
  ),
  ListCollectionIds: unary((state, req: google.firestore.v1.IListCollectionIdsRequest, caller): Promise<google.firestore.v1.IListCollectionIdsResponse> =>
    at(state, databaseFromDocumentsPath(req.parent, 'parent')).listCollectionIds(req, caller),
  ),
  CreateDocument: unary(async (state, req: google.firestore.v1.ICreateDocumentRequest, caller) => {
    const database = at(state, databaseFromDocumentsPath(req.parent, 'parent'));
    if (!req.collectionId) throw new RpcError(Code.INVALID_ARGUMENT, 'Missing required field "collection_id"');
    if (req.document?.name)
      throw new RpcError(Code.INVALID_ARGUMENT, 'A document to create must not carry a name: it is built from parent, collection_id and document_id');
    const name = `${req.parent}/${req.collectionId}/${req.documentId || autoId()}`;
    const write = { update: { fields: req.document?.fields ?? {}, name }, currentDocument: { exists: false } };
    return writeOne(database, write, caller, req.mask);
  }),
  UpdateDocument: unary(async (state, req: google.firestore.v1.IUpdateDocumentRequest, caller) => {
    const database = at(state, databaseFromDocumentsPath(req.document?.name, 'document.name'));
    const write: google.firestore.v1.IWrite = { update: { name: req.document?.name, fields: req.document?.fields ?? {} } };
    if (req.updateMask) write.updateMask = req.updateMask;
    if (req.currentDocument) write.currentDocument = req.currentDocument;
    return writeOne(database, write, caller, req.mask);
  }),
  DeleteDocument: unary(async (state, req: google.firestore.v1.IDeleteDocumentRequest, caller) => {
    const database = at(state, databaseFromDocumentsPath(req.name, 'name'));
    const write: google.firestore.v1.IWrite = { delete: req.name };
    if (req.currentDocument) write.currentDocument = req.currentDocument;
    await database.commit({ database: database.name, writes: [write] }, caller);
    return {};
  }),
  PartitionQuery: unary(async () => {
    throw unimplemented('PartitionQuery');
  }),
} satisfies Record<string, RpcMethod>;

export type RpcName = keyof typeof rpcMethods;

export function isRpcName(name: string): name is RpcName {
  return Object.prototype.hasOwnProperty.call(rpcMethods, name);
}
