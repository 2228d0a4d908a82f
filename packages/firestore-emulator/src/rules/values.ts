/**
 * The rules engine's own value model, and conversion from Firestore v1 protobuf plain objects.
 *
 * Type mapping (https://firebase.google.com/docs/reference/rules/rules):
 *   null -> null          bool -> boolean        int (64-bit) -> bigint      float -> number
 *   string -> string      bytes -> Uint8Array     list -> RValue[]           map -> RMap
 *   set -> RSet           timestamp/duration -> Timestamp/Duration (bigint nanoseconds)
 *   latlng -> LatLng      path -> RPath           MapDiff -> MapDiff
 * Keeping int as bigint and float as number makes the int/float distinction a `typeof` check and gives exact
 * 64-bit arithmetic. Document fields are converted lazily (DocumentMap) so a rule that reads one field of a
 * looked-up document pays for one field.
 *
 * Query evaluation adds three symbolic values (see query.ts): Unknown (a value the query does not
 * constrain), PartialMap (resource.data with only the constrained fields known) and ContainsList (an array
 * field known only to contain one element, from an array-contains filter).
 */
import type { Document, Value } from '../engine/api';
import type { Loc } from './ast';

/** A recoverable evaluation error: `error || true` is true, `error && false` is false, otherwise it denies. */
export class EvalError {
  constructor(
    readonly message: string,
    public loc?: Loc,
  ) {}
}

/** A limit of the rules service was exceeded: the whole request is denied, no short-circuit recovers it. */
export class LimitError {
  constructor(readonly message: string) {}
}

export class Timestamp {
  constructor(readonly nanos: bigint) {}
}

export class Duration {
  constructor(readonly nanos: bigint) {}
}

export class LatLng {
  constructor(
    readonly lat: number,
    readonly lng: number,
  ) {}
}

/** A path such as /databases/(default)/documents/users/alice; segments may be Unknown in query evaluation. */
export class RPath {
  constructor(readonly segments: readonly (string | Unknown)[]) {}
  toString(): string {
    return '/' + this.segments.map((s) => (typeof s === 'string' ? s : '<unknown>')).join('/');
  }
}

export class RSet {
  /** `items` holds no two equal values. */
  constructor(readonly items: RValue[]) {}
}

export class MapDiff {
  constructor(
    readonly left: RMap,
    readonly right: RMap,
  ) {}
}

/** A value a list query does not constrain; any use of it is an error (see query.ts). */
export class Unknown {
  constructor(readonly what: string) {}
}

/** resource.data (or a nested map) in a list query: `known` holds the fields pinned by equality filters. */
export class PartialMap {
  constructor(
    readonly known: ReadonlyMap<string, RValue>,
    readonly what: string,
  ) {}
}

/** An array field that an array-contains filter guarantees to contain `element`; nothing else is known. */
export class ContainsList {
  constructor(
    readonly element: RValue,
    readonly what: string,
  ) {}
}

export abstract class RMap {
  abstract get(key: string): RValue | undefined;
  abstract keys(): string[];
  get size(): number {
    return this.keys().length;
  }
}

export class PlainMap extends RMap {
  constructor(private readonly entries: ReadonlyMap<string, RValue>) {
    super();
  }
  get(key: string): RValue | undefined {
    return this.entries.get(key);
  }
  keys(): string[] {
    return [...this.entries.keys()];
  }
  override get size(): number {
    return this.entries.size;
  }
}

/** A Firestore map (document fields or a mapValue) converted field by field on first access. */
export class DocumentMap extends RMap {
  private readonly converted = new Map<string, RValue>();
  constructor(private readonly fields: Record<string, Value>) {
    super();
  }
  get(key: string): RValue | undefined {
    const done = this.converted.get(key);
    if (done !== undefined) return done;
    if (!Object.hasOwn(this.fields, key)) return undefined;
    const value = fromProto(this.fields[key]);
    this.converted.set(key, value);
    return value;
  }
  keys(): string[] {
    return Object.keys(this.fields);
  }
}

/** A document as rules see it: `__name__` (path), `id` and `data` (rules.firestore.Resource). */
export class ResourceMap extends RMap {
  private path: RPath | undefined;
  private data: DocumentMap | undefined;
  /** `name` is the document's full resource name (projects/p/databases/d/documents/...). */
  constructor(
    private readonly doc: Document,
    private readonly name: string = doc.name ?? '',
  ) {
    super();
  }
  get(key: string): RValue | undefined {
    switch (key) {
      case '__name__':
        return (this.path ??= pathFromResourceName(this.name));
      case 'id':
        return this.name.slice(this.name.lastIndexOf('/') + 1);
      case 'data':
        return (this.data ??= new DocumentMap(this.doc.fields ?? {}));
      default:
        return undefined;
    }
  }
  keys(): string[] {
    return ['__name__', 'id', 'data'];
  }
}

export type RValue =
  | null
  | boolean
  | bigint
  | number
  | string
  | Uint8Array
  | RValue[]
  | RMap
  | RSet
  | Timestamp
  | Duration
  | LatLng
  | RPath
  | MapDiff
  | PartialMap
  | ContainsList
  | Unknown;

export type TypeTag =
  | 'null'
  | 'bool'
  | 'int'
  | 'float'
  | 'string'
  | 'bytes'
  | 'list'
  | 'map'
  | 'set'
  | 'timestamp'
  | 'duration'
  | 'latlng'
  | 'path'
  | 'map_diff'
  | 'partial_map'
  | 'contains_list';

export const INT_MIN = -(2n ** 63n);
export const INT_MAX = 2n ** 63n - 1n;

/** The type of a value; an Unknown raises the error that makes a query depend on what it does not constrain. */
export function typeOf(v: RValue): TypeTag {
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int';
    case 'number':
      return 'float';
    case 'string':
      return 'string';
  }
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (v instanceof RMap) return 'map';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof Timestamp) return 'timestamp';
  if (v instanceof Duration) return 'duration';
  if (v instanceof RPath) return 'path';
  if (v instanceof RSet) return 'set';
  if (v instanceof LatLng) return 'latlng';
  if (v instanceof MapDiff) return 'map_diff';
  if (v instanceof PartialMap) return 'partial_map';
  if (v instanceof ContainsList) return 'contains_list';
  throw unknownUse(v);
}

export function unknownUse(v: Unknown): EvalError {
  return new EvalError(`${v.what} is not constrained by the query, so the rules cannot be evaluated for every document it could return`);
}

/** Name of a value's type in messages and debug() output. */
export function typeName(v: RValue): string {
  if (v instanceof Unknown) return 'unknown';
  const tag = typeOf(v);
  if (tag === 'partial_map') return 'map';
  if (tag === 'contains_list') return 'list';
  return tag;
}

// ---------------------------------------------------------------------------------------------------------
// Conversion from Firestore protobuf plain objects

/** Converts one google.firestore.v1.Value (protobufjs plain object) to a rules value. */
export function fromProto(v: Value): RValue {
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if (v.integerValue !== undefined && v.integerValue !== null) return BigInt(String(v.integerValue));
  if (v.booleanValue !== undefined && v.booleanValue !== null) return v.booleanValue;
  if (v.mapValue !== undefined && v.mapValue !== null) return new DocumentMap(v.mapValue.fields ?? {});
  if (v.arrayValue !== undefined && v.arrayValue !== null) return (v.arrayValue.values ?? []).map(fromProto);
  if (v.doubleValue !== undefined && v.doubleValue !== null) return Number(v.doubleValue);
  if (v.timestampValue !== undefined && v.timestampValue !== null) {
    return new Timestamp(BigInt(String(v.timestampValue.seconds ?? 0)) * 1_000_000_000n + BigInt(v.timestampValue.nanos ?? 0));
  }
  if (Object.hasOwn(v, 'nullValue')) return null;
  if (v.referenceValue !== undefined && v.referenceValue !== null) return pathFromResourceName(v.referenceValue);
  if (v.bytesValue !== undefined && v.bytesValue !== null) {
    const bytes = v.bytesValue as Uint8Array | string;
    return typeof bytes === 'string' ? new Uint8Array(Buffer.from(bytes, 'base64')) : bytes;
  }
  if (v.geoPointValue !== undefined && v.geoPointValue !== null) {
    return new LatLng(v.geoPointValue.latitude ?? 0, v.geoPointValue.longitude ?? 0);
  }
  throw new EvalError(`unsupported Firestore value ${JSON.stringify(v)}`);
}

/** `projects/p/databases/d/documents/a/b` -> /databases/d/documents/a/b */
export function pathFromResourceName(name: string): RPath {
  const parts = name.split('/');
  const start = parts[0] === 'projects' ? 2 : 0;
  return new RPath(parts.slice(start));
}

/** Decoded ID-token claims (JSON) to rules values: integral numbers become int, others float. */
export function fromJson(x: unknown): RValue {
  if (x === null || x === undefined) return null;
  switch (typeof x) {
    case 'boolean':
    case 'string':
      return x;
    case 'number':
      return Number.isInteger(x) && Number.isSafeInteger(x) ? BigInt(x) : x;
    case 'object': {
      if (Array.isArray(x)) return x.map(fromJson);
      const entries = new Map<string, RValue>();
      for (const [k, v] of Object.entries(x as Record<string, unknown>)) entries.set(k, fromJson(v));
      return new PlainMap(entries);
    }
    default:
      throw new EvalError(`unsupported claim value of type ${typeof x}`);
  }
}

export function mapOf(entries: Record<string, RValue>): PlainMap {
  return new PlainMap(new Map(Object.entries(entries)));
}

// ---------------------------------------------------------------------------------------------------------
// Equality and ordering

/** Deep equality as `==` defines it: int and float compare numerically, values of other differing types are unequal. */
export function equals(a: RValue, b: RValue): boolean {
  const ta = typeOf(a);
  const tb = typeOf(b);
  if (ta === 'partial_map' || tb === 'partial_map' || ta === 'contains_list' || tb === 'contains_list') {
    if (a === null || b === null) return false;
    const partial = a instanceof PartialMap || a instanceof ContainsList ? a : (b as PartialMap | ContainsList);
    throw new EvalError(`${partial.what} is only partly constrained by the query, so it cannot be compared`);
  }
  if (ta !== tb) {
    if (ta === 'int' && tb === 'float') return intEqualsFloat(a as bigint, b as number);
    if (ta === 'float' && tb === 'int') return intEqualsFloat(b as bigint, a as number);
    return false;
  }
  switch (ta) {
    case 'null':
      return true;
    case 'bool':
    case 'int':
    case 'float':
    case 'string':
      return a === b;
    case 'bytes':
      return Buffer.compare(a as Uint8Array, b as Uint8Array) === 0;
    case 'list': {
      const la = a as RValue[];
      const lb = b as RValue[];
      if (la.length !== lb.length) return false;
      for (let i = 0; i < la.length; i++) if (!equals(la[i], lb[i])) return false;
      return true;
    }
    case 'map': {
      const ma = a as RMap;
      const mb = b as RMap;
      const keys = ma.keys();
      if (keys.length !== mb.size) return false;
      for (const k of keys) {
        const vb = mb.get(k);
        if (vb === undefined || !equals(ma.get(k) as RValue, vb)) return false;
      }
      return true;
    }
    case 'set': {
      const sa = a as RSet;
      const sb = b as RSet;
      return sa.items.length === sb.items.length && sa.items.every((x) => setHas(sb, x));
    }
    case 'timestamp':
      return (a as Timestamp).nanos === (b as Timestamp).nanos;
    case 'duration':
      return (a as Duration).nanos === (b as Duration).nanos;
    case 'latlng':
      return (a as LatLng).lat === (b as LatLng).lat && (a as LatLng).lng === (b as LatLng).lng;
    case 'path': {
      const pa = (a as RPath).segments;
      const pb = (b as RPath).segments;
      if (pa.length !== pb.length) return false;
      for (let i = 0; i < pa.length; i++) {
        const x = pa[i];
        const y = pb[i];
        if (x instanceof Unknown) throw unknownUse(x);
        if (y instanceof Unknown) throw unknownUse(y);
        if (x !== y) return false;
      }
      return true;
    }
    default:
      throw new EvalError(`values of type ${ta} cannot be compared with ==`);
  }
}

function intEqualsFloat(i: bigint, f: number): boolean {
  return Number.isInteger(f) && BigInt(f) === i;
}

export function setHas(set: RSet, v: RValue): boolean {
  return set.items.some((x) => equals(x, v));
}

export function toSet(items: readonly RValue[]): RSet {
  const unique: RValue[] = [];
  for (const item of items) if (!unique.some((u) => equals(u, item))) unique.push(item);
  return new RSet(unique);
}

/** Ordering for <, <=, >, >=: numbers (int and float mixed), strings, timestamps, durations. */
export function compare(a: RValue, b: RValue): number {
  const ta = typeOf(a);
  const tb = typeOf(b);
  if ((ta === 'int' || ta === 'float') && (tb === 'int' || tb === 'float')) {
    if (ta === 'int' && tb === 'int') return a === b ? 0 : (a as bigint) < (b as bigint) ? -1 : 1;
    const x = Number(a);
    const y = Number(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
    return x === y ? 0 : x < y ? -1 : 1;
  }
  if (ta === tb) {
    switch (ta) {
      case 'string':
        return a === b ? 0 : (a as string) < (b as string) ? -1 : 1;
      case 'timestamp':
      case 'duration': {
        const x = (a as Timestamp).nanos;
        const y = (b as Timestamp).nanos;
        return x === y ? 0 : x < y ? -1 : 1;
      }
    }
  }
  throw new EvalError(`values of type ${typeName(a)} and ${typeName(b)} cannot be ordered`);
}

// ---------------------------------------------------------------------------------------------------------
// Rendering (debug() output, coverage values, messages)

export function render(v: RValue, depth = 0): string {
  if (v instanceof Unknown) return `<unknown ${v.what}>`;
  switch (typeOf(v)) {
    case 'null':
      return 'null';
    case 'bool':
      return v === true ? 'true' : 'false';
    case 'int':
      return (v as bigint).toString();
    case 'float':
      return formatFloat(v as number);
    case 'string':
      return JSON.stringify(v);
    case 'bytes':
      return `b'${Buffer.from(v as Uint8Array).toString('hex')}'`;
    case 'list':
      return depth > 3 ? '[...]' : `[${(v as RValue[]).map((x) => render(x, depth + 1)).join(', ')}]`;
    case 'map': {
      if (depth > 3) return '{...}';
      const m = v as RMap;
      return `{${m
        .keys()
        .map((k) => `${JSON.stringify(k)}: ${render(m.get(k) as RValue, depth + 1)}`)
        .join(', ')}}`;
    }
    case 'set':
      return `set(${render((v as RSet).items, depth + 1)})`;
    case 'timestamp':
      return timestampToIso(v as Timestamp);
    case 'duration':
      return `duration(${(v as Duration).nanos}ns)`;
    case 'latlng':
      return `latlng(${(v as LatLng).lat}, ${(v as LatLng).lng})`;
    case 'path':
      return (v as RPath).toString();
    case 'map_diff':
      return 'map_diff';
    case 'partial_map':
      return `<partly known ${(v as PartialMap).what}>`;
    case 'contains_list':
      return `<list containing ${render((v as ContainsList).element, depth + 1)}>`;
  }
}

/** Java's Double.toString layout, which is what the rules language prints for floats (string(2.0) == "2.0"). */
export function formatFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? 'Infinity' : '-Infinity';
  if (f === 0) return Object.is(f, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(f);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(f);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa, exponent] = f.toExponential().split('e');
  const digits = mantissa.includes('.') ? mantissa : `${mantissa}.0`;
  return `${digits}E${Number(exponent)}`;
}

export function timestampToIso(t: Timestamp): string {
  const ms = floorDiv(t.nanos, 1_000_000n);
  const iso = new Date(Number(ms)).toISOString();
  const nanos = floorMod(t.nanos, 1_000_000_000n);
  return `${iso.slice(0, 19)}.${nanos.toString().padStart(9, '0')}Z`;
}

export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

export function floorMod(a: bigint, b: bigint): bigint {
  return a - floorDiv(a, b) * b;
}
