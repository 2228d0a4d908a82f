/**
 * The rules engine's own value model, and conversion from Firestore v1 protobuf plain objects.
 *
 * Type mapping (https://firebase.google.com/docs/reference/rules/rules):
 *   null -> null          bool -> boolean        int (64-bit) -> bigint      float -> number
 *   string -> string      bytes -> Uint8Array     list -> RValue[]           map -> RMap
 *   set -> RSet           timestamp/duration -> Timestamp/Duration (bigint nanoseconds)
 *   latlng -> LatLng      path -> RPath           MapDiff -> MapDiff
 * Keeping int as bigint and float as number makes the int/float distinction a `typeof` check and gives exact
 * 64-bit arithmetic. RValue is a union that one check narrows (see TaggedValue), so a value's type is checked
 * where its members are read, with no cast. Document fields are converted lazily (DocumentMap) so a rule that
 * reads one field of a looked-up document pays for one field.
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
  get kind(): 'timestamp' {
    return 'timestamp';
  }
  constructor(readonly nanos: bigint) {}
}

export class Duration {
  get kind(): 'duration' {
    return 'duration';
  }
  constructor(readonly nanos: bigint) {}
}

export class LatLng {
  get kind(): 'latlng' {
    return 'latlng';
  }
  constructor(
    readonly lat: number,
    readonly lng: number,
  ) {}
}

/** A path such as /databases/(default)/documents/users/alice; segments may be Unknown in query evaluation. */
export class RPath {
  get kind(): 'path' {
    return 'path';
  }
  constructor(readonly segments: readonly (string | Unknown)[]) {}
  toString(): string {
    return '/' + this.segments.map((s) => (typeof s === 'string' ? s : '<unknown>')).join('/');
  }
}

export class RSet {
  get kind(): 'set' {
    return 'set';
  }
  /** `items` holds no two equal values. */
  constructor(readonly items: RValue[]) {}
}

export class MapDiff {
  get kind(): 'map_diff' {
    return 'map_diff';
  }
  constructor(
    readonly left: RMap,
    readonly right: RMap,
  ) {}
}

/** A value a list query does not constrain; any use of it is an error (see query.ts). */
export class Unknown {
  get kind(): 'unknown' {
    return 'unknown';
  }
  constructor(readonly what: string) {}
}

/** resource.data (or a nested map) in a list query: `known` holds the fields pinned by equality filters. */
export class PartialMap {
  get kind(): 'partial_map' {
    return 'partial_map';
  }
  constructor(
    readonly known: ReadonlyMap<string, RValue>,
    readonly what: string,
  ) {}
}

/** An array field that an array-contains filter guarantees to contain `element`; nothing else is known. */
export class ContainsList {
  get kind(): 'contains_list' {
    return 'contains_list';
  }
  constructor(
    readonly element: RValue,
    readonly what: string,
  ) {}
}

export abstract class RMap {
  get kind(): 'map' {
    return 'map';
  }
  abstract get(key: string): RValue | undefined;
  abstract keys(): string[];
  /** Every key with its value, in keys() order (each value read as the iteration reaches it). */
  *entries(): Generator<[string, RValue]> {
    for (const key of this.keys()) {
      const value = this.get(key);
      if (value !== undefined) yield [key, value];
    }
  }
  get size(): number {
    return this.keys().length;
  }
}

export class PlainMap extends RMap {
  constructor(private readonly values: ReadonlyMap<string, RValue>) {
    super();
  }
  get(key: string): RValue | undefined {
    return this.values.get(key);
  }
  keys(): string[] {
    return [...this.values.keys()];
  }
  override get size(): number {
    return this.values.size;
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

/**
 * The values that carry their type tag, as `kind`. Every other value is a JavaScript primitive, null, an array
 * (list) or a Uint8Array (bytes), told apart by `typeof`, `=== null`, Array.isArray and `instanceof Uint8Array`;
 * each of these checks, a `kind` switch and instanceof narrow an RValue for TypeScript. `kind` is a getter of
 * each class rather than a field: values are made on every request, and a field made the engine measurably
 * slower (bench/rules.bench.ts).
 */
export type TaggedValue = RMap | RSet | Timestamp | Duration | LatLng | RPath | MapDiff | PartialMap | ContainsList | Unknown;

export type RValue = null | boolean | bigint | number | string | Uint8Array | RValue[] | TaggedValue;

export type TypeTag = 'null' | 'bool' | 'int' | 'float' | 'string' | 'bytes' | 'list' | Exclude<TaggedValue['kind'], 'unknown'>;

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
  // Maps first: the commonest values that are objects (request, resource, their data, auth).
  if (v instanceof RMap) return 'map';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof Unknown) throw unknownUse(v);
  return v.kind;
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
    // protobufjs types bytes as Uint8Array; a value that came through JSON carries them as base64 text.
    const bytes: Uint8Array | string = v.bytesValue;
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
      for (const [k, v] of Object.entries(x)) entries.set(k, fromJson(v));
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
  // Two primitives (null is an object to typeof), the common case: no Unknown or partly known value to refuse.
  if (typeof a !== 'object' && typeof b !== 'object') {
    if (typeof a === 'bigint' && typeof b === 'number') return intEqualsFloat(a, b);
    if (typeof a === 'number' && typeof b === 'bigint') return intEqualsFloat(b, a);
    return a === b;
  }
  if (a instanceof Unknown) throw unknownUse(a);
  if (b instanceof Unknown) throw unknownUse(b);
  if (a === null || b === null) return a === b;
  if (a instanceof PartialMap || a instanceof ContainsList) return equalsPartlyKnown(a);
  if (b instanceof PartialMap || b instanceof ContainsList) return equalsPartlyKnown(b);
  // A primitive and an object are of different types.
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) return Array.isArray(b) && listEquals(a, b);
  if (a instanceof Uint8Array) return b instanceof Uint8Array && Buffer.compare(a, b) === 0;
  switch (a.kind) {
    case 'map':
      return b instanceof RMap && mapEquals(a, b);
    case 'set':
      return b instanceof RSet && a.items.length === b.items.length && a.items.every((item) => setHas(b, item));
    case 'timestamp':
      return b instanceof Timestamp && a.nanos === b.nanos;
    case 'duration':
      return b instanceof Duration && a.nanos === b.nanos;
    case 'latlng':
      return b instanceof LatLng && a.lat === b.lat && a.lng === b.lng;
    case 'path':
      return b instanceof RPath && pathEquals(a, b);
    case 'map_diff':
      if (!(b instanceof MapDiff)) return false;
      throw new EvalError(`values of type map_diff cannot be compared with ==`);
  }
}

/** A list query knows such a value only in part (it is not null, checked before): equality depends on the rest. */
function equalsPartlyKnown(partial: PartialMap | ContainsList): never {
  throw new EvalError(`${partial.what} is only partly constrained by the query, so it cannot be compared`);
}

function intEqualsFloat(i: bigint, f: number): boolean {
  return Number.isInteger(f) && BigInt(f) === i;
}

function listEquals(a: RValue[], b: RValue[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!equals(a[i], b[i])) return false;
  return true;
}

function mapEquals(a: RMap, b: RMap): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a.entries()) {
    const other = b.get(key);
    if (other === undefined || !equals(value, other)) return false;
  }
  return true;
}

function pathEquals(a: RPath, b: RPath): boolean {
  if (a.segments.length !== b.segments.length) return false;
  for (let i = 0; i < a.segments.length; i++) {
    const x = a.segments[i];
    const y = b.segments[i];
    if (x instanceof Unknown) throw unknownUse(x);
    if (y instanceof Unknown) throw unknownUse(y);
    if (x !== y) return false;
  }
  return true;
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
  if (a instanceof Unknown) throw unknownUse(a);
  if (b instanceof Unknown) throw unknownUse(b);
  if (typeof a === 'bigint' && typeof b === 'bigint') return a === b ? 0 : a < b ? -1 : 1;
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) {
    const p = Number(a);
    const q = Number(b);
    if (Number.isNaN(p) || Number.isNaN(q)) return NaN;
    return p === q ? 0 : p < q ? -1 : 1;
  }
  if (typeof a === 'string' && typeof b === 'string') return a === b ? 0 : a < b ? -1 : 1;
  if ((a instanceof Timestamp && b instanceof Timestamp) || (a instanceof Duration && b instanceof Duration)) {
    return a.nanos === b.nanos ? 0 : a.nanos < b.nanos ? -1 : 1;
  }
  throw new EvalError(`values of type ${typeName(a)} and ${typeName(b)} cannot be ordered`);
}

// ---------------------------------------------------------------------------------------------------------
// Rendering (debug() output, coverage values, messages)

export function render(v: RValue, depth = 0): string {
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      return formatFloat(v);
    case 'string':
      return JSON.stringify(v);
  }
  if (v === null) return 'null';
  if (Array.isArray(v)) return depth > 3 ? '[...]' : `[${v.map((x) => render(x, depth + 1)).join(', ')}]`;
  if (v instanceof Uint8Array) return `b'${Buffer.from(v).toString('hex')}'`;
  switch (v.kind) {
    case 'map': {
      if (depth > 3) return '{...}';
      const entries: string[] = [];
      for (const [key, value] of v.entries()) entries.push(`${JSON.stringify(key)}: ${render(value, depth + 1)}`);
      return `{${entries.join(', ')}}`;
    }
    case 'set':
      return `set(${render(v.items, depth + 1)})`;
    case 'timestamp':
      return timestampToIso(v);
    case 'duration':
      return `duration(${v.nanos}ns)`;
    case 'latlng':
      return `latlng(${v.lat}, ${v.lng})`;
    case 'path':
      return v.toString();
    case 'map_diff':
      return 'map_diff';
    case 'partial_map':
      return `<partly known ${v.what}>`;
    case 'contains_list':
      return `<list containing ${render(v.element, depth + 1)}>`;
    case 'unknown':
      return `<unknown ${v.what}>`;
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
