import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DocumentReference,
  FieldPath,
  GeoPoint,
  Timestamp,
  type CollectionReference,
  type DocumentSnapshot,
  type Firestore,
  type Query,
} from 'firebase-admin/firestore';
import { HttpsError } from 'firebase-functions/v2/https';
import { collectionGroups, exportQuerySchema, paths, type ExportQuery } from '@leadpulse/model';
import type { Caller } from '../common/callable';
import type { Clock } from '../common/clock';
import { logError } from '../common/logging';
import { chargeRateLimits, exportLimits } from '../common/rate-limit';
import { writeAuditEntry } from '../orgs/audit';
import { requireCallerMembership } from '../orgs/membership-access';
import { compareDocumentIds } from '../common/bulk';

/** Checks a Firebase ID token (firebase-admin's `verifyIdToken`, revocation included) and returns its claims. */
export type IdTokenVerifier = (idToken: string) => Promise<{ uid: string } & Record<string, unknown>>;

export interface ExportDeps {
  db: Firestore;
  clock: Clock;
  verifyIdToken: IdTokenVerifier;
  /**
   * Verifies the `X-Firebase-AppCheck` token (rejects when it is not valid); null when App Check is not enforced
   * (the local backend). onRequest functions get no App Check from firebase-functions, so the handler checks it.
   */
  verifyAppCheck: ((token: string) => Promise<void>) | null;
  /** Documents read per query: what the export holds in memory at most. */
  pageSize?: number;
}

const DEFAULT_EXPORT_PAGE_SIZE = 1000;

/** A failure before the first byte of the export: answered with this status and a JSON body. */
class ExportRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * `exportData` (HTTPS, P10): `GET ?scope=self` exports the caller's own personal data; `GET ?scope=organization
 * &orgId=…` (owner or admin) the whole organization. `Authorization: Bearer <Firebase ID token>`. The answer is
 * NDJSON, one line per document, `{"path": …, "data": …}`, read a page at a time and written as the client reads
 * (backpressure), so memory stays flat whatever the size; the last line, `{"complete": true, "documents": n}`,
 * tells a complete export from one cut short. Each export is recorded in the audit log before it starts (P14).
 */
export async function handleExportRequest(deps: ExportDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let documents: AsyncIterable<DocumentSnapshot>;
  let filename: string;
  try {
    if (req.method !== 'GET') throw new ExportRefused(405, 'use GET');
    await requireAppCheck(deps, req);
    const caller = await authenticate(deps, req);
    const query = parseQuery(req);
    const now = deps.clock();
    if (query.scope === 'organization') {
      await recordOrgExport(deps, caller, query.orgId, now);
      documents = organizationDocuments(deps, query.orgId);
      filename = `leadpulse-organization-${query.orgId}-${now.toISOString().slice(0, 10)}.ndjson`;
    } else {
      await recordSelfExport(deps, caller, now);
      documents = personalDocuments(deps, caller.uid);
      filename = `leadpulse-my-data-${now.toISOString().slice(0, 10)}.ndjson`;
    }
  } catch (error) {
    refuse(res, error);
    return;
  }

  res.writeHead(200, {
    'Content-Type': 'application/x-ndjson; charset=utf-8',
    'Content-Disposition': `attachment; filename="${filename}"`,
    'Cache-Control': 'no-store',
  });
  try {
    let count = 0;
    for await (const snapshot of documents) {
      await writeLine(res, { path: snapshot.ref.path, data: toJson(snapshot.data()) });
      count++;
    }
    await writeLine(res, { complete: true, documents: count });
    res.end();
  } catch (error) {
    // A client that went away is no fault of ours; anything else is.
    if (!res.destroyed) logError('export failed after it started; the client gets no closing line', error);
    // The status is sent already: cutting the connection is how the client learns (no closing line).
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

async function requireAppCheck(deps: ExportDeps, req: IncomingMessage): Promise<void> {
  if (!deps.verifyAppCheck) return;
  const token = req.headers['x-firebase-appcheck'];
  if (typeof token !== 'string' || token === '') throw new ExportRefused(401, 'send an App Check token as "X-Firebase-AppCheck"');
  try {
    await deps.verifyAppCheck(token);
  } catch {
    throw new ExportRefused(401, 'the App Check token is invalid or expired');
  }
}

async function authenticate(deps: ExportDeps, req: IncomingMessage): Promise<Caller> {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new ExportRefused(401, 'send a Firebase ID token as "Authorization: Bearer <token>"');
  let claims: Awaited<ReturnType<IdTokenVerifier>>;
  try {
    claims = await deps.verifyIdToken(match[1]);
  } catch {
    throw new ExportRefused(401, 'the ID token is invalid, expired or revoked');
  }
  return {
    uid: claims.uid,
    email: typeof claims.email === 'string' ? claims.email : null,
    emailVerified: claims.email_verified === true,
    claims,
  };
}

function parseQuery(req: IncomingMessage): ExportQuery {
  const params = Object.fromEntries(new URL(req.url ?? '/', 'http://localhost').searchParams);
  const result = exportQuerySchema.safeParse(params);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.length > 0 ? issue.path.join('.') : '(query)';
  throw new ExportRefused(400, `${field}: ${issue.message}`, field);
}

async function recordOrgExport(deps: ExportDeps, caller: Caller, orgId: string, now: Date): Promise<void> {
  const { db } = deps;
  await db.runTransaction(async (tx) => {
    await requireCallerMembership(db, tx, orgId, caller, ['owner', 'admin']);
    const count = await chargeRateLimits(
      db,
      tx,
      [
        { limit: exportLimits.perUser, subject: caller.uid },
        { limit: exportLimits.perOrg, subject: orgId },
      ],
      now,
    );
    count();
    writeAuditEntry(db, tx, orgId, { action: 'privacy.org_exported', actorUid: caller.uid, targetId: orgId }, now);
  });
}

/** Own data includes the person's member documents, so each organization's owners see that they were exported. */
async function recordSelfExport(deps: ExportDeps, caller: Caller, now: Date): Promise<void> {
  const { db } = deps;
  await db.runTransaction(async (tx) => {
    const memberships = await tx.get(membershipsOf(db, caller.uid));
    const count = await chargeRateLimits(db, tx, [{ limit: exportLimits.perUser, subject: caller.uid }], now);
    count();
    for (const membership of memberships.docs) {
      const orgId = membership.ref.parent.parent?.id;
      if (!orgId) continue;
      writeAuditEntry(db, tx, orgId, { action: 'privacy.member_exported', actorUid: caller.uid, targetUid: caller.uid }, now);
    }
  });
}

function membershipsOf(db: Firestore, uid: string): Query {
  return db.collectionGroup(collectionGroups.members).where('uid', '==', uid);
}

/** The organization document, then every collection under it, each in document-id order, a page at a time. */
async function* organizationDocuments(deps: ExportDeps, orgId: string): AsyncGenerator<DocumentSnapshot> {
  const orgRef = deps.db.doc(paths.org(orgId));
  const org = await orgRef.get();
  if (org.exists) yield org;
  const collections = (await orgRef.listCollections()).sort((a, b) => compareDocumentIds(a.id, b.id));
  for (const collection of collections) yield* pages(collection, deps.pageSize);
}

/** The profile, every membership, and the marketing consent: what the backend holds about the person. */
async function* personalDocuments(deps: ExportDeps, uid: string): AsyncGenerator<DocumentSnapshot> {
  const { db } = deps;
  const profile = await db.doc(paths.user(uid)).get();
  if (profile.exists) yield profile;
  yield* pages(membershipsOf(db, uid), deps.pageSize);
  const consent = await db.doc(paths.marketingConsent(uid)).get();
  if (consent.exists) yield consent;
}

async function* pages(source: CollectionReference | Query, pageSize = DEFAULT_EXPORT_PAGE_SIZE): AsyncGenerator<DocumentSnapshot> {
  let query = source.orderBy(FieldPath.documentId()).limit(pageSize);
  for (;;) {
    const page = await query.get();
    yield* page.docs;
    if (page.size < pageSize) return;
    query = query.startAfter(page.docs[page.size - 1]);
  }
}

/** Writes one NDJSON line, waiting while the client's buffer is full; throws if the client went away. */
async function writeLine(res: ServerResponse, line: unknown): Promise<void> {
  if (res.destroyed) throw new Error('the client closed the connection');
  if (res.write(`${JSON.stringify(line)}\n`)) return;
  await new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      res.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      res.off('drain', onDrain);
      reject(new Error('the client closed the connection'));
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

function refuse(res: ServerResponse, error: unknown): void {
  let status = 500;
  let body: { error: string; field?: string } = { error: 'internal error' };
  if (error instanceof ExportRefused) {
    status = error.status;
    body = { error: error.message, ...(error.field ? { field: error.field } : {}) };
  } else if (error instanceof HttpsError) {
    status = error.httpErrorCode.status;
    body = { error: error.message };
  }
  if (status >= 500) logError('export failed before it started', error);
  const retryAfter =
    error instanceof HttpsError && error.code === 'resource-exhausted'
      ? (error.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds
      : undefined;
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    ...(retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) }),
  });
  res.end(JSON.stringify(body));
}

/**
 * Firestore values as JSON, typed where JSON has no type of its own: `{"$timestamp": RFC 3339 with nanoseconds}`,
 * `{"$geopoint": …}`, `{"$reference": path}`, `{"$bytes": base64}`, `{"$double": "NaN"}`.
 */
export function toJson(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $double: String(value) };
  if (value instanceof Timestamp) return { $timestamp: rfc3339(value) };
  if (value instanceof GeoPoint) return { $geopoint: { latitude: value.latitude, longitude: value.longitude } };
  if (value instanceof DocumentReference) return { $reference: value.path };
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, entry]) => [key, toJson(entry)]));
  }
  throw new Error(`cannot export a value of type ${(value as object)?.constructor?.name ?? typeof value}`);
}

function rfc3339(timestamp: Timestamp): string {
  const seconds = new Date(timestamp.seconds * 1000).toISOString().slice(0, 19);
  return `${seconds}.${String(timestamp.nanoseconds).padStart(9, '0')}Z`;
}
