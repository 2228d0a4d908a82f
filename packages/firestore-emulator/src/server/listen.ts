/**
 * The Listen stream: many targets (document lists or queries) on one stream, answered as Google's backend does.
 *
 * A new target gets TargetChange ADD, its documents as DocumentChange, CURRENT with a resume token, then a global
 * TargetChange NO_CHANGE with no target ids and a read time: the marker that every target on the stream is
 * consistent as of that time, which is when the SDKs raise a snapshot. After each commit that touches a target,
 * the target is evaluated again and only the differences are sent (DocumentChange, DocumentDelete for deleted
 * documents, DocumentRemove for documents that no longer match), followed by a new global NO_CHANGE.
 *
 * All targets that need work are evaluated together at one read time, so each global NO_CHANGE is a consistent
 * snapshot and read times never go backwards on a stream. A resumed target (resume_token or read_time) is sent
 * RESET and its full current state, which every SDK handles; rules denials and other errors remove only that
 * target (TargetChange REMOVE with the cause).
 */
import type { google } from '@google-cloud/firestore/build/protos/firestore_v1_proto_api';
import { Caller, Code, RpcError, ValidDocument, ValidTimestamp } from '../engine/api';
import type { Database, TargetSnapshot } from '../engine';
import { EmulatorState } from './emulator-state';
import type { StreamOutput, StreamSession } from './grpc-service';
import { databaseFromName } from './resource-names';

const OWNER: Caller = { kind: 'owner' };

interface TargetState {
  readonly id: number;
  readonly target: google.firestore.v1.ITarget;
  /** Whether a document of this name can belong to the target (so a commit touching it needs a re-evaluation). */
  readonly mayContain: (name: string) => boolean;
  /** The documents the client has been sent for this target, by name, with their update times; null until the
   *  target's initial state has been sent. */
  contents: Map<string, string> | null;
  /** Set when the client removed the target while it was being evaluated. */
  removed: boolean;
}

type Evaluation = { state: TargetState; snapshot: TargetSnapshot } | { state: TargetState; error: RpcError };

/** What one document message must say after a round. */
interface DocumentUpdate {
  document?: ValidDocument;
  targetIds: number[];
  removedTargetIds: number[];
  /** Known deleted (a document target found it missing); otherwise checked before sending. */
  deleted: boolean;
}

export class ListenSession implements StreamSession<google.firestore.v1.IListenRequest> {
  private database: Database | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly targets = new Map<number, TargetState>();
  /** Targets a commit may have changed since they were last evaluated. */
  private readonly dirty = new Set<number>();
  private syncing = false;
  private closed = false;

  constructor(
    private readonly state: EmulatorState,
    private readonly caller: Caller,
    private readonly output: StreamOutput<google.firestore.v1.IListenResponse>,
  ) {}

  handle(request: google.firestore.v1.IListenRequest): void {
    const database = this.databaseFor(request);
    if (request.addTarget) this.addTarget(request.addTarget);
    else if (request.removeTarget !== undefined && request.removeTarget !== null) this.removeTarget(request.removeTarget);
    else throw new RpcError(Code.INVALID_ARGUMENT, 'A ListenRequest must set add_target or remove_target');
    this.scheduleSync(database);
  }

  clientDone(): void {
    this.output.end();
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private databaseFor(request: google.firestore.v1.IListenRequest): Database {
    if (this.database) {
      if (request.database && request.database !== this.database.name) {
        throw new RpcError(Code.INVALID_ARGUMENT, `This Listen stream is for database "${this.database.name}", not "${request.database}"`);
      }
      return this.database;
    }
    const ref = databaseFromName(request.database, 'database');
    const database = this.state.database(ref.projectId, ref.databaseId);
    this.database = database;
    this.unsubscribe = this.state.engine.onCommit(ref.projectId, ref.databaseId, (event) => {
      for (const target of this.targets.values()) {
        if (event.changed.some(target.mayContain)) this.dirty.add(target.id);
      }
      if (this.dirty.size > 0) this.scheduleSync(database);
    });
    return database;
  }

  private addTarget(target: google.firestore.v1.ITarget): void {
    let id = target.targetId ?? 0;
    if (id < 0) throw new RpcError(Code.INVALID_ARGUMENT, `target_id must be positive, got ${id}`);
    if (id === 0) id = this.unusedTargetId();
    if (this.targets.has(id)) throw new RpcError(Code.INVALID_ARGUMENT, `Target ID ${id} is already in use on this stream`);
    if (!target.query && !target.documents) {
      throw new RpcError(Code.INVALID_ARGUMENT, 'A Listen target must set query or documents');
    }
    this.targets.set(id, { id, target: { ...target, targetId: id }, mayContain: membershipTest(target), contents: null, removed: false });
  }

  private removeTarget(id: number): void {
    const state = this.targets.get(id);
    // A target the server already removed (after an error) may still be removed by the client: nothing to do.
    if (!state) return;
    state.removed = true;
    this.targets.delete(id);
    this.dirty.delete(id);
    this.output.send({ targetChange: { targetChangeType: 'REMOVE', targetIds: [id] } });
  }

  private unusedTargetId(): number {
    let id = 1;
    while (this.targets.has(id)) id += 1;
    return id;
  }

  private scheduleSync(database: Database): void {
    if (this.syncing || this.closed) return;
    this.syncing = true;
    void this.syncUntilIdle(database);
  }

  private async syncUntilIdle(database: Database): Promise<void> {
    try {
      while (!this.closed && this.hasWork()) await this.syncRound(database);
    } catch (error) {
      this.output.fail(error);
    } finally {
      // In the same step as the last hasWork() check, so no commit can slip in between and be left unsynced.
      this.syncing = false;
    }
  }

  private hasWork(): boolean {
    if (this.dirty.size > 0) return true;
    for (const state of this.targets.values()) if (state.contents === null) return true;
    return false;
  }

  /** Brings every new or dirty target to one read time and sends the differences and a global NO_CHANGE. */
  private async syncRound(database: Database): Promise<void> {
    const readTime = database.currentReadTime();
    const due = [...this.targets.values()].filter((state) => state.contents === null || this.dirty.has(state.id));
    this.dirty.clear();
    const evaluations = await Promise.all(due.map((state) => this.evaluate(database, state, readTime)));

    const updates = new Map<string, DocumentUpdate>();
    const update = (name: string): DocumentUpdate => {
      let entry = updates.get(name);
      if (!entry) {
        entry = { targetIds: [], removedTargetIds: [], deleted: false };
        updates.set(name, entry);
      }
      return entry;
    };
    for (const evaluation of evaluations) {
      if (!('snapshot' in evaluation)) continue;
      const { state, snapshot } = evaluation;
      const previous = state.contents ?? new Map<string, string>();
      const current = new Set<string>();
      for (const document of snapshot.documents) {
        const name = document.name;
        current.add(name);
        if (previous.get(name) === versionOf(document)) continue;
        const entry = update(name);
        entry.document = document;
        entry.targetIds.push(state.id);
      }
      for (const name of previous.keys()) {
        if (!current.has(name)) update(name).removedTargetIds.push(state.id);
      }
      for (const name of snapshot.missing) {
        if (previous.has(name)) update(name).deleted = true;
      }
    }
    const leftQueries = [...updates].filter(([, entry]) => !entry.document && !entry.deleted).map(([name]) => name);
    if (leftQueries.length > 0) {
      const stillThere = await database.runTarget({ documents: { documents: leftQueries } }, OWNER, readTime);
      for (const name of stillThere.missing) update(name).deleted = true;
    }
    if (this.closed) return;
    this.send(evaluations, updates, readTime);
  }

  private async evaluate(database: Database, state: TargetState, readTime: ValidTimestamp): Promise<Evaluation> {
    try {
      return { state, snapshot: await database.runTarget(state.target, this.caller, readTime) };
    } catch (error) {
      if (error instanceof RpcError) return { state, error };
      // A bug in the emulator. Failing the stream would be silent (the SDKs retry a Listen stream whatever its
      // status, and the web SDK answers from its cache meanwhile): removing the target reaches its listener.
      console.error('[firestore-emulator] internal error evaluating a listen target:', error);
      const message = error instanceof Error ? error.message : String(error);
      return { state, error: new RpcError(Code.INTERNAL, `Internal error in the offline emulator: ${message}`) };
    }
  }

  /** Sends one round, synchronously, skipping targets the client removed meanwhile. */
  private send(evaluations: Evaluation[], updates: Map<string, DocumentUpdate>, readTime: ValidTimestamp): void {
    const live = (id: number) => this.targets.get(id)?.removed === false;
    const resumeToken = resumeTokenFor(readTime);
    const added: TargetState[] = [];
    for (const evaluation of evaluations) {
      const { state } = evaluation;
      if (state.removed) continue;
      if ('error' in evaluation) {
        this.targets.delete(state.id);
        this.dirty.delete(state.id);
        this.output.send({
          targetChange: {
            targetChangeType: 'REMOVE',
            targetIds: [state.id],
            cause: { code: evaluation.error.code, message: evaluation.error.message },
          },
        });
        continue;
      }
      if (state.contents === null) {
        added.push(state);
        this.output.send({ targetChange: { targetChangeType: 'ADD', targetIds: [state.id] } });
        if (isResumed(state.target)) this.output.send({ targetChange: { targetChangeType: 'RESET', targetIds: [state.id] } });
      }
      state.contents = new Map(evaluation.snapshot.documents.map((document) => [document.name, versionOf(document)]));
    }
    for (const [name, entry] of updates) {
      const targetIds = entry.targetIds.filter(live);
      const removedTargetIds = entry.removedTargetIds.filter(live);
      if (entry.document && targetIds.length > 0) {
        this.output.send({ documentChange: { document: entry.document, targetIds, removedTargetIds } });
      } else if (removedTargetIds.length > 0) {
        const change = { document: name, removedTargetIds, readTime };
        this.output.send(entry.deleted ? { documentDelete: change } : { documentRemove: change });
      }
    }
    for (const state of added) {
      if (live(state.id)) this.output.send({ targetChange: { targetChangeType: 'CURRENT', targetIds: [state.id], resumeToken } });
    }
    this.output.send({ targetChange: { targetChangeType: 'NO_CHANGE', targetIds: [], readTime, resumeToken } });
    for (const state of added) {
      if (state.target.once && live(state.id)) this.removeTarget(state.id);
    }
  }
}

/** Which document names can belong to a target; anything unrecognised is assumed to (costs a re-evaluation). */
function membershipTest(target: google.firestore.v1.ITarget): (name: string) => boolean {
  if (target.documents) {
    const names = new Set(target.documents.documents ?? []);
    return (name) => names.has(name);
  }
  const parent = target.query?.parent ?? '';
  const from = target.query?.structuredQuery?.from ?? [];
  if (from.length === 0) return (name) => name.startsWith(`${parent}/`);
  return (name) => {
    if (!name.startsWith(`${parent}/`)) return false;
    const segments = name.slice(parent.length + 1).split('/');
    const collectionId = segments[segments.length - 2];
    return from.some((selector) =>
      selector.allDescendants
        ? !selector.collectionId || selector.collectionId === collectionId
        : segments.length === 2 && selector.collectionId === collectionId,
    );
  };
}

function versionOf(document: ValidDocument): string {
  return `${document.updateTime.seconds}.${document.updateTime.nanos}`;
}

function isResumed(target: google.firestore.v1.ITarget): boolean {
  return (target.resumeToken !== undefined && target.resumeToken !== null && target.resumeToken.length > 0) || !!target.readTime;
}

/** Opaque to clients; ours records the read time it was issued at. */
function resumeTokenFor(readTime: ValidTimestamp): Buffer {
  return Buffer.from(`${readTime.seconds}.${readTime.nanos}`, 'utf8');
}
