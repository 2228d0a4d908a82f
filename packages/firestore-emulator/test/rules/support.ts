/**
 * Helpers for the rules engine's unit tests: documents written as plain JS values, in-memory DocumentReaders,
 * callers, and a harness that evaluates one condition through compileRules + AccessPolicy.authorizeGet.
 */
import type { AccessDecision, Document, DocumentReader, RequestContext, Value } from '../../src/engine/api';
import { compileRules, type CompiledRules } from '../../src/rules';

export const PROJECT = 'demo-rules';
export const ROOT = `projects/${PROJECT}/databases/(default)/documents`;

/** A full resource name from a path relative to the documents root: name('users/alice'). */
export function name(path: string): string {
  return `${ROOT}/${path}`;
}

/** Marks a JS number that must be stored as a double even when integral. */
export class Double {
  constructor(readonly value: number) {}
}
export class Ref {
  constructor(readonly path: string) {}
}
export class Geo {
  constructor(
    readonly latitude: number,
    readonly longitude: number,
  ) {}
}

export function toValue(v: unknown): Value {
  if (v === null) return { nullValue: 'NULL_VALUE' } as unknown as Value;
  if (v instanceof Double) return { doubleValue: v.value };
  if (v instanceof Ref) return { referenceValue: name(v.path) };
  if (v instanceof Geo) return { geoPointValue: { latitude: v.latitude, longitude: v.longitude } };
  if (v instanceof Date) {
    const ms = v.getTime();
    return { timestampValue: { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 } };
  }
  if (v instanceof Uint8Array) return { bytesValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(toValue) } };
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { booleanValue: v };
    case 'bigint':
      return { integerValue: String(v) };
    case 'number':
      return Number.isInteger(v) ? { integerValue: String(v) } : { doubleValue: v };
    case 'object':
      return { mapValue: { fields: toFields(v as Record<string, unknown>) } };
  }
  throw new Error(`cannot store a ${typeof v}`);
}

export function toFields(data: Record<string, unknown>): Record<string, Value> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, toValue(v)]));
}

export function doc(path: string, data: Record<string, unknown>): Document {
  return { name: name(path), fields: toFields(data) };
}

/** A reader over the given documents that counts the reads it serves. */
export function reader(...docs: Document[]): DocumentReader & { reads: string[] } {
  const byName = new Map(docs.map((d) => [d.name as string, d]));
  const reads: string[] = [];
  return {
    reads,
    get(n: string) {
      reads.push(n);
      return byName.get(n) ?? null;
    },
  };
}

export const NOW = { seconds: '1700000000', nanos: 123_000_000 };

export function user(uid: string, claims: Record<string, unknown> = {}, time = NOW): RequestContext {
  return { caller: { kind: 'user', uid, token: { sub: uid, user_id: uid, ...claims } }, time };
}

export function anonymous(time = NOW): RequestContext {
  return { caller: { kind: 'anonymous' }, time };
}

export function rules(body: string, version: '1' | '2' | null = '2'): CompiledRules {
  const header = version ? `rules_version = '${version}';\n` : '';
  return compileRules([
    { name: 'firestore.rules', content: `${header}service cloud.firestore {\n  match /databases/{database}/documents {\n${body}\n  }\n}\n` },
  ]);
}

export type Outcome = 'true' | 'false' | 'error';

/** The denial message, or 'allowed' (so a test expecting a denial fails with a readable value). */
export function denial(decision: AccessDecision): string {
  return decision.allowed ? 'allowed' : decision.message;
}

export function outcome(decision: AccessDecision): Outcome {
  if (decision.allowed) return 'true';
  return /: false for '\w+' @ L\d+$/.test(decision.message) ? 'false' : 'error';
}

/**
 * Evaluates `expression` as the condition of `allow get` on /t/{id} for document t/doc, whose data is `data`
 * (absent when null). Returns 'true' (allowed), 'false' (evaluated to false) or 'error', and the decision.
 */
export function evaluate(
  expression: string,
  options: { data?: Record<string, unknown> | null; functions?: string; version?: '1' | '2'; ctx?: RequestContext; docs?: Document[] } = {},
): { outcome: Outcome; decision: AccessDecision } {
  const compiled = rules(`${options.functions ?? ''}\n    match /t/{id} {\n      allow get: if ${expression};\n    }`, options.version ?? '2');
  const docs = [...(options.docs ?? [])];
  if (options.data !== null) docs.push(doc('t/doc', options.data ?? {}));
  const decision = compiled.policy.authorizeGet(options.ctx ?? user('alice'), name('t/doc'), reader(...docs));
  return { outcome: outcome(decision), decision };
}
