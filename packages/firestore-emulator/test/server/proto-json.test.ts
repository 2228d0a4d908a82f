/**
 * The proto3 JSON mapping the REST and WebChannel adapters decode requests with and encode answers in: the
 * well-known types' special forms, and strictness (an invalid request names the field and is never half-read).
 */
import { describe, expect, it } from 'vitest';
import { fromProtoJson, toProtoJson } from '../../src/server/proto-json';

const Value = 'google.firestore.v1.Value';

describe('decoding', () => {
  it('reads Timestamps in RFC 3339 with any offset and up to nine fractional digits', () => {
    expect(fromProtoJson(Value, { timestampValue: '2024-05-01T14:30:00.5+02:00' })).toEqual({ timestampValue: { seconds: '1714566600', nanos: 500_000_000 } });
    expect(fromProtoJson(Value, { timestampValue: '1969-12-31T23:59:59.000000001Z' })).toEqual({ timestampValue: { seconds: '-1', nanos: 1 } });
    expect(() => fromProtoJson(Value, { timestampValue: '2024-05-01 14:30:00' })).toThrow(/timestampValue/);
  });

  it('reads int64 from numbers and decimal strings, bytes from base64 and base64url, doubles from their special names', () => {
    expect(fromProtoJson(Value, { integerValue: '-9223372036854775808' })).toEqual({ integerValue: '-9223372036854775808' });
    expect(fromProtoJson(Value, { integerValue: 42 })).toEqual({ integerValue: '42' });
    expect(fromProtoJson(Value, { bytesValue: '-_8' })).toEqual({ bytesValue: Buffer.from([0xfb, 0xff]) });
    expect(fromProtoJson(Value, { bytesValue: '+/8=' })).toEqual({ bytesValue: Buffer.from([0xfb, 0xff]) });
    expect(fromProtoJson<{ doubleValue: number }>(Value, { doubleValue: 'NaN' }).doubleValue).toBeNaN();
    expect(fromProtoJson(Value, { doubleValue: '-Infinity' })).toEqual({ doubleValue: -Infinity });
    expect(fromProtoJson(Value, { nullValue: null })).toEqual({ nullValue: 'NULL_VALUE' });
  });

  it('reads wrappers as their value and accepts snake_case names', () => {
    expect(fromProtoJson('google.firestore.v1.StructuredQuery', { limit: 5, start_at: { before: true } })).toEqual({
      limit: { value: 5 },
      startAt: { before: true },
    });
  });

  it('refuses what Google refuses, naming the path', () => {
    expect(() => fromProtoJson(Value, { integerValue: 1.5 })).toThrow("Invalid value at 'integerValue' (TYPE_INT64), 1.5");
    expect(() => fromProtoJson('google.firestore.v1.StructuredQuery', { limit: 2 ** 31 })).toThrow(/'limit'.*TYPE_INT32/);
    expect(() => fromProtoJson(Value, { mapValue: { fields: { a: { colour: 1 } } } })).toThrow(`Unknown name "colour" at 'mapValue.fields["a"]'`);
    expect(() => fromProtoJson(Value, { stringValue: 'a', integerValue: '1' })).toThrow(/oneof/);
    expect(() => fromProtoJson(Value, { booleanValue: 'true' })).toThrow(/TYPE_BOOL/);
    expect(() => fromProtoJson('google.firestore.v1.Precondition', { updateTime: 'yesterday' })).toThrow(/updateTime/);
  });
});

describe('encoding', () => {
  it('writes Timestamps in UTC with 0, 3, 6 or 9 fractional digits, int64 as strings, bytes as base64, NaN by name', () => {
    const at = (nanos: number) => toProtoJson('google.firestore.v1.Document', { updateTime: { seconds: '1714566600', nanos } });
    expect(at(0)).toEqual({ updateTime: '2024-05-01T12:30:00Z' });
    expect(at(120_000_000)).toEqual({ updateTime: '2024-05-01T12:30:00.120Z' });
    expect(at(123_456_000)).toEqual({ updateTime: '2024-05-01T12:30:00.123456Z' });
    expect(at(1)).toEqual({ updateTime: '2024-05-01T12:30:00.000000001Z' });
    expect(toProtoJson(Value, { integerValue: '9007199254740993' })).toEqual({ integerValue: '9007199254740993' });
    expect(toProtoJson(Value, { bytesValue: Buffer.from([0xfb, 0xff]) })).toEqual({ bytesValue: '+/8=' });
    expect(toProtoJson(Value, { doubleValue: NaN })).toEqual({ doubleValue: 'NaN' });
    expect(toProtoJson(Value, { nullValue: 'NULL_VALUE' })).toEqual({ nullValue: null });
    expect(toProtoJson('google.firestore.v1.StructuredQuery', { limit: { value: 3 } })).toEqual({ limit: 3 });
  });
});
