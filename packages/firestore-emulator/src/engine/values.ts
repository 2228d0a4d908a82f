/**
 * Firestore values: their type order and total order, equality as queries and array transforms see it,
 * validation and normalization of values a client writes, and storage sizes.
 */
import type { google } from '@google-cloud/firestore/build/protos/firestore_v1_proto_api';
import { Code, RpcError, Timestamp, ValidTimestamp, ValidValue, Value, ValueKind } from './api';

type ArrayValue = google.firestore.v1.IArrayValue;
import { checkTimestamp, timestampNanos, timestampSeconds } from './time';
import { compareUtf8, comparePaths, isWellFormedUtf16, NameParser, utf8Length } from './paths';

/** Positions in Firestore's cross-type order. */
export const enum TypeOrder {
  Null = 0,
  Boolean = 1,
  Number = 2,
  Timestamp = 3,
  String = 4,
  Bytes = 5,
  Reference = 6,
  GeoPoint = 7,
  Array = 8,
  Vector = 9,
  Map = 10,
}

/** Production's answer to a Value with no member set. */
const UNSET_VALUE = 'Cannot convert firestore.v1.Value with type unset.';

/** Which member of the Value oneof is set; null when none is. */
export function kindOf(value: Value): ValueKind | null {
  // protobufjs objects carry only the members that were set; check the common ones first.
  if (value.stringValue !== undefined && value.stringValue !== null) return 'stringValue';
  if (value.integerValue !== undefined && value.integerValue !== null) return 'integerValue';
  if (value.mapValue !== undefined && value.mapValue !== null) return 'mapValue';
  if (value.booleanValue !== undefined && value.booleanValue !== null) return 'booleanValue';
  if (value.doubleValue !== undefined && value.doubleValue !== null) return 'doubleValue';
  if (value.timestampValue !== undefined && value.timestampValue !== null) return 'timestampValue';
  if (value.arrayValue !== undefined && value.arrayValue !== null) return 'arrayValue';
  if (value.nullValue !== undefined) return 'nullValue';
  if (value.referenceValue !== undefined && value.referenceValue !== null) return 'referenceValue';
  if (value.bytesValue !== undefined && value.bytesValue !== null) return 'bytesValue';
  if (value.geoPointValue !== undefined && value.geoPointValue !== null) return 'geoPointValue';
  return null;
}

export function isVector(value: ValidValue): boolean {
  const type = value.mapValue?.fields.__type__;
  return type !== undefined && type.stringValue === '__vector__';
}

export function typeOrder(value: ValidValue): TypeOrder {
  switch (kindOf(value)) {
    case 'nullValue':
      return TypeOrder.Null;
    case 'booleanValue':
      return TypeOrder.Boolean;
    case 'integerValue':
    case 'doubleValue':
      return TypeOrder.Number;
    case 'timestampValue':
      return TypeOrder.Timestamp;
    case 'stringValue':
      return TypeOrder.String;
    case 'bytesValue':
      return TypeOrder.Bytes;
    case 'referenceValue':
      return TypeOrder.Reference;
    case 'geoPointValue':
      return TypeOrder.GeoPoint;
    case 'arrayValue':
      return TypeOrder.Array;
    case 'mapValue':
      return isVector(value) ? TypeOrder.Vector : TypeOrder.Map;
    case null:
      throw new RpcError(Code.INVALID_ARGUMENT, UNSET_VALUE);
  }
}

export const NULL_VALUE: ValidValue = { nullValue: 'NULL_VALUE' };

/** An integer or a double. */
export type NumberValue = Extract<ValidValue, { integerValue: string }> | Extract<ValidValue, { doubleValue: number }>;

export function isNumber(value: ValidValue): value is NumberValue {
  return value.integerValue !== undefined || value.doubleValue !== undefined;
}

export function isNaNValue(value: ValidValue): boolean {
  return value.doubleValue !== undefined && Number.isNaN(value.doubleValue);
}

export function isNullValue(value: ValidValue): boolean {
  return value.nullValue !== undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Integers are int64: numbers while exact, bigints beyond 2^53.

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** An integerValue (a canonical decimal string) as a number while exact, else a bigint. */
export function integerOf(text: string): number | bigint {
  if (text.length <= 15) return Number(text);
  const big = BigInt(text);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** The numeric value of an integer or double as a double (used by increment and aggregations). */
export function numberAsDouble(value: NumberValue): number {
  return value.integerValue !== undefined ? Number(integerOf(value.integerValue)) : value.doubleValue;
}

function compareIntegerWithDouble(integer: number | bigint, double: number): number {
  if (Number.isNaN(double)) return 1;
  if (typeof integer === 'number') return integer < double ? -1 : integer > double ? 1 : 0;
  if (double === Infinity) return -1;
  if (double === -Infinity) return 1;
  const floor = Math.floor(double);
  const whole = BigInt(floor);
  if (integer < whole) return -1;
  if (integer > whole) return 1;
  return floor < double ? -1 : 0;
}

function compareNumbers(a: NumberValue, b: NumberValue): number {
  if (a.integerValue !== undefined) {
    if (b.integerValue !== undefined) {
      const x = integerOf(a.integerValue);
      const y = integerOf(b.integerValue);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return compareIntegerWithDouble(integerOf(a.integerValue), b.doubleValue);
  }
  const x = a.doubleValue;
  if (b.integerValue !== undefined) return 0 - compareIntegerWithDouble(integerOf(b.integerValue), x);
  const y = b.doubleValue;
  // NaN sorts before every other number and equal to itself; -0 equals 0.
  if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : -1;
  if (Number.isNaN(y)) return 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function compareArrays(a: ValidValue[], b: ValidValue[]): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const order = compareValues(a[i], b[i]);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

export function sortedKeys(fields: Record<string, ValidValue>): string[] {
  return Object.keys(fields).sort(compareUtf8);
}

function compareMaps(a: Record<string, ValidValue>, b: Record<string, ValidValue>): number {
  const aKeys = sortedKeys(a);
  const bKeys = sortedKeys(b);
  const length = Math.min(aKeys.length, bKeys.length);
  for (let i = 0; i < length; i++) {
    const keyOrder = compareUtf8(aKeys[i], bKeys[i]);
    if (keyOrder !== 0) return keyOrder;
    const valueOrder = compareValues(a[aKeys[i]], b[bKeys[i]]);
    if (valueOrder !== 0) return valueOrder;
  }
  return aKeys.length - bKeys.length;
}

export function vectorElements(value: ValidValue): ValidValue[] {
  return value.mapValue?.fields.value?.arrayValue?.values ?? [];
}

function compareTimestamps(a: ValidTimestamp, b: ValidTimestamp): number {
  const seconds = timestampSeconds(a) - timestampSeconds(b);
  if (seconds !== 0) return seconds < 0 ? -1 : 1;
  return Math.sign(a.nanos - b.nanos);
}

/** Firestore's total order over values (the order of orderBy and of range filters). */
export function compareValues(a: ValidValue, b: ValidValue): number {
  const aOrder = typeOrder(a);
  const bOrder = typeOrder(b);
  if (aOrder !== bOrder) return aOrder - bOrder;
  // Same type order, so both set the same member (numbers: an integer or a double each), which these checks narrow.
  if (isNumber(a) && isNumber(b)) return compareNumbers(a, b);
  if (a.stringValue !== undefined && b.stringValue !== undefined) return compareUtf8(a.stringValue, b.stringValue);
  if (a.mapValue !== undefined && b.mapValue !== undefined) {
    if (aOrder === TypeOrder.Map) return compareMaps(a.mapValue.fields, b.mapValue.fields);
    const x = vectorElements(a);
    const y = vectorElements(b);
    return x.length !== y.length ? x.length - y.length : compareArrays(x, y);
  }
  if (a.timestampValue !== undefined && b.timestampValue !== undefined) return compareTimestamps(a.timestampValue, b.timestampValue);
  if (a.booleanValue !== undefined && b.booleanValue !== undefined) return Number(a.booleanValue) - Number(b.booleanValue);
  if (a.arrayValue !== undefined && b.arrayValue !== undefined) return compareArrays(a.arrayValue.values, b.arrayValue.values);
  if (a.referenceValue !== undefined && b.referenceValue !== undefined) return comparePaths(a.referenceValue.split('/'), b.referenceValue.split('/'));
  if (a.bytesValue !== undefined && b.bytesValue !== undefined) return compareBytes(a.bytesValue, b.bytesValue);
  if (a.geoPointValue !== undefined && b.geoPointValue !== undefined) {
    const latitude = compareDoubles(a.geoPointValue.latitude, b.geoPointValue.latitude);
    return latitude !== 0 ? latitude : compareDoubles(a.geoPointValue.longitude, b.geoPointValue.longitude);
  }
  return 0; // both null
}

function compareDoubles(x: number, y: number): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Equality as the equality filters (==, in, array-contains) use it: numerically across integers and
 * doubles, -0 equal to 0, and NaN equal to nothing (NaN is matched only by IS_NAN).
 */
export function valuesEqual(a: ValidValue, b: ValidValue): boolean {
  if (containsNaN(a) || containsNaN(b)) return false;
  return typeOrder(a) === typeOrder(b) && compareValues(a, b) === 0;
}

/** Equality as arrayUnion/arrayRemove use it: numeric across types, and NaN equal to NaN. */
export function valuesEquivalent(a: ValidValue, b: ValidValue): boolean {
  return typeOrder(a) === typeOrder(b) && compareValues(a, b) === 0;
}

function containsNaN(value: ValidValue): boolean {
  if (isNaNValue(value)) return true;
  if (value.arrayValue !== undefined) return value.arrayValue.values.some(containsNaN);
  if (value.mapValue !== undefined) return Object.values(value.mapValue.fields).some(containsNaN);
  return false;
}

/** Exact identity of stored values (integer 1 and double 1.0 differ, as do 0 and -0): was a document changed? */
export function valuesIdentical(a: ValidValue, b: ValidValue): boolean {
  if (a.stringValue !== undefined) return a.stringValue === b.stringValue;
  if (a.integerValue !== undefined) return a.integerValue === b.integerValue;
  if (a.mapValue !== undefined) return b.mapValue !== undefined && fieldsIdentical(a.mapValue.fields, b.mapValue.fields);
  if (a.booleanValue !== undefined) return a.booleanValue === b.booleanValue;
  if (a.doubleValue !== undefined) return b.doubleValue !== undefined && Object.is(a.doubleValue, b.doubleValue);
  if (a.timestampValue !== undefined) return b.timestampValue !== undefined && compareTimestamps(a.timestampValue, b.timestampValue) === 0;
  if (a.arrayValue !== undefined) {
    if (b.arrayValue === undefined) return false;
    const x = a.arrayValue.values;
    const y = b.arrayValue.values;
    return x.length === y.length && x.every((value, i) => valuesIdentical(value, y[i]));
  }
  if (a.nullValue !== undefined) return b.nullValue !== undefined;
  if (a.referenceValue !== undefined) return a.referenceValue === b.referenceValue;
  if (a.bytesValue !== undefined) return b.bytesValue !== undefined && compareBytes(a.bytesValue, b.bytesValue) === 0;
  return (
    b.geoPointValue !== undefined &&
    Object.is(a.geoPointValue.latitude, b.geoPointValue.latitude) &&
    Object.is(a.geoPointValue.longitude, b.geoPointValue.longitude)
  );
}

export function fieldsIdentical(a: Record<string, ValidValue>, b: Record<string, ValidValue>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    const other = b[key];
    if (other === undefined || !valuesIdentical(a[key], other)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// Validation of values a client writes (or compares against), returning the stored form.

/** "Maximum depth of fields in a map or array: 20". */
export const MAX_VALUE_DEPTH = 20;

function invalid(message: string): RpcError {
  return new RpcError(Code.INVALID_ARGUMENT, message);
}

const CANONICAL_SMALL_INTEGER = /^-?(?:0|[1-9]\d{0,14})$/;

export interface NormalizeOptions {
  /** A value a query compares against: arrays may hold arrays (`in [[1, 2]]`), and references may use the
   *  legacy numeric ids the SDKs use as bounds (`__id-9223372036854775808__`). */
  forQuery?: boolean;
  /** Imported data (an export of Google's emulator) may reference documents with legacy numeric ids. */
  legacyIds?: boolean;
}

/**
 * Validates a value and returns it in stored form, a new object with exactly its one member set: integers as
 * canonical decimal strings, timestamps truncated to microseconds (Firestore's precision), geo points and
 * containers with their proto3 defaults filled in. This is where the engine narrows a Value it is handed; past
 * it, code reads the member it checked for. `where` names the field for error messages.
 */
export function normalizeValue(value: Value | null | undefined, where: string, names: NameParser, options: NormalizeOptions = {}, depth = 1): ValidValue {
  if (value === null || typeof value !== 'object') throw invalid(`${where}: a value must be a Value message.`);
  if (depth > MAX_VALUE_DEPTH) {
    throw invalid(`${where}: value is nested more than ${MAX_VALUE_DEPTH} levels deep (maps and arrays).`);
  }
  const kind = kindOf(value);
  if (kind === null) {
    // null and undefined both mean unset (protobuf.js), so only a member with a value is a type not modelled.
    const unknown = Object.keys(value).find((key) => (value as Record<string, unknown>)[key] != null);
    if (unknown) {
      const message = `${where}: the offline Firestore emulator does not implement the value type "${unknown}".`;
      throw new RpcError(Code.UNIMPLEMENTED, message);
    }
    throw invalid(`${where}: ${UNSET_VALUE}`);
  }
  const other = otherMember(value, kind);
  if (other !== null) {
    // protobuf.js keeps every member of a oneof a binary message repeats (a parser that follows the spec keeps
    // the last); which one was last is lost by then, so the value is refused rather than read as either.
    throw invalid(`${where}: the value sets both "${kind}" and "${other}", members of one oneof (value_type).`);
  }
  switch (kind) {
    case 'nullValue':
      return NULL_VALUE;
    case 'booleanValue': {
      const flag = value.booleanValue;
      if (typeof flag !== 'boolean') throw invalid(`${where}: booleanValue must be a boolean.`);
      return { booleanValue: flag };
    }
    case 'integerValue': {
      const raw = value.integerValue;
      const text = typeof raw === 'number' ? (Number.isSafeInteger(raw) ? String(raw) : '') : String(raw);
      if (CANONICAL_SMALL_INTEGER.test(text)) return { integerValue: text };
      let big: bigint;
      try {
        big = BigInt(text);
      } catch {
        throw invalid(`${where}: "${String(raw)}" is not a 64-bit integer.`);
      }
      if (big < INT64_MIN || big > INT64_MAX) throw invalid(`${where}: ${text} does not fit in a 64-bit integer.`);
      return { integerValue: big.toString() };
    }
    case 'doubleValue': {
      const double = value.doubleValue;
      if (typeof double !== 'number') throw invalid(`${where}: doubleValue must be a number.`);
      return { doubleValue: double };
    }
    case 'timestampValue': {
      const ts = value.timestampValue;
      if (typeof ts !== 'object' || ts === null) throw invalid(`${where}: timestampValue must be a Timestamp message.`);
      return { timestampValue: microsecondTimestamp(ts, where) };
    }
    case 'stringValue': {
      const text = value.stringValue;
      if (typeof text !== 'string') throw invalid(`${where}: stringValue must be a string.`);
      if (!isWellFormedUtf16(text)) throw invalid(`${where}: string value is not valid UTF-8.`);
      return { stringValue: text };
    }
    case 'bytesValue': {
      const bytes = value.bytesValue;
      if (!(bytes instanceof Uint8Array)) throw invalid(`${where}: bytesValue must be bytes.`);
      return { bytesValue: bytes };
    }
    case 'referenceValue': {
      const reference = value.referenceValue;
      if (typeof reference !== 'string') throw invalid(`${where}: referenceValue must be a string.`);
      if (!isWellFormedUtf16(reference) || names.referenceSegments(reference, Boolean(options.forQuery || options.legacyIds)) === null) {
        throw invalid(`${where}: "${reference}" is not a valid document reference (projects/{p}/databases/{d}/documents/...).`);
      }
      return { referenceValue: reference };
    }
    case 'geoPointValue': {
      const latitude = value.geoPointValue?.latitude ?? 0;
      const longitude = value.geoPointValue?.longitude ?? 0;
      if (!(latitude >= -90 && latitude <= 90)) throw invalid(`${where}: latitude ${latitude} is not in [-90, 90].`);
      if (!(longitude >= -180 && longitude <= 180)) {
        throw invalid(`${where}: longitude ${longitude} is not in [-180, 180].`);
      }
      return { geoPointValue: { latitude, longitude } };
    }
    case 'arrayValue':
      return { arrayValue: { values: normalizeArray(value.arrayValue, where, names, options, depth) } };
    case 'mapValue':
      return { mapValue: { fields: normalizeFields(value.mapValue?.fields ?? {}, where, names, options, depth + 1) } };
  }
}

/** The elements of an ArrayValue at `depth`, validated as normalizeValue does. */
export function normalizeArray(
  array: ArrayValue | null | undefined,
  where: string,
  names: NameParser,
  options: NormalizeOptions = {},
  depth = 1,
): ValidValue[] {
  return (array?.values ?? []).map((element, i) => {
    if (!options.forQuery && element && kindOf(element) === 'arrayValue') {
      throw invalid(`${where}: an array cannot directly contain another array (element ${i}).`);
    }
    return normalizeValue(element, `${where}[${i}]`, names, options, depth + 1);
  });
}

/** The set member of `value` other than `kind`, if any (null and undefined count as unset, as in protobuf.js). */
function otherMember(value: Value, kind: ValueKind): string | null {
  for (const key in value) {
    if (key !== kind && (value as Record<string, unknown>)[key] !== undefined && (value as Record<string, unknown>)[key] !== null) return key;
  }
  return null;
}

/** A Timestamp checked for range and truncated to microseconds, seconds as a decimal string. */
export function microsecondTimestamp(ts: Timestamp, where: string): ValidTimestamp {
  checkTimestamp(ts, where);
  const nanos = timestampNanos(ts);
  return { seconds: String(timestampSeconds(ts)), nanos: nanos - (nanos % 1000) };
}

export function normalizeFields(
  fields: Record<string, Value>,
  where: string,
  names: NameParser,
  options: NormalizeOptions = {},
  depth = 1,
): Record<string, ValidValue> {
  const result: Record<string, ValidValue> = {};
  for (const key of Object.keys(fields)) {
    const path = where ? `${where}.${quoteSegment(key)}` : quoteSegment(key);
    if (key === '') throw invalid(`Field names cannot be empty (in ${where || 'the document'}).`);
    if (!isWellFormedUtf16(key)) throw invalid(`Field name in ${where || 'the document'} is not valid UTF-8.`);
    if (utf8Length(key) > MAX_FIELD_PATH_BYTES) throw invalid(`Field name ${path.slice(0, 100)}... is longer than 1500 bytes.`);
    result[key] = normalizeValue(fields[key], path, names, options, depth);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Storage size, as documented in "Storage size calculations".

function stringSize(text: string): number {
  return utf8Length(text) + 1;
}

/** Size of a document name: each collection and document id as a string, plus 16. */
export function documentNameSize(segments: readonly string[]): number {
  let size = 16;
  for (const id of segments) size += stringSize(id);
  return size;
}

export function valueSize(value: ValidValue): number {
  if (value.stringValue !== undefined) return stringSize(value.stringValue);
  if (value.mapValue !== undefined) return isVector(value) ? 8 * vectorElements(value).length : fieldsSize(value.mapValue.fields);
  if (value.arrayValue !== undefined) return value.arrayValue.values.reduce((sum, element) => sum + valueSize(element), 0);
  if (value.bytesValue !== undefined) return value.bytesValue.byteLength;
  if (value.referenceValue !== undefined) {
    const path = value.referenceValue.split('/documents/')[1] ?? '';
    return documentNameSize(path.split('/'));
  }
  if (value.geoPointValue !== undefined) return 16;
  if (value.nullValue !== undefined || value.booleanValue !== undefined) return 1;
  return 8; // integer, double, timestamp
}

export function fieldsSize(fields: Record<string, ValidValue>): number {
  let size = 0;
  for (const key of Object.keys(fields)) size += stringSize(key) + valueSize(fields[key]);
  return size;
}

export const MAX_DOCUMENT_BYTES = 1_048_576;

export function documentSize(segments: readonly string[], fields: Record<string, ValidValue>): number {
  return documentNameSize(segments) + fieldsSize(fields) + 32;
}

// ---------------------------------------------------------------------------------------------------------
// Field paths: `a.b`, with backquoted segments for anything but [a-zA-Z_][a-zA-Z_0-9]*.

export const MAX_FIELD_PATH_BYTES = 1500;
const SIMPLE_SEGMENT = /^[a-zA-Z_][a-zA-Z_0-9]*$/;

export function quoteSegment(segment: string): string {
  return SIMPLE_SEGMENT.test(segment) ? segment : '`' + segment.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

export function formatFieldPath(segments: readonly string[]): string {
  return segments.map(quoteSegment).join('.');
}

const parsedFieldPaths = new Map<string, string[]>();

/** Parses a field path as the API spells it; throws INVALID_ARGUMENT naming `what` when malformed. */
export function parseFieldPath(path: string | null | undefined, what: string): string[] {
  if (path === undefined || path === null || path === '') throw invalid(`${what}: the field path is empty.`);
  const cached = parsedFieldPaths.get(path);
  if (cached) return cached;
  if (!isWellFormedUtf16(path)) throw invalid(`${what}: field path is not valid UTF-8.`);
  if (utf8Length(path) > MAX_FIELD_PATH_BYTES) throw invalid(`${what}: field path is longer than 1500 bytes.`);
  const segments: string[] = [];
  let i = 0;
  while (i <= path.length) {
    if (path[i] === '`') {
      let segment = '';
      i++;
      for (;;) {
        if (i >= path.length) throw invalid(`${what}: unterminated backquote in field path "${path}".`);
        const char = path[i];
        if (char === '\\') {
          if (i + 1 >= path.length) throw invalid(`${what}: dangling escape in field path "${path}".`);
          segment += path[i + 1];
          i += 2;
        } else if (char === '`') {
          i++;
          break;
        } else {
          segment += char;
          i++;
        }
      }
      if (segment === '') throw invalid(`${what}: empty field name in field path "${path}".`);
      segments.push(segment);
    } else {
      let end = path.indexOf('.', i);
      if (end === -1) end = path.length;
      const segment = path.slice(i, end);
      if (!SIMPLE_SEGMENT.test(segment)) {
        throw invalid(`${what}: invalid field path "${path}": "${segment}" must be backquoted (simple names are [a-zA-Z_][a-zA-Z_0-9]*).`);
      }
      segments.push(segment);
      i = end;
    }
    if (i === path.length) break;
    if (path[i] !== '.') throw invalid(`${what}: invalid field path "${path}": expected "." at offset ${i}.`);
    i++;
    if (i === path.length) throw invalid(`${what}: invalid field path "${path}": it ends with ".".`);
  }
  if (parsedFieldPaths.size > 10_000) parsedFieldPaths.clear();
  parsedFieldPaths.set(path, segments);
  return segments;
}

/** The field named `key`, never an Object.prototype member (a field path `constructor` names no field). */
function ownField(fields: Record<string, ValidValue>, key: string): ValidValue | undefined {
  return Object.hasOwn(fields, key) ? fields[key] : undefined;
}

export function getField(fields: Record<string, ValidValue>, path: readonly string[]): ValidValue | undefined {
  let current: Record<string, ValidValue> = fields;
  for (let i = 0; i < path.length - 1; i++) {
    const next: ValidValue | undefined = ownField(current, path[i]);
    if (next?.mapValue === undefined) return undefined;
    current = next.mapValue.fields;
  }
  return ownField(current, path[path.length - 1]);
}

/** Returns a copy of `fields` with `path` set to `value`, replacing non-map intermediates by maps. */
export function setField(fields: Record<string, ValidValue>, path: readonly string[], value: ValidValue): Record<string, ValidValue> {
  const result = { ...fields };
  if (path.length === 1) {
    result[path[0]] = value;
    return result;
  }
  const child = ownField(fields, path[0]);
  const childFields = child?.mapValue ? child.mapValue.fields : {};
  result[path[0]] = { mapValue: { fields: setField(childFields, path.slice(1), value) } };
  return result;
}

/** Returns a copy of `fields` without `path` (unchanged when absent). */
export function deleteField(fields: Record<string, ValidValue>, path: readonly string[]): Record<string, ValidValue> {
  const child = ownField(fields, path[0]);
  if (child === undefined) return fields;
  if (path.length === 1) {
    const result = { ...fields };
    delete result[path[0]];
    return result;
  }
  if (!child.mapValue) return fields;
  const childFields = child.mapValue.fields;
  const updated = deleteField(childFields, path.slice(1));
  if (updated === childFields) return fields;
  return { ...fields, [path[0]]: { mapValue: { fields: updated } } };
}

export function fieldPathIsPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== path[i]) return false;
  return true;
}

/** Keeps only the given field paths of `fields` (a projection or a read mask). */
export function projectFields(fields: Record<string, ValidValue>, paths: readonly (readonly string[])[]): Record<string, ValidValue> {
  let result: Record<string, ValidValue> = {};
  for (const path of paths) {
    const value = getField(fields, path);
    if (value !== undefined) result = setField(result, path, value);
  }
  return result;
}
