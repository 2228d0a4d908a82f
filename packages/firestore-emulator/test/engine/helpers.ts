/**
 * Builders for engine tests: values, writes and queries in the protobufjs shapes the server hands the engine.
 */
import type { google } from '@google-cloud/firestore/build/protos/firestore_v1_proto_api';
import { expect } from 'vitest';
import { Caller, Code, createEngine, Database, Engine, EngineOptions, RpcError, ValidTimestamp, ValidValue, Value } from '../../src/engine';

export type Write = google.firestore.v1.IWrite;
export type Query = google.firestore.v1.IStructuredQuery;
type Filter = google.firestore.v1.StructuredQuery.IFilter;

export const OWNER: Caller = { kind: 'owner' };
export const ANONYMOUS: Caller = { kind: 'anonymous' };

export const PROJECT = 'demo-engine';
export const DATABASE = `projects/${PROJECT}/databases/(default)`;
export const ROOT = `${DATABASE}/documents`;

export function doc(path: string): string {
  return `${ROOT}/${path}`;
}

export interface Fixture {
  engine: Engine;
  db: Database;
}

export function setup(options: EngineOptions = {}): Fixture {
  const engine = createEngine(options);
  return { engine, db: engine.database(PROJECT, '(default)') };
}

// Values ----------------------------------------------------------------------------------------------------

export const nul = (): ValidValue => ({ nullValue: 'NULL_VALUE' });
export const bool = (b: boolean): ValidValue => ({ booleanValue: b });
export const int = (n: number | bigint | string): ValidValue => ({ integerValue: String(n) });
export const dbl = (n: number): ValidValue => ({ doubleValue: n });
export const str = (s: string): ValidValue => ({ stringValue: s });
export const bytes = (...b: number[]): ValidValue => ({ bytesValue: Buffer.from(b) });
export const ts = (seconds: number, nanos = 0): ValidValue => ({ timestampValue: { seconds: String(seconds), nanos } });
export const ref = (path: string): ValidValue => ({ referenceValue: doc(path) });
export const geo = (latitude: number, longitude: number): ValidValue => ({ geoPointValue: { latitude, longitude } });
export const arr = (...values: ValidValue[]): ValidValue => ({ arrayValue: { values } });
export const map = (fields: Record<string, ValidValue>): ValidValue => ({ mapValue: { fields } });
export const vector = (...n: number[]): ValidValue => map({ __type__: str('__vector__'), value: arr(...n.map(dbl)) });

/** Plain JS data to Firestore fields (numbers: integers when whole, else doubles). */
export function fields(data: Record<string, unknown>): Record<string, ValidValue> {
  const result: Record<string, ValidValue> = {};
  for (const [key, value] of Object.entries(data)) result[key] = toValue(value);
  return result;
}

const VALUE_KINDS = [
  'nullValue',
  'booleanValue',
  'integerValue',
  'doubleValue',
  'timestampValue',
  'stringValue',
  'bytesValue',
  'referenceValue',
  'geoPointValue',
  'arrayValue',
  'mapValue',
];

export function toValue(value: unknown): ValidValue {
  if (value === null) return nul();
  if (typeof value === 'boolean') return bool(value);
  if (typeof value === 'number') return Number.isInteger(value) && !Object.is(value, -0) ? int(value) : dbl(value);
  if (typeof value === 'bigint') return int(value);
  if (typeof value === 'string') return str(value);
  if (Array.isArray(value)) return arr(...value.map(toValue));
  // Already a Value the test built with the builders above (int(1), dbl(NaN), ref('c/a')): used as is.
  if (typeof value === 'object' && value !== null && VALUE_KINDS.some((kind) => kind in value)) return value as ValidValue;
  return map(fields(value as Record<string, unknown>));
}

/** Firestore fields back to plain JS (integers as numbers when safe). */
export function plain(value: Value): unknown {
  if (value.nullValue !== undefined) return null;
  if (value.booleanValue !== undefined && value.booleanValue !== null) return value.booleanValue;
  if (value.integerValue !== undefined && value.integerValue !== null) {
    const n = BigInt(String(value.integerValue));
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  }
  if (value.doubleValue !== undefined && value.doubleValue !== null) return value.doubleValue;
  if (value.stringValue !== undefined && value.stringValue !== null) return value.stringValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plain);
  if (value.mapValue) return plainFields(value.mapValue.fields ?? {});
  return value;
}

export function plainFields(data: Record<string, Value> | null | undefined): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data ?? {})) result[key] = plain(value);
  return result;
}

// Writes ----------------------------------------------------------------------------------------------------

export function set(path: string, data: Record<string, unknown>, extra: Partial<Write> = {}): Write {
  return { update: { name: doc(path), fields: fields(data) }, ...extra };
}

/** An update of the given field paths (as firebase-admin's update(): mask + exists precondition). */
export function update(path: string, data: Record<string, unknown>, mask: string[], extra: Partial<Write> = {}): Write {
  return { update: { name: doc(path), fields: fields(data) }, updateMask: { fieldPaths: mask }, currentDocument: { exists: true }, ...extra };
}

export function merge(path: string, data: Record<string, unknown>, mask: string[], extra: Partial<Write> = {}): Write {
  return { update: { name: doc(path), fields: fields(data) }, updateMask: { fieldPaths: mask }, ...extra };
}

export function del(path: string, extra: Partial<Write> = {}): Write {
  return { delete: doc(path), ...extra };
}

export async function commit(db: Database, writes: Write[], caller: Caller = OWNER, transaction?: Uint8Array) {
  return db.commit({ database: DATABASE, writes, transaction }, caller);
}

export async function get(db: Database, path: string, caller: Caller = OWNER) {
  const [response] = await db.batchGetDocuments({ database: DATABASE, documents: [doc(path)] }, caller);
  return response.found ?? null;
}

export async function getData(db: Database, path: string): Promise<Record<string, unknown> | null> {
  const found = await get(db, path);
  return found ? plainFields(found.fields) : null;
}

// Queries ---------------------------------------------------------------------------------------------------

export function where(field: string, op: string, value: unknown): Filter {
  return { fieldFilter: { field: { fieldPath: field }, op: op as never, value: toValue(value) } };
}

export function unary(field: string, op: string): Filter {
  return { unaryFilter: { field: { fieldPath: field }, op: op as never } };
}

export function and(...filters: Filter[]): Filter {
  return { compositeFilter: { op: 'AND' as never, filters } };
}

export function or(...filters: Filter[]): Filter {
  return { compositeFilter: { op: 'OR' as never, filters } };
}

export function orderBy(field: string, direction: 'ASCENDING' | 'DESCENDING' = 'ASCENDING') {
  return { field: { fieldPath: field }, direction: direction as never };
}

/** Runs a query and returns the ids (last path segment) of the result documents. */
export async function ids(db: Database, query: Query, parent = ROOT, caller: Caller = OWNER): Promise<string[]> {
  return (await names(db, query, parent, caller)).map((name) => name.slice(name.lastIndexOf('/') + 1));
}

/** Runs a query and returns the paths (below the documents root) of the result documents. */
export async function names(db: Database, query: Query, parent = ROOT, caller: Caller = OWNER): Promise<string[]> {
  const responses = await db.runQuery({ parent, structuredQuery: query }, caller);
  return responses.flatMap((r) => (r.document ? [r.document.name.slice(ROOT.length + 1)] : []));
}

export function collection(collectionId: string, rest: Query = {}): Query {
  return { from: [{ collectionId }], ...rest };
}

// Errors ----------------------------------------------------------------------------------------------------

export async function expectRpcError(promise: Promise<unknown>, code: Code, message?: string | RegExp): Promise<RpcError> {
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  expect(error, 'expected the call to fail').toBeInstanceOf(RpcError);
  const rpcError = error as RpcError;
  expect(Code[rpcError.code], rpcError.message).toBe(Code[code]);
  if (message !== undefined) expect(rpcError.message).toMatch(message);
  return rpcError;
}

export function micros({ seconds, nanos }: ValidTimestamp): number {
  return Number(seconds) * 1e6 + Math.floor(nanos / 1000);
}
