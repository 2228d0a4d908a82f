/**
 * The same requests judged in-process by the offline emulator's rules engine (`compileRules` and the
 * AccessPolicy of packages/firestore-emulator/src/engine/api.ts), over a fixed set of documents. Used only for
 * the property check's 10,000 cases (gRPC round trips would make that slow), and only when the offline
 * emulator drives the suite: the real-emulator sample proves the engine and the server agree.
 */
import { readFileSync } from 'node:fs';
import type { DocumentData } from 'firebase/firestore';
import type { AccessDecision, AccessPolicy, Document, DocumentReader, Timestamp, Value, WriteAccess } from '../../packages/firestore-emulator/src/engine/api';
import { rulesPath } from '../support/rules';
import { ClientTime, NOW, type AccessRequest } from './requests';
import { present } from '../support/present';

const projectId = 'demo-access-in-process';
const root = `projects/${projectId}/databases/(default)/documents`;
const nameOf = (path: string) => `${root}/${path}`;

export async function loadPolicy(): Promise<AccessPolicy> {
  const { compileRules } = await import('../../packages/firestore-emulator/src/rules');
  return compileRules([{ name: 'firestore.rules', content: readFileSync(rulesPath, 'utf8') }]).policy;
}

/** A JavaScript value as a Firestore Value; NOW becomes `time`. */
function toValue(value: unknown, time: Timestamp): Value {
  if (value === NOW) return { timestampValue: time };
  if (value instanceof ClientTime) return { timestampValue: timestampOf(value.millis) };
  if (value === null) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'boolean') return { booleanValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { integerValue: String(value) } : { doubleValue: value };
  if (value instanceof Date) return { timestampValue: timestampOf(value.getTime()) };
  if (Array.isArray(value)) return { arrayValue: { values: value.map((item) => toValue(item, time)) } };
  if (typeof value === 'object') {
    const maybeTimestamp = value as { seconds?: unknown; nanoseconds?: unknown; toMillis?: unknown };
    if (typeof maybeTimestamp.seconds === 'number' && typeof maybeTimestamp.nanoseconds === 'number' && typeof maybeTimestamp.toMillis === 'function') {
      return { timestampValue: { seconds: String(maybeTimestamp.seconds), nanos: maybeTimestamp.nanoseconds } };
    }
    return { mapValue: { fields: toFields(value, time) } };
  }
  throw new Error(`cannot express a ${typeof value} as a Firestore value`);
}

function toFields(data: DocumentData, time: Timestamp): Record<string, Value> {
  return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, toValue(value, time)]));
}

function timestampOf(millis: number): Timestamp {
  return { seconds: String(Math.floor(millis / 1000)), nanos: (millis % 1000) * 1_000_000 };
}

/** A fixed database: documents by path, as admin seeded them. */
export class InProcessWorld {
  private readonly docs = new Map<string, Document>();

  constructor(seed: Map<string, DocumentData>) {
    const epoch: Timestamp = { seconds: '0', nanos: 0 };
    for (const [path, data] of seed) this.docs.set(nameOf(path), { name: nameOf(path), fields: toFields(data, epoch) });
  }

  has(path: string): boolean {
    return this.docs.has(nameOf(path));
  }

  /**
   * Judges `request` from `caller` at `time`. Writes are judged against the world as it is (nothing is
   * applied): a create as the creation of an absent document (the emulator runs delete the target first),
   * an update as a merge of top-level fields into the existing document.
   */
  judge(policy: AccessPolicy, caller: { uid: string; token: Record<string, unknown> } | null, request: AccessRequest, time: Timestamp): AccessDecision {
    const ctx = {
      caller: caller ? { kind: 'user' as const, uid: caller.uid, token: { sub: caller.uid, ...caller.token } } : { kind: 'anonymous' as const },
      time,
    };
    const before: DocumentReader = { get: (name) => this.docs.get(name) ?? null };
    switch (request.kind) {
      case 'get':
        return policy.authorizeGet(ctx, nameOf(request.path), before);
      case 'list': {
        const segments = request.collectionPath.split('/');
        const collectionId = present(segments.pop(), 'collection id');
        const parent = segments.length ? `${root}/${segments.join('/')}` : root;
        return policy.authorizeQuery(ctx, parent, { from: [{ collectionId }] }, before);
      }
      case 'group': {
        const where = request.where
          ? { fieldFilter: { field: { fieldPath: request.where.field }, op: 'EQUAL' as const, value: { stringValue: request.where.value } } }
          : undefined;
        return policy.authorizeQuery(ctx, root, { from: [{ collectionId: request.collectionId, allDescendants: true }], ...(where ? { where } : {}) }, before);
      }
      default: {
        const writes = request.kind === 'batch' ? request.writes : [request];
        const after = new Map<string, Document | null>();
        const accesses = writes.map((write) => {
          const name = nameOf(write.path);
          const stored = write.kind === 'create' ? null : (this.docs.get(name) ?? null);
          const previous = after.has(name) ? (after.get(name) ?? null) : stored;
          let next: Document | null = null;
          if (write.kind === 'create') next = { name, fields: toFields(write.data, time) };
          else if (write.kind === 'update') next = previous ? { name, fields: { ...previous.fields, ...toFields(write.data, time) } } : null;
          after.set(name, next);
          const method: WriteAccess['method'] = write.kind === 'delete' ? 'delete' : previous ? 'update' : 'create';
          return { name, method, before: stored, after: next };
        });
        const afterReader: DocumentReader = { get: (name) => (after.has(name) ? (after.get(name) ?? null) : (this.docs.get(name) ?? null)) };
        return policy.authorizeWrites(ctx, accesses, before, afterReader);
      }
    }
  }
}
