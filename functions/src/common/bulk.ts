import type { BulkWriter, BulkWriterOptions, DocumentData, DocumentReference, Firestore, Query, UpdateData } from 'firebase-admin/firestore';

/** Documents read, deleted or changed per page: small enough that memory stays flat whatever the data size. */
export const DEFAULT_PAGE_SIZE = 500;

/**
 * How BulkWriter paces writes. Firestore's default (500 ops/s, +50% every 5 minutes) protects a live database
 * from a sudden burst; callers may raise it (the benchmark measures the code, not the pacing).
 */
export interface BulkOptions {
  pageSize?: number;
  bulkWriter?: BulkWriterOptions;
}

/** Runs `work` with a BulkWriter that is closed afterwards whatever happens. */
export async function withBulkWriter<T>(db: Firestore, options: BulkOptions, work: (writer: BulkWriter) => Promise<T>): Promise<T> {
  const writer = db.bulkWriter(options.bulkWriter);
  try {
    return await work(writer);
  } finally {
    await writer.close();
  }
}

/**
 * Sends the writes just queued and waits for each: BulkWriter sends a batch only once it is full or flushed, and
 * `flush()` resolves even when writes failed (after retrying the transient ones), so each write's own promise
 * says whether it took. The first failure is thrown: a failed delete never passes for done.
 */
async function flushAndSettle(writer: BulkWriter, writes: Promise<unknown>[]): Promise<void> {
  const results = Promise.allSettled(writes);
  await writer.flush();
  const failure = (await results).find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) throw failure.reason;
}

export async function deleteAll(writer: BulkWriter, refs: readonly DocumentReference[]): Promise<void> {
  await flushAndSettle(
    writer,
    refs.map((ref) => writer.delete(ref)),
  );
}

/** Updates every document; one deleted meanwhile (NOT_FOUND) has nothing left to update and is skipped. */
export async function updateAll(writer: BulkWriter, refs: readonly DocumentReference[], data: UpdateData<DocumentData>): Promise<void> {
  const NOT_FOUND = 5;
  await flushAndSettle(
    writer,
    refs.map((ref) =>
      writer.update(ref, data).catch((error: unknown) => {
        if ((error as { code?: number }).code !== NOT_FOUND) throw error;
      }),
    ),
  );
}

/**
 * Applies `apply` to the documents `query` matches, a page at a time, until none match. `apply` must make a
 * document stop matching (delete it, or change the matched field), so each page is read from the start.
 * Returns how many documents were handled. Stops with an error if a page comes back unchanged (the writes did
 * not take), instead of looping.
 */
export async function drainQuery(
  query: Query,
  pageSize: number,
  apply: (refs: DocumentReference[]) => Promise<void>,
  shouldStop: () => boolean = () => false,
): Promise<{ handled: number; complete: boolean }> {
  let handled = 0;
  let previousFirst: string | null = null;
  for (;;) {
    if (shouldStop()) return { handled, complete: false };
    const page = await query.select().limit(pageSize).get();
    if (page.empty) return { handled, complete: true };
    const first = page.docs[0].ref.path;
    if (first === previousFirst) throw new Error(`documents still match after being handled, e.g. ${first}`);
    previousFirst = first;
    await apply(page.docs.map((doc) => doc.ref));
    handled += page.size;
  }
}

/**
 * Firestore's order of document ids within a collection: by their UTF-8 bytes (JavaScript's `<` compares UTF-16
 * code units, which differs for characters outside the Basic Multilingual Plane).
 */
export function compareDocumentIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
