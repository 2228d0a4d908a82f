/**
 * Transactions of one database. Read-write transactions are pessimistic: every document they read or write
 * is locked exclusively until they commit or roll back. Conflicts resolve by wound-wait: a transaction that
 * wants a lock held by a younger one aborts it ("wounds" it) on the spot: the victim's locks are released and
 * any lock wait of it fails with ABORTED at once, even while it is blocked; a younger one waits for an older
 * holder. Age is fixed when a transaction first begins and kept across retries
 * (`read_write.retry_transaction`), so a retried transaction eventually becomes the oldest and cannot starve;
 * two retries of one transaction share its age and the one begun first counts as older. Waits only go from
 * younger to older, so there are no deadlocks. Non-transactional writes wait for the locks of the documents
 * they write (they hold none, so they never take part in a deadlock).
 *
 * Timers here use the wall clock (Date.now), not the engine's commit clock.
 */
import { randomBytes } from 'node:crypto';
import type { google } from '@google-cloud/firestore/build/protos/firestore_v1_proto_api';
import { Code, RpcError } from './api';
import type { Micros } from './time';

export const EXPIRED_MESSAGE = 'The referenced transaction has expired or is no longer valid.';
export const CONTENTION_MESSAGE = 'Too much contention on these documents. Please try again.';

export type TransactionState = 'active' | 'committed' | 'rolledBack' | 'aborted';

/** A query a read-write transaction ran, re-checked at commit so no phantom can slip in. */
export interface RecordedQuery {
  rerun: () => string;
  fingerprint: string;
}

export class Transaction {
  state: TransactionState = 'active';
  /** Why an aborted transaction was aborted (the message its next request gets). */
  abortMessage = EXPIRED_MESSAGE;
  readonly locks = new Set<string>();
  readonly queries: RecordedQuery[] = [];
  lastUsedMs = Date.now();
  finishedAtMs = 0;
  /** Rejecters of the lock waits in progress (concurrent requests may each wait): ending the transaction
   *  rejects them all. */
  readonly pendingWaits = new Set<(error: RpcError) => void>();

  constructor(
    readonly id: Buffer,
    readonly readWrite: boolean,
    /** Age: lower is older. Retries share the age of the transaction they retry. */
    readonly priority: number,
    /** Order of creation, unique: breaks ties between transactions of the same age. */
    readonly sequence: number,
    /** Read-only transactions read this snapshot; read-write ones read the latest (locked) state. */
    readonly readMicros: Micros | null,
  ) {}

  get key(): string {
    return this.id.toString('hex');
  }

  /** Wound-wait order: a strict total order, so of two conflicting transactions exactly one waits. */
  isOlderThan(other: Transaction): boolean {
    return this.priority !== other.priority ? this.priority < other.priority : this.sequence < other.sequence;
  }
}

export interface TransactionTimeouts {
  idleTimeoutMs: number;
  lockWaitTimeoutMs: number;
}

interface Waiter {
  /** null for a non-transactional write: woken after every transaction waiting for the same lock. */
  transaction: Transaction | null;
  wake: () => void;
}

/** Finished transactions are remembered this long to answer retries and late rollbacks. */
const FINISHED_RETENTION_MS = 10 * 60_000;
const SWEEP_INTERVAL_MS = 30_000;

export class Transactions {
  private readonly byKey = new Map<string, Transaction>();
  private readonly holders = new Map<string, Transaction>();
  private readonly waiters = new Map<string, Waiter[]>();
  private nextPriority = 1;
  private nextSequence = 1;
  private lastSweepMs = Date.now();

  constructor(private readonly timeouts: TransactionTimeouts) {}

  /** Starts a transaction; `snapshotMicros` is the read time of a read-only one (already validated). */
  begin(options: google.firestore.v1.ITransactionOptions | null | undefined, snapshotMicros: () => Micros): Transaction {
    this.sweep();
    if (options?.readOnly && options.readWrite) throw invalid('Transaction options cannot be both read_only and read_write.');
    let transaction: Transaction;
    if (options?.readOnly) {
      transaction = new Transaction(randomBytes(16), false, this.nextPriority++, this.nextSequence++, snapshotMicros());
    } else {
      const retry = options?.readWrite?.retryTransaction;
      let priority = this.nextPriority++;
      if (retry && retry.length > 0) {
        const previous = this.byKey.get(Buffer.from(retry).toString('hex'));
        if (!previous) throw invalid('Invalid transaction.');
        if (!previous.readWrite) throw invalid('read-only transaction cannot be retried as read-write');
        if (previous.state === 'committed') throw invalid('Invalid retry transaction.');
        if (previous.state === 'active') this.finish(previous, 'rolledBack');
        priority = previous.priority;
      }
      transaction = new Transaction(randomBytes(16), true, priority, this.nextSequence++, null);
    }
    this.byKey.set(transaction.key, transaction);
    return transaction;
  }

  /** The active transaction with this id; ABORTED when it is finished or expired, INVALID_ARGUMENT if unknown. */
  find(id: Uint8Array): Transaction {
    const transaction = this.byKey.get(Buffer.from(id).toString('hex'));
    if (!transaction) throw invalid('Invalid transaction.');
    this.ensureActive(transaction);
    transaction.lastUsedMs = Date.now();
    return transaction;
  }

  /** Throws what a finished, wounded or idle-expired transaction answers. */
  ensureActive(transaction: Transaction): void {
    if (transaction.state === 'active' && this.isIdle(transaction)) this.abort(transaction, EXPIRED_MESSAGE);
    if (transaction.state === 'aborted') throw new RpcError(Code.ABORTED, transaction.abortMessage);
    if (transaction.state !== 'active') throw new RpcError(Code.ABORTED, EXPIRED_MESSAGE);
  }

  /** Rollback: releases the locks. Rolling back a wounded transaction is fine; a finished one is not. */
  rollback(id: Uint8Array): void {
    const transaction = this.byKey.get(Buffer.from(id).toString('hex'));
    if (!transaction) throw invalid('Invalid transaction.');
    if (transaction.state === 'aborted' && transaction.abortMessage === CONTENTION_MESSAGE) {
      transaction.state = 'rolledBack';
      return;
    }
    this.ensureActive(transaction);
    this.finish(transaction, 'rolledBack');
  }

  /** Ends a transaction: releases its locks, and fails at once any request of it still waiting for a lock. */
  finish(transaction: Transaction, state: Exclude<TransactionState, 'active'>): void {
    transaction.state = state;
    transaction.finishedAtMs = Date.now();
    this.release(transaction);
    const error = new RpcError(Code.ABORTED, state === 'aborted' ? transaction.abortMessage : EXPIRED_MESSAGE);
    for (const reject of [...transaction.pendingWaits]) reject(error);
  }

  private abort(transaction: Transaction, message: string): void {
    transaction.abortMessage = message;
    this.finish(transaction, 'aborted');
  }

  /** Aborts every transaction (the database was cleared). */
  abortAll(): void {
    for (const transaction of this.byKey.values()) {
      if (transaction.state === 'active') this.abort(transaction, EXPIRED_MESSAGE);
    }
  }

  private isIdle(transaction: Transaction): boolean {
    return transaction.pendingWaits.size === 0 && Date.now() - transaction.lastUsedMs > this.timeouts.idleTimeoutMs;
  }

  /** Locks `names` for a read-write transaction (wound-wait). Throws ABORTED when wounded or timed out. */
  async lock(transaction: Transaction, names: Iterable<string>): Promise<void> {
    const deadline = Date.now() + this.timeouts.lockWaitTimeoutMs;
    for (const name of names) {
      for (;;) {
        this.ensureActive(transaction);
        const holder = this.holders.get(name);
        if (holder === undefined || holder === transaction) {
          this.holders.set(name, transaction);
          transaction.locks.add(name);
          break;
        }
        if (holder.state !== 'active' || this.isIdle(holder)) {
          this.abort(holder, EXPIRED_MESSAGE);
          continue;
        }
        if (transaction.isOlderThan(holder)) {
          this.abort(holder, CONTENTION_MESSAGE);
          continue;
        }
        if (Date.now() >= deadline) {
          this.abort(transaction, CONTENTION_MESSAGE);
          throw new RpcError(Code.ABORTED, CONTENTION_MESSAGE);
        }
        await this.waitFor(name, transaction, Math.min(deadline, holder.lastUsedMs + this.timeouts.idleTimeoutMs + 1));
      }
    }
    transaction.lastUsedMs = Date.now();
  }

  /**
   * Resolves once no active transaction holds a lock on any of `names` (a non-transactional write); throws
   * ABORTED after the lock wait timeout. A lock may be taken again before the caller resumes, so callers loop:
   * `while (lockedBy(names)) await waitUntilUnlocked(names)`, then apply in that same tick.
   */
  async waitUntilUnlocked(names: readonly string[]): Promise<void> {
    const deadline = Date.now() + this.timeouts.lockWaitTimeoutMs;
    for (;;) {
      const lock = this.activeLock(names);
      if (lock === null) return;
      if (Date.now() >= deadline) throw new RpcError(Code.ABORTED, CONTENTION_MESSAGE);
      const { name, holder } = lock;
      await this.waitFor(name, null, Math.min(deadline, holder.lastUsedMs + this.timeouts.idleTimeoutMs + 1));
    }
  }

  /** The active transaction holding a lock on one of `names`, expiring idle holders on the way. */
  lockedBy(names: readonly string[]): Transaction | null {
    return this.activeLock(names)?.holder ?? null;
  }

  /** The first of `names` an active transaction holds a lock on, and that transaction. */
  private activeLock(names: readonly string[]): { name: string; holder: Transaction } | null {
    for (const name of names) {
      const holder = this.holders.get(name);
      if (holder === undefined) continue;
      if (holder.state !== 'active' || this.isIdle(holder)) {
        this.abort(holder, EXPIRED_MESSAGE);
        continue;
      }
      return { name, holder };
    }
    return null;
  }

  /**
   * Resolves when the lock on `name` is released or at `untilMs` (the caller then looks again); rejects when
   * `transaction` ends meanwhile (wounded, rolled back, expired).
   */
  private waitFor(name: string, transaction: Transaction | null, untilMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let list = this.waiters.get(name);
      if (!list) this.waiters.set(name, (list = []));
      const settle = () => {
        clearTimeout(timer);
        transaction?.pendingWaits.delete(rejectWait);
        const current = this.waiters.get(name);
        if (current) {
          const index = current.indexOf(waiter);
          if (index >= 0) current.splice(index, 1);
          if (current.length === 0) this.waiters.delete(name);
        }
      };
      const rejectWait = (error: RpcError) => {
        settle();
        reject(error);
      };
      const waiter: Waiter = {
        transaction,
        wake: () => {
          settle();
          resolve();
        },
      };
      list.push(waiter);
      transaction?.pendingWaits.add(rejectWait);
      const timer = setTimeout(waiter.wake, Math.max(1, untilMs - Date.now()));
      timer.unref();
    });
  }

  private release(transaction: Transaction): void {
    for (const name of transaction.locks) {
      if (this.holders.get(name) === transaction) this.holders.delete(name);
      const list = this.waiters.get(name);
      if (!list) continue;
      this.waiters.delete(name);
      // Promise continuations run in the order they were resolved.
      list.sort(wakeOrder);
      for (const waiter of list) waiter.wake();
    }
    transaction.locks.clear();
  }

  /** Expires idle transactions (releasing their locks) and forgets long-finished ones. */
  private sweep(): void {
    const now = Date.now();
    if (now - this.lastSweepMs < SWEEP_INTERVAL_MS) return;
    this.lastSweepMs = now;
    for (const [key, transaction] of this.byKey) {
      if (transaction.state === 'active' && this.isIdle(transaction)) this.abort(transaction, EXPIRED_MESSAGE);
      else if (transaction.state !== 'active' && now - transaction.finishedAtMs > FINISHED_RETENTION_MS) this.byKey.delete(key);
    }
  }
}

/** The waiters of one lock are woken oldest transaction first, non-transactional writes last. */
function wakeOrder(a: Waiter, b: Waiter): number {
  if (a.transaction === b.transaction) return 0;
  if (a.transaction === null) return 1;
  if (b.transaction === null) return -1;
  return a.transaction.isOlderThan(b.transaction) ? -1 : 1;
}

function invalid(message: string): RpcError {
  return new RpcError(Code.INVALID_ARGUMENT, message);
}
