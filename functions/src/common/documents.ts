import { HttpsError } from 'firebase-functions/v2/https';
import type { DocumentSnapshot } from 'firebase-admin/firestore';
import type { z } from 'zod';

/**
 * Validates a document read back from Firestore against its schema. A stored document that no longer fits is
 * a server fault (`internal`), never silently used.
 */
export function readDocument<S extends z.ZodType>(schema: S, snapshot: DocumentSnapshot): z.infer<S> | null {
  if (!snapshot.exists) return null;
  const result = schema.safeParse(snapshot.data());
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new HttpsError('internal', `stored document ${snapshot.ref.path} is invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
}
