/**
 * A client request described once, run two ways: through the web SDK against an emulator (`runOnClient`), or
 * in-process against the rules engine (./in-process.ts). Document data may hold `NOW` where the client sends
 * `serverTimestamp()` (the rules see `request.time`), and `clientTime(ms)` where it sends a time of its own.
 */
import {
  collection,
  collectionGroup,
  deleteDoc,
  doc,
  getDoc,
  getDocs,
  query,
  serverTimestamp,
  setDoc,
  Timestamp as ClientTimestamp,
  updateDoc,
  where,
  writeBatch,
  type DocumentData,
  type Firestore as ClientFirestore,
} from 'firebase/firestore';
import { Timestamp as AdminTimestamp } from 'firebase-admin/firestore';

/** The request time, as `serverTimestamp()` in a write. */
export const NOW = Symbol('request.time');
/** A timestamp the client chose (not the request time). */
export class ClientTime {
  constructor(readonly millis: number) {}
}
export const clientTime = (millis: number) => new ClientTime(millis);

export type AccessRequest =
  | { kind: 'get'; path: string }
  | { kind: 'list'; collectionPath: string }
  | { kind: 'group'; collectionId: string; where?: { field: string; value: string } }
  | { kind: 'create'; path: string; data: DocumentData }
  | { kind: 'update'; path: string; data: DocumentData }
  | { kind: 'delete'; path: string }
  /** Several writes committed together (a batch). */
  | { kind: 'batch'; writes: ({ kind: 'create' | 'update'; path: string; data: DocumentData } | { kind: 'delete'; path: string })[] };

export function describeRequest(request: AccessRequest): string {
  switch (request.kind) {
    case 'list':
      return `list ${request.collectionPath}`;
    case 'group':
      return `list group ${request.collectionId}${request.where ? ` where ${request.where.field} == ${request.where.value}` : ''}`;
    case 'batch':
      return `batch [${request.writes.map((w) => `${w.kind} ${w.path}`).join(', ')}]`;
    default:
      return `${request.kind} ${request.path}`;
  }
}

/** Replaces the time markers in document data, recursively. */
function mapTimes(data: unknown, now: () => unknown, client: (t: ClientTime) => unknown): unknown {
  if (data === NOW) return now();
  if (data instanceof ClientTime) return client(data);
  if (Array.isArray(data)) return data.map((item) => mapTimes(item, now, client));
  if (data !== null && typeof data === 'object') {
    return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, mapTimes(value, now, client)]));
  }
  return data;
}

/** The data as the web client sends it. */
function clientData(data: DocumentData): DocumentData {
  return mapTimes(
    data,
    () => serverTimestamp(),
    (t) => ClientTimestamp.fromMillis(t.millis),
  ) as DocumentData;
}

/** The data as the stored document would be, for the zod schemas (NOW becomes the current time). */
export function storedData(data: DocumentData, now = AdminTimestamp.now()): DocumentData {
  return mapTimes(
    data,
    () => now,
    (t) => AdminTimestamp.fromMillis(t.millis),
  ) as DocumentData;
}

/** Runs the request through the web SDK; resolves with the snapshot (reads) or nothing (writes). */
export function runOnClient(db: ClientFirestore, request: AccessRequest): Promise<unknown> {
  switch (request.kind) {
    case 'get':
      return getDoc(doc(db, request.path));
    case 'list':
      return getDocs(collection(db, request.collectionPath));
    case 'group': {
      const group = collectionGroup(db, request.collectionId);
      return getDocs(request.where ? query(group, where(request.where.field, '==', request.where.value)) : group);
    }
    case 'create':
      return setDoc(doc(db, request.path), clientData(request.data));
    case 'update':
      return updateDoc(doc(db, request.path), clientData(request.data));
    case 'delete':
      return deleteDoc(doc(db, request.path));
    case 'batch': {
      const batch = writeBatch(db);
      for (const write of request.writes) {
        if (write.kind === 'delete') batch.delete(doc(db, write.path));
        else if (write.kind === 'create') batch.set(doc(db, write.path), clientData(write.data));
        else batch.update(doc(db, write.path), clientData(write.data));
      }
      return batch.commit();
    }
  }
}
