import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import { HttpsError } from 'firebase-functions/v2/https';
import { z } from 'zod';
import { marketingConsentSchema, paths, setMarketingConsentArgsSchema, uidSchema, type MarketingConsent } from '@leadpulse/model';
import { parseArgs, type Caller } from '../common/callable';
import type { Clock } from '../common/clock';
import { readDocument } from '../common/documents';
import { logError } from '../common/logging';

export interface MarketingDeps {
  db: Firestore;
  clock: Clock;
}

export type ConsentStatus = MarketingConsent['status'];

/**
 * `setMarketingConsent` (signed-in user, P9): records the choice with its time and source. Opting in needs a
 * verified address (it is where the e-mail goes). Opting out of nothing stores nothing.
 */
export async function setMarketingConsent(deps: MarketingDeps, caller: Caller, data: unknown): Promise<{ status: ConsentStatus }> {
  const args = parseArgs(setMarketingConsentArgsSchema, data);
  if (args.optIn && (!caller.email || !caller.emailVerified)) {
    throw new HttpsError('failed-precondition', 'verify your e-mail address before subscribing to marketing e-mail');
  }
  const { db } = deps;
  const ref = db.doc(paths.marketingConsent(caller.uid));
  return db.runTransaction(async (tx) => {
    const current = readDocument(marketingConsentSchema, await tx.get(ref));
    const now = Timestamp.fromDate(deps.clock());
    if (args.optIn) {
      const consent: MarketingConsent = { email: caller.email as string, status: 'opted_in', source: args.source, updatedAt: now, optedOutAt: null };
      tx.set(ref, marketingConsentSchema.parse(consent));
      return { status: 'opted_in' };
    }
    if (current?.status === 'opted_in') {
      tx.update(ref, { status: 'opted_out', source: args.source, updatedAt: now, optedOutAt: now });
    }
    return { status: 'opted_out' };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Signed one-click unsubscribe links (RFC 8058)
// ---------------------------------------------------------------------------------------------------------

/** How long an unsubscribe link in a marketing e-mail keeps working. */
export const UNSUBSCRIBE_LINK_TTL_DAYS = 60;
const TOKEN_VERSION = 'v1';
const MIN_KEY_BYTES = 32;

const tokenPayloadSchema = z.strictObject({ uid: uidSchema, exp: z.number().int().positive() });

function requireKey(signingKey: string): string {
  if (Buffer.byteLength(signingKey, 'utf8') < MIN_KEY_BYTES) {
    throw new Error(`the unsubscribe signing key (UNSUBSCRIBE_SIGNING_KEY) must be at least ${MIN_KEY_BYTES} bytes`);
  }
  return signingKey;
}

function sign(signingKey: string, signed: string): Buffer {
  return createHmac('sha256', requireKey(signingKey)).update(signed, 'utf8').digest();
}

/** `v1.<payload>.<signature>`, base64url: who unsubscribes and until when the link works, signed with HMAC-SHA256. */
export function signUnsubscribeToken(signingKey: string, uid: string, expiresAt: Date): string {
  const payload = Buffer.from(JSON.stringify({ uid, exp: Math.floor(expiresAt.getTime() / 1000) })).toString('base64url');
  const signed = `${TOKEN_VERSION}.${payload}`;
  return `${signed}.${sign(signingKey, signed).toString('base64url')}`;
}

export type TokenCheck = { valid: true; uid: string } | { valid: false; reason: 'malformed' | 'forged' | 'expired' };

export function verifyUnsubscribeToken(signingKey: string, token: string, now: Date): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== TOKEN_VERSION) return { valid: false, reason: 'malformed' };
  const expected = sign(signingKey, `${parts[0]}.${parts[1]}`);
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { valid: false, reason: 'forged' };
  let payload: z.infer<typeof tokenPayloadSchema>;
  try {
    payload = tokenPayloadSchema.parse(JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')));
  } catch {
    return { valid: false, reason: 'malformed' };
  }
  if (payload.exp * 1000 <= now.getTime()) return { valid: false, reason: 'expired' };
  return { valid: true, uid: payload.uid };
}

/**
 * The headers a marketing e-mail carries (RFC 2369 and RFC 8058), for the mailer: a mail client that shows an
 * "unsubscribe" button POSTs `List-Unsubscribe=One-Click` to the link, with no sign-in.
 */
export function unsubscribeHeaders(endpointUrl: string, signingKey: string, uid: string, now: Date): Record<string, string> {
  const token = signUnsubscribeToken(signingKey, uid, new Date(now.getTime() + UNSUBSCRIBE_LINK_TTL_DAYS * 24 * 60 * 60 * 1000));
  const url = new URL(endpointUrl);
  url.searchParams.set('token', token);
  return { 'List-Unsubscribe': `<${url.toString()}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
}

export interface UnsubscribeDeps extends MarketingDeps {
  signingKey: string;
}

const refusals = {
  malformed: [400, 'This unsubscribe link is damaged. Use the link from a recent e-mail, or change your preferences in your account settings.'],
  forged: [403, 'This unsubscribe link is not valid.'],
  expired: [410, 'This unsubscribe link has expired. Use the link from a recent e-mail, or change your preferences in your account settings.'],
} as const;

/**
 * `unsubscribe` (HTTPS, no sign-in): POST with `List-Unsubscribe=One-Click` (RFC 8058, as mail clients send it, or
 * from the confirmation page) opts the link's person out at once; repeating it changes nothing (the first
 * opt-out time is kept, it starts the 30 days after which marketing data is deleted). GET only shows the
 * confirmation page: link scanners follow GETs, and must not unsubscribe anyone. A forged, damaged or expired
 * token changes nothing.
 */
export async function handleUnsubscribeRequest(deps: UnsubscribeDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    if (req.method !== 'GET' && req.method !== 'POST') return reply(res, 405, 'Use POST.', { Allow: 'GET, POST' });
    const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? '';
    const check = verifyUnsubscribeToken(deps.signingKey, token, deps.clock());
    if (!check.valid) {
      const [status, message] = refusals[check.reason];
      return reply(res, status, message);
    }
    if (req.method === 'GET') return confirmationPage(res);
    if (!isOneClick(req, await readBody(req))) return reply(res, 400, 'Expected the form field List-Unsubscribe=One-Click.');
    await optOut(deps, check.uid);
    return reply(res, 200, 'You are unsubscribed from LeadPulse marketing e-mail.');
  } catch (error) {
    logError('unsubscribe failed', error);
    return reply(res, 500, 'Something went wrong; please try again.');
  }
}

async function optOut(deps: MarketingDeps, uid: string): Promise<void> {
  const { db } = deps;
  const ref = db.doc(paths.marketingConsent(uid));
  await db.runTransaction(async (tx) => {
    const current = readDocument(marketingConsentSchema, await tx.get(ref));
    if (current?.status !== 'opted_in') return;
    const now = Timestamp.fromDate(deps.clock());
    tx.update(ref, { status: 'opted_out', source: 'unsubscribe_link', updatedAt: now, optedOutAt: now });
  });
}

const MAX_BODY_BYTES = 8 * 1024;

/** The request body: Cloud Functions has read it already (`rawBody`); a plain Node server has not. */
async function readBody(req: IncomingMessage): Promise<string> {
  const raw = (req as IncomingMessage & { rawBody?: unknown }).rawBody;
  if (Buffer.isBuffer(raw)) return raw.subarray(0, MAX_BODY_BYTES).toString('utf8');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('unsubscribe request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** RFC 8058 allows the field as multipart/form-data (recommended) or application/x-www-form-urlencoded. */
function isOneClick(req: IncomingMessage, body: string): boolean {
  const contentType = req.headers['content-type'] ?? '';
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    return new URLSearchParams(body).get('List-Unsubscribe') === 'One-Click';
  }
  const boundary = /^multipart\/form-data;.*boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) return false;
  return body.split(`--${boundary}`).some((part) => {
    const [head, ...rest] = part.split(/\r?\n\r?\n/);
    return /content-disposition:\s*form-data;\s*name="List-Unsubscribe"/i.test(head) && rest.join('\n\n').trim() === 'One-Click';
  });
}

function confirmationPage(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>Unsubscribe</title>' +
      '<p>Stop receiving LeadPulse marketing e-mail?</p>' +
      '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">' +
      '<button type="submit">Unsubscribe</button></form></html>',
  );
}

function reply(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(message);
}
