import { HttpsError } from 'firebase-functions/v2/https';
import type { DocumentSnapshot } from 'firebase-admin/firestore';
import * as logger from 'firebase-functions/logger';
import type { z } from 'zod';

/**
 * A stored document that does not fit the schema its reader needs. Callers see `internal` with a message that
 * names no document (paths carry uids and organization ids); the path is kept on the error for the server's
 * own reports and logged where the document was read.
 */
export class InvalidStoredDocument extends HttpsError {
  constructor(
    readonly path: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super('internal', 'a stored document is invalid; operators have been alerted');
    this.name = 'InvalidStoredDocument';
  }
}

/** Rounds of removing unknown keys: one per level of nesting that has some (our documents nest 3 levels at most). */
const MAX_STRIP_ROUNDS = 8;

/** Tolerant read: fields unknown to `schema` are dropped, at any depth, before it judges the rest. */
export function parseStored<S extends z.ZodType>(schema: S, data: unknown): z.ZodSafeParseResult<z.infer<S>> {
  let value = data;
  // Each round removes the unknown keys zod reported; nested objects are only reported once their parent passes.
  for (let round = 0; ; round++) {
    const result = schema.safeParse(value);
    if (result.success || round === MAX_STRIP_ROUNDS) return result;
    const unknown = result.error.issues.filter((issue) => issue.code === 'unrecognized_keys');
    if (unknown.length === 0 || unknown.length < result.error.issues.length) return result;
    for (const issue of unknown) value = withoutKeys(value, issue.path, issue.keys);
  }
}

/** A copy of `value` without `keys` in the object at `path` (copied along the path only; the input is unchanged). */
function withoutKeys(value: unknown, path: readonly PropertyKey[], keys: readonly string[]): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const [index, ...rest] = path;
    return value.map((item: unknown, i) => (i === index ? withoutKeys(item, rest, keys) : item));
  }
  const copy: Record<PropertyKey, unknown> = { ...(value as Record<PropertyKey, unknown>) };
  if (path.length === 0) {
    for (const key of keys) delete copy[key];
    return copy;
  }
  const [head, ...rest] = path;
  copy[head] = withoutKeys(copy[head], rest, keys);
  return copy;
}

/**
 * Validates a document read back from Firestore against the schema of what the reader uses. Reads are
 * tolerant: fields the schema does not name are ignored (a newer release may have added them, or an older one
 * left them: see docs/operations.md, "Schema evolution"), and readers pass schemas of only the fields they use.
 * A document whose used fields do not fit is a server fault: logged with its path, thrown as
 * InvalidStoredDocument (`internal`), never silently used.
 */
export function readDocument<S extends z.ZodType>(schema: S, snapshot: DocumentSnapshot): z.infer<S> | null {
  if (!snapshot.exists) return null;
  const result = parseStored(schema, snapshot.data());
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.join('.') || '(root)';
  logger.error(`stored document invalid: ${snapshot.ref.path}`, { path: snapshot.ref.path, field, reason: issue.message });
  throw new InvalidStoredDocument(snapshot.ref.path, field, issue.message);
}
