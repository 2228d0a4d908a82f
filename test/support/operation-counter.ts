/**
 * Document reads and writes made through the Admin SDK in this process, counted the way Firestore bills them.
 * Reads: test/billing/read-counter.ts. Writes: one per write of every commit that succeeded (batches,
 * transactions and BulkWriter's batches all commit through WriteBatch._commit; a transaction that is retried
 * after a conflict is billed, and counted, for the attempt that commits). The offline emulator counts rules
 * lookups per client request (`:rulesDecisions`), but not the server's reads and writes, hence this.
 */
import { WriteBatch } from '@google-cloud/firestore/build/src/write-batch';
import { countReads, installReadCounter } from '../billing/read-counter';

let writes = 0;
let installed = false;

export function installOperationCounter(): void {
  installReadCounter();
  if (installed) return;
  installed = true;
  // Internal SDK class: typed here only as far as this counter needs it.
  const batch = WriteBatch.prototype as unknown as { _commit: (this: { _opCount: number }, ...args: unknown[]) => Promise<unknown> };
  const commit = batch._commit;
  batch._commit = async function (...args) {
    const operations = this._opCount;
    const result = await commit.apply(this, args);
    writes += operations;
    return result;
  };
}

export interface Counted<T> {
  result: T;
  reads: number;
  writes: number;
  seconds: number;
}

/** Reads, writes and wall time of `action` (run one action at a time for a meaningful count). */
export async function countOperations<T>(action: () => Promise<T>): Promise<Counted<T>> {
  const writesBefore = writes;
  const started = performance.now();
  const { result, reads } = await countReads(action);
  return { result, reads, writes: writes - writesBefore, seconds: (performance.now() - started) / 1000 };
}
