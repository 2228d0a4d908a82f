/**
 * Instants inside the engine are epoch microseconds held in a number (exact up to year 2255), the precision
 * Firestore gives commit and update times. Timestamps at the API boundary are protobuf Timestamps.
 */
import { Code, RpcError, Timestamp, ValidTimestamp } from './api';

export type Micros = number;

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range Firestore accepts for timestamps. */
export const MIN_TIMESTAMP_SECONDS = -62135596800;
export const MAX_TIMESTAMP_SECONDS = 253402300799;

export function toTimestamp(micros: Micros): ValidTimestamp {
  const seconds = Math.floor(micros / 1e6);
  return { seconds: String(seconds), nanos: (micros - seconds * 1e6) * 1000 };
}

/** Seconds of a decoded Timestamp (string with `longs: String`, but numbers and Longs are accepted too). */
/**
 * The request time of a commit: what REQUEST_TIME (serverTimestamp) writes and what rules see as
 * `request.time`. The proto gives it millisecond precision, and `request.time == request.resource.data.at`
 * must hold, so both use this one instant.
 */
export function requestTime(commitMicros: Micros): ValidTimestamp {
  return toTimestamp(Math.floor(commitMicros / 1000) * 1000);
}

export function timestampSeconds(ts: Timestamp): number {
  const seconds = ts.seconds;
  if (seconds === undefined || seconds === null) return 0;
  return typeof seconds === 'number' ? seconds : Number(String(seconds));
}

export function timestampNanos(ts: Timestamp): number {
  return ts.nanos ?? 0;
}

/** Validates the ranges protobuf defines for a Timestamp; `what` names the field in the error. */
export function checkTimestamp(ts: Timestamp, what: string): void {
  const seconds = timestampSeconds(ts);
  const nanos = timestampNanos(ts);
  if (!Number.isInteger(seconds) || seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) {
    throw new RpcError(Code.INVALID_ARGUMENT, `${what} has seconds out of range: ${String(ts.seconds)}`);
  }
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
    throw new RpcError(Code.INVALID_ARGUMENT, `${what} has nanos out of range: ${nanos}`);
  }
}

/** The instant of a timestamp in microseconds, rounded down (a read at t sees every commit at or before t). */
export function timestampToMicros(ts: Timestamp): Micros {
  return timestampSeconds(ts) * 1e6 + Math.floor(timestampNanos(ts) / 1000);
}

export function timestampsEqual(a: Timestamp, b: Timestamp): boolean {
  return timestampSeconds(a) === timestampSeconds(b) && timestampNanos(a) === timestampNanos(b);
}

export function formatMicros(micros: Micros): string {
  const seconds = Math.floor(micros / 1e6);
  const fraction = String(micros - seconds * 1e6).padStart(6, '0');
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, `.${fraction}Z`);
}
