/**
 * Counts Firestore document reads made through the Admin SDK in this process, the way Firestore bills them: one
 * per document fetched by id (found or not), one per document a query returns and at least one per query. The
 * offline emulator exposes no read counter, so this instruments the SDK's two read paths (every get, getAll,
 * transaction read and query goes through one of them).
 */
import { DocumentReader } from '@google-cloud/firestore/build/src/document-reader';
import { Query } from '@google-cloud/firestore/build/src/reference/query';

let reads = 0;
let installed = false;

export function installReadCounter(): void {
  if (installed) return;
  installed = true;
  // Internal SDK classes: typed here only as far as this counter needs them.
  const reader = DocumentReader.prototype as unknown as { _get: (this: { allDocuments: unknown[] }, ...args: unknown[]) => Promise<unknown> };
  const readDocuments = reader._get;
  reader._get = function (...args) {
    reads += this.allDocuments.length;
    return readDocuments.apply(this, args);
  };
  const query = Query.prototype as unknown as { _get: (this: unknown, ...args: unknown[]) => Promise<{ result?: { size: number } }> };
  const runQuery = query._get;
  query._get = async function (this: unknown, ...args) {
    const response = await runQuery.apply(this, args);
    reads += Math.max(1, response.result?.size ?? 0);
    return response;
  };
}

/** Reads counted while `action` ran (run one action at a time for a meaningful count). */
export async function countReads<T>(action: () => Promise<T>): Promise<{ result: T; reads: number }> {
  const before = reads;
  const result = await action();
  return { result, reads: reads - before };
}
