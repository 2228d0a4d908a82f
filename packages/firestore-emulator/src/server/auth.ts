/**
 * Who is calling, from the Authorization header, as Google's emulator reads it:
 * - `Bearer owner` (firebase-admin against an emulator, rules-unit-testing's withSecurityRulesDisabled) bypasses
 *   rules;
 * - `Bearer <JWT>`: a Firebase ID token. Unsigned (`alg: none`, as rules-unit-testing and the Auth emulator send)
 *   or signed; signatures are never verified, as in Google's emulator;
 * - no header: unauthenticated.
 * Anything else is refused the way Google's emulator refuses it: INVALID_ARGUMENT "invalid jwt".
 */
import { Caller, Code, RpcError } from '../engine/api';

const OWNER: Caller = { kind: 'owner' };
const ANONYMOUS: Caller = { kind: 'anonymous' };

export function callerFromAuthorization(header: string | undefined): Caller {
  if (header === undefined || header === '') return ANONYMOUS;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw invalidJwt('the Authorization header is not "Bearer <token>"');
  const token = match[1];
  if (token === 'owner') return OWNER;
  const payload = decodeJwtPayload(token);
  const uid = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : payload.user_id;
  if (typeof uid !== 'string' || uid === '') throw invalidJwt('the token has neither a "sub" nor a "user_id" claim');
  return { kind: 'user', uid, token: payload };
}

function decodeJwtPayload(token: string): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) throw invalidJwt(`expected three dot-separated parts, got ${parts.length}`);
  const header = parseJsonSegment(parts[0], 'header');
  if (typeof header.alg !== 'string') throw invalidJwt('the header has no "alg"');
  return parseJsonSegment(parts[1], 'payload');
}

function parseJsonSegment(segment: string, what: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(segment)) throw invalidJwt(`the ${what} is not base64url`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw invalidJwt(`the ${what} is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidJwt(`the ${what} is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

function invalidJwt(reason: string): RpcError {
  return new RpcError(Code.INVALID_ARGUMENT, `invalid jwt: ${reason}`);
}
