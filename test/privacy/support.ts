/**
 * Shared helpers of the privacy tests: a hand-moved clock, callers, recording stand-ins for the two services the
 * emulator does not provide (Firebase Auth and Stripe's cancellation), and whole-project dumps and digests to
 * prove what changed and what did not. Seeding lives in ./seed (re-exported here).
 */
import { createHash, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { DocumentReference, Firestore } from 'firebase-admin/firestore';
import { HttpsError } from 'firebase-functions/v2/https';
import type { AccountAuth } from '../../functions/src/accounts/account-auth';
import type { Caller } from '../../functions/src/common/callable';
import { toJson } from '../../functions/src/privacy/export';
import type { CancelSubscription } from '../../functions/src/privacy/org-deletion';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { START } from './seed';

export * from './seed';

export function manualClock(start = START): { clock: () => Date; advance: (ms: number) => void; set: (date: Date) => void } {
  let now = start.getTime();
  return { clock: () => new Date(now), advance: (ms) => (now += ms), set: (date) => (now = date.getTime()) };
}

/** A fresh project on the emulator; call `close()` in afterAll/afterEach. */
export function freshProject(topic: string): { db: Firestore; projectId: string; close: () => Promise<void> } {
  const projectId = uniqueProjectId(topic);
  const { db, close } = adminFirestore(projectId);
  return { db, projectId, close };
}

/** A signed-in caller as firebase-functions hands it over after verifying the ID token. */
export function caller(uid: string, extraClaims: Record<string, unknown> = {}): Caller {
  const email = `${uid}@example.com`;
  return { uid, email, emailVerified: true, claims: { email, email_verified: true, ...extraClaims } };
}

export function uid(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/**
 * Firebase Auth as AccountAuth, in memory, recording every deletion (test/privacy/auth-emulator.test.ts runs
 * the real firebase-admin adapter against firebase-tools' Auth emulator).
 */
export class RecordingAuth implements AccountAuth {
  readonly users = new Map<string, Record<string, unknown>>();
  readonly deleteCalls: string[] = [];
  addUser(uid: string, claims: Record<string, unknown> = {}): void {
    this.users.set(uid, claims);
  }
  async deleteUser(uid: string): Promise<void> {
    this.deleteCalls.push(uid);
    this.users.delete(uid);
  }
  async customClaims(uid: string): Promise<Record<string, unknown>> {
    return this.users.get(uid) ?? {};
  }
}

/** Stands in for billing's Stripe cancellation: records the organizations, can be told to fail. */
export function recordingCancellation(): { calls: string[]; cancel: CancelSubscription; failWith: (error: Error | null) => void } {
  const calls: string[] = [];
  let failure: Error | null = null;
  return {
    calls,
    failWith: (error) => (failure = error),
    cancel: async (orgId) => {
      calls.push(orgId);
      if (failure) throw failure;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Dumps and digests
// ---------------------------------------------------------------------------------------------------------

export interface DumpedDocument {
  /** Canonical JSON of the data (sorted keys, typed values). */
  data: string;
  createTime: string;
  updateTime: string;
}

/** JSON with object keys sorted, so that equal data gives equal text. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Every document of the project, by path, found by listing (documents that only hold subcollections included). */
export async function dumpProject(db: Firestore): Promise<Map<string, DumpedDocument>> {
  const dump = new Map<string, DumpedDocument>();
  async function visit(refs: DocumentReference[]): Promise<void> {
    for (let i = 0; i < refs.length; i += 300) {
      const chunk = refs.slice(i, i + 300);
      for (const snapshot of await db.getAll(...chunk)) {
        if (!snapshot.exists) continue;
        dump.set(snapshot.ref.path, {
          data: canonical(toJson(snapshot.data())),
          createTime: snapshot.createTime?.toDate().toISOString() ?? '',
          updateTime: snapshot.updateTime?.toDate().toISOString() ?? '',
        });
      }
    }
    await Promise.all(
      refs.map(async (ref) => {
        for (const collection of await ref.listCollections()) await visit(await collection.listDocuments());
      }),
    );
  }
  await Promise.all((await db.listCollections()).map(async (collection) => visit(await collection.listDocuments())));
  return dump;
}

/** sha256 over the paths, data and write times of the dumped documents `keep` selects. */
export function digest(dump: Map<string, DumpedDocument>, keep: (path: string) => boolean = () => true): string {
  const hash = createHash('sha256');
  for (const path of [...dump.keys()].filter(keep).sort()) {
    const doc = dump.get(path) as DumpedDocument;
    hash.update(`${path}\n${doc.data}\n${doc.createTime}\n${doc.updateTime}\n`);
  }
  return hash.digest('hex');
}

/** The dump's data only (no write times), as a plain object: for comparing two projects' end states. */
export function dataOf(dump: Map<string, DumpedDocument>, keep: (path: string) => boolean = () => true): Record<string, string> {
  return Object.fromEntries([...dump.entries()].filter(([path]) => keep(path)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, doc]) => [path, doc.data]));
}

export const under = (prefix: string) => (path: string) => path === prefix || path.startsWith(`${prefix}/`);

/** Expects `action` to fail with an HttpsError of `code` (message matching `message`) and change nothing at all. */
export async function expectRefusedWithoutChange(
  db: Firestore,
  action: () => Promise<unknown>,
  code: HttpsError['code'],
  message?: RegExp,
): Promise<HttpsError> {
  const before = digest(await dumpProject(db));
  const error = await action().then(
    (result) => {
      throw new Error(`expected ${code}, got success: ${JSON.stringify(result)}`);
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(HttpsError);
  const httpsError = error as HttpsError;
  expect(httpsError.code, httpsError.message).toBe(code);
  if (message) expect(httpsError.message).toMatch(message);
  expect(digest(await dumpProject(db))).toBe(before);
  return httpsError;
}
