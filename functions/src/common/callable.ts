import { HttpsError, type CallableRequest } from 'firebase-functions/v2/https';
import type { z } from 'zod';

/** The signed-in caller of a callable, as firebase-functions verified it. */
export interface Caller {
  uid: string;
  email: string | null;
  emailVerified: boolean;
  /** Custom claims the backend set (e.g. `operator`); a client cannot forge a verified token. */
  claims: Record<string, unknown>;
}

/**
 * The verified caller. A request whose App Check token was consumed already is refused first: the one-shot
 * actions ask firebase-functions to consume the token (`consumeAppCheckToken`), and it hands a replayed token
 * over with `alreadyConsumed` rather than refusing it itself.
 */
export function requireCaller(request: Pick<CallableRequest, 'auth' | 'app'>): Caller {
  if (request.app?.alreadyConsumed === true) {
    throw new HttpsError('permission-denied', 'this request was already made once (its App Check token is used): it cannot be replayed');
  }
  const auth = request.auth;
  if (!auth) throw new HttpsError('unauthenticated', 'sign in first');
  const token = auth.token as Record<string, unknown>;
  return {
    uid: auth.uid,
    email: typeof token.email === 'string' ? token.email : null,
    emailVerified: token.email_verified === true,
    claims: token,
  };
}

/** Parses callable arguments; a failure is `invalid-argument` naming the first offending field. */
export function parseArgs<S extends z.ZodType>(schema: S, data: unknown): z.infer<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  // An unknown key is named itself, so the client sees which field it must not send.
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  const field = path.length > 0 ? path.join('.') : '(arguments)';
  throw new HttpsError('invalid-argument', `${field}: ${issue.message}`, { field });
}
