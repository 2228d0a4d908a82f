/**
 * Whole-project snapshots, to prove that an action wrote nothing (or exactly what it should have): every document
 * of the project found by listing, so that documents below documents that do not exist, in collections no schema
 * names, are seen too; each with its data and its create and update times, to the nanosecond.
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { DocumentReference, Firestore, Timestamp } from 'firebase-admin/firestore';
import { HttpsError } from 'firebase-functions/v2/https';
import { toJson } from '../../functions/src/privacy/export';

export interface DumpedDocument {
  /** The data as typed JSON (the export's encoding: timestamps to the nanosecond, bytes, references, NaN). */
  data: Record<string, unknown>;
  /** RFC 3339 with nanoseconds. */
  createTime: string;
  updateTime: string;
}

/** Every document of a project, by path, in path order. */
export type ProjectDump = Map<string, DumpedDocument>;

/** JSON with object keys sorted, so that equal data gives equal text. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function exactTime(time: Timestamp | undefined): string {
  return time ? (toJson(time) as { $timestamp: string }).$timestamp : '';
}

/** Every document of the project, found by listing collections and documents at every depth. */
export async function dumpProject(db: Firestore): Promise<ProjectDump> {
  const documents: Array<[string, DumpedDocument]> = [];
  async function visit(refs: DocumentReference[]): Promise<void> {
    for (let i = 0; i < refs.length; i += 300) {
      for (const snapshot of await db.getAll(...refs.slice(i, i + 300))) {
        if (!snapshot.exists) continue;
        documents.push([
          snapshot.ref.path,
          {
            data: toJson(snapshot.data()) as Record<string, unknown>,
            createTime: exactTime(snapshot.createTime),
            updateTime: exactTime(snapshot.updateTime),
          },
        ]);
      }
    }
    await Promise.all(
      refs.map(async (ref) => {
        for (const collection of await ref.listCollections()) await visit(await collection.listDocuments());
      }),
    );
  }
  await Promise.all((await db.listCollections()).map(async (collection) => visit(await collection.listDocuments())));
  return new Map(documents.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Paths at or below `prefix` (a document or collection path). */
export const under = (prefix: string) => (path: string) => path === prefix || path.startsWith(`${prefix}/`);

/** sha256 over the paths, data and write times of the dumped documents `keep` selects. */
export function digest(dump: ProjectDump, keep: (path: string) => boolean = () => true): string {
  const hash = createHash('sha256');
  for (const [path, doc] of dump) {
    if (keep(path)) hash.update(`${path}\n${canonical(doc.data)}\n${doc.createTime}\n${doc.updateTime}\n`);
  }
  return hash.digest('hex');
}

/** The dump's data only (no write times), by path: for comparing two projects' end states. */
export function dataOf(dump: ProjectDump, keep: (path: string) => boolean = () => true): Record<string, Record<string, unknown>> {
  return Object.fromEntries([...dump].filter(([path]) => keep(path)).map(([path, doc]) => [path, doc.data]));
}

/** Every path and all data of the dump as one text: for checks that a value is stored nowhere. */
export function storedText(dump: ProjectDump): string {
  return [...dump].map(([path, doc]) => `${path} ${canonical(doc.data)}`).join('\n');
}

/**
 * Expects `action` to fail with an HttpsError of `code` (its message matching `message`) and to leave the project
 * exactly as it was: the same documents, with the same data and write times.
 */
export async function expectRefusedWithoutChange(
  db: Firestore,
  action: () => Promise<unknown>,
  code: HttpsError['code'],
  message?: RegExp,
): Promise<HttpsError> {
  const before = await dumpProject(db);
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
  expect(await dumpProject(db)).toEqual(before);
  return httpsError;
}
