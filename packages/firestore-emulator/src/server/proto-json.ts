/**
 * The proto3 JSON mapping (https://protobuf.dev/programming-guides/json/), driven by the same descriptors as the
 * gRPC codecs, so the REST and WebChannel adapters hand the engine exactly the plain shapes gRPC decoding gives
 * (../engine/api.ts): int64 as decimal strings, bytes as Buffer, enums by name, Timestamps as { seconds, nanos }.
 *
 * Decoding is strict, as Google's JSON front end is: an unknown field, a value of the wrong type or two members of
 * one oneof fail with INVALID_ARGUMENT naming the field's path. Field names are accepted in lowerCamelCase and in
 * the proto's snake_case.
 */
import * as protobuf from 'protobufjs';
import { Code, RpcError, type Timestamp } from '../engine/api';
import { timestampSeconds } from '../engine/time';
import { messageType } from './protobuf';

const WRAPPERS = new Set([
  '.google.protobuf.DoubleValue',
  '.google.protobuf.FloatValue',
  '.google.protobuf.Int64Value',
  '.google.protobuf.UInt64Value',
  '.google.protobuf.Int32Value',
  '.google.protobuf.UInt32Value',
  '.google.protobuf.BoolValue',
  '.google.protobuf.StringValue',
  '.google.protobuf.BytesValue',
]);
const INT64_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Decodes a JSON value (already parsed) into the plain message of `typeName`. */
export function fromProtoJson<T>(typeName: string, json: unknown, path = ''): T {
  return decodeMessage(messageType(typeName), json, path) as T;
}

/** Encodes a plain message of `typeName` (as the engine returns it) into its JSON mapping. */
export function toProtoJson(typeName: string, message: object): unknown {
  return encodeMessage(messageType(typeName), message);
}

function invalid(message: string): RpcError {
  return new RpcError(Code.INVALID_ARGUMENT, `Invalid JSON payload received. ${message}`);
}

function invalidValue(path: string, type: string, value: unknown): RpcError {
  return invalid(`Invalid value at '${path}' (${type}), ${JSON.stringify(value)}`);
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

function decodeMessage(type: protobuf.Type, json: unknown, path: string): Record<string, unknown> {
  const special = decodeWellKnown(type, json, path);
  if (special !== undefined) return special;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw invalidValue(path || '(root)', `TYPE_MESSAGE ${type.fullName.slice(1)}`, json);
  }
  const message: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = type.fields[key] ?? type.fields[camelCase(key)];
    if (!field) throw invalid(`Unknown name ${JSON.stringify(key)}${path ? ` at '${path}'` : ''}: Cannot find field.`);
    field.resolve();
    const decoded = decodeField(field, value, join(path, field.name));
    if (decoded !== undefined) message[field.name] = decoded;
  }
  for (const oneof of type.oneofsArray) {
    const set = oneof.oneof.filter((name) => message[name] !== undefined);
    if (set.length > 1) {
      throw invalid(`Fields ${set.map((name) => `'${join(path, name)}'`).join(' and ')} are in one oneof ('${oneof.name}'): set only one.`);
    }
  }
  return message;
}

function decodeField(field: protobuf.Field, value: unknown, path: string): unknown {
  if (value === null && !isNullValueEnum(field)) return undefined;
  if (field instanceof protobuf.MapField) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidValue(path, 'TYPE_MAP', value);
    const entries: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value)) entries[key] = decodeSingle(field, entry, `${path}[${JSON.stringify(key)}]`);
    return entries;
  }
  if (field.repeated) {
    if (!Array.isArray(value)) throw invalidValue(path, 'TYPE_REPEATED', value);
    return value.map((item: unknown, index) => decodeSingle(field, item, `${path}[${index}]`));
  }
  return decodeSingle(field, value, path);
}

function decodeSingle(field: protobuf.FieldBase, value: unknown, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return decodeMessage(resolved, value, path);
  if (resolved instanceof protobuf.Enum) return decodeEnum(resolved, value, path);
  return decodeScalar(field.type, value, path);
}

function isNullValueEnum(field: protobuf.Field): boolean {
  return field.resolvedType instanceof protobuf.Enum && field.resolvedType.fullName === '.google.protobuf.NullValue';
}

function decodeEnum(type: protobuf.Enum, value: unknown, path: string): string {
  if (type.fullName === '.google.protobuf.NullValue' && value === null) return 'NULL_VALUE';
  if (typeof value === 'string' && value in type.values) return value;
  if (typeof value === 'number' && Number.isInteger(value) && type.valuesById[value] !== undefined) return type.valuesById[value];
  throw invalidValue(path, `TYPE_ENUM ${type.fullName.slice(1)}`, value);
}

function decodeScalar(scalar: string, value: unknown, path: string): unknown {
  if (scalar === 'string') {
    if (typeof value !== 'string') throw invalidValue(path, 'TYPE_STRING', value);
    return value;
  }
  if (scalar === 'bool') {
    if (typeof value !== 'boolean') throw invalidValue(path, 'TYPE_BOOL', value);
    return value;
  }
  if (scalar === 'bytes') {
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) throw invalidValue(path, 'TYPE_BYTES', value);
    return Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
  }
  if (scalar === 'double' || scalar === 'float') {
    if (typeof value === 'number') return value;
    if (value === 'NaN') return NaN;
    if (value === 'Infinity') return Infinity;
    if (value === '-Infinity') return -Infinity;
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
    throw invalidValue(path, `TYPE_${scalar.toUpperCase()}`, value);
  }
  const integer = typeof value === 'number' || (typeof value === 'string' && /^-?\d+$/.test(value)) ? value : undefined;
  if (INT64_TYPES.has(scalar)) {
    if (integer === undefined || (typeof integer === 'number' && !Number.isSafeInteger(integer))) throw invalidValue(path, 'TYPE_INT64', value);
    const text = String(integer);
    if (scalar.startsWith('u') && text.startsWith('-')) throw invalidValue(path, 'TYPE_UINT64', value);
    return BigInt(text).toString();
  }
  if (INT32_TYPES.has(scalar)) {
    const number = Number(integer);
    const unsigned = scalar.startsWith('u') || scalar === 'fixed32';
    const inRange = unsigned ? number >= 0 && number <= 0xffffffff : number >= -0x80000000 && number <= 0x7fffffff;
    if (integer === undefined || !Number.isInteger(number) || !inRange) throw invalidValue(path, 'TYPE_INT32', value);
    return number;
  }
  throw new RpcError(Code.UNIMPLEMENTED, `The offline Firestore emulator does not map JSON for ${scalar} ('${path}')`);
}

/** The types whose JSON form is not an object of their fields; undefined for every other type. */
function decodeWellKnown(type: protobuf.Type, json: unknown, path: string): Record<string, unknown> | undefined {
  const name = type.fullName;
  if (name === '.google.protobuf.Timestamp') {
    const match = typeof json === 'string' ? RFC3339.exec(json) : null;
    if (!match) throw invalidValue(path, 'TYPE_MESSAGE google.protobuf.Timestamp', json);
    const [, year, month, day, hour, minute, second, fraction = '', zone] = match;
    let seconds = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)) / 1000;
    if (zone.toUpperCase() !== 'Z') {
      const sign = zone.startsWith('-') ? -1 : 1;
      seconds -= sign * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60);
    }
    return { seconds: String(seconds), nanos: Number(fraction.padEnd(9, '0')) };
  }
  if (WRAPPERS.has(name)) {
    if (json === null) return undefined;
    return { value: decodeSingle(type.fields.value, json, path) };
  }
  if (name === '.google.protobuf.Empty') {
    if (typeof json !== 'object' || json === null || Array.isArray(json) || Object.keys(json).length > 0) {
      throw invalidValue(path, 'TYPE_MESSAGE google.protobuf.Empty', json);
    }
    return {};
  }
  if (name.startsWith('.google.protobuf.') && !name.endsWith('Options')) {
    throw new RpcError(Code.UNIMPLEMENTED, `The offline Firestore emulator does not map JSON for ${name.slice(1)} ('${path}')`);
  }
  return undefined;
}

// ---- encoding ---------------------------------------------------------------------------------------------

function encodeMessage(type: protobuf.Type, message: object): unknown {
  const record = message as Record<string, unknown>;
  const name = type.fullName;
  if (name === '.google.protobuf.Timestamp') return formatTimestamp(message);
  if (WRAPPERS.has(name)) return encodeSingle(type.fields.value, record.value);
  if (name === '.google.protobuf.Empty') return {};
  if (name.startsWith('.google.protobuf.')) throw new Error(`no JSON mapping for ${name.slice(1)} in the offline emulator`);
  const json: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = record[field.name];
    if (value === undefined || value === null) continue;
    field.resolve();
    if (field instanceof protobuf.MapField) {
      const entries: Record<string, unknown> = {};
      for (const [key, entry] of Object.entries(value as Record<string, unknown>)) entries[key] = encodeSingle(field, entry);
      json[field.name] = entries;
    } else if (field.repeated) {
      json[field.name] = (value as unknown[]).map((item) => encodeSingle(field, item));
    } else {
      json[field.name] = encodeSingle(field, value);
    }
  }
  return json;
}

function encodeSingle(field: protobuf.FieldBase, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return encodeMessage(resolved, value as object);
  if (resolved instanceof protobuf.Enum) {
    const name = typeof value === 'number' ? resolved.valuesById[value] : String(value);
    return resolved.fullName === '.google.protobuf.NullValue' ? null : name;
  }
  if (field.type === 'bytes') return Buffer.from(value as Uint8Array | string).toString('base64');
  if (INT64_TYPES.has(field.type)) return String(value);
  if ((field.type === 'double' || field.type === 'float') && typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  }
  return value;
}

/** RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as Google's JSON APIs write timestamps. */
function formatTimestamp(timestamp: Timestamp): string {
  const whole = timestampSeconds(timestamp);
  const fraction = Number(timestamp.nanos ?? 0);
  const base = new Date(whole * 1000).toISOString().slice(0, 19);
  if (fraction === 0) return `${base}Z`;
  const digits = String(fraction).padStart(9, '0');
  const kept = digits.endsWith('000000') ? digits.slice(0, 3) : digits.endsWith('000') ? digits.slice(0, 6) : digits;
  return `${base}.${kept}Z`;
}
