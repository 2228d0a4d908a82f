import type { Auth } from 'firebase-admin/auth';
import { HttpsError } from 'firebase-functions/v2/https';
import type { Caller } from '../common/callable';

/** The custom claim that makes a user an operator. Only the server sets it (scripts/grant-operator.ts). */
export const OPERATOR_CLAIM = 'operator';

/** What account deletion and operator checks need from Firebase Auth. */
export interface AccountAuth {
  /** Deletes the Auth user; resolves as well when there is no such user (deleting twice is not an error). */
  deleteUser(uid: string): Promise<void>;
  /** The custom claims the server has set on the user now; `{}` when there are none or no such user. */
  customClaims(uid: string): Promise<Record<string, unknown>>;
}

const isUserNotFound = (error: unknown) => (error as { code?: string }).code === 'auth/user-not-found';

/** AccountAuth over firebase-admin's Auth (production, and tests against the Auth emulator). */
export function adminAccountAuth(auth: Auth): AccountAuth {
  return {
    async deleteUser(uid) {
      try {
        await auth.deleteUser(uid);
      } catch (error) {
        if (!isUserNotFound(error)) throw error;
      }
    },
    async customClaims(uid) {
      try {
        return (await auth.getUser(uid)).customClaims ?? {};
      } catch (error) {
        if (isUserNotFound(error)) return {};
        throw error;
      }
    },
  };
}

/**
 * Operators are users whose verified ID token carries the operator claim and whose Auth record still does: a
 * client cannot set custom claims, and taking the claim away (grant-operator --revoke) works at once, without
 * waiting for the token to expire.
 */
export async function requireOperator(auth: AccountAuth, caller: Caller): Promise<void> {
  if (caller.claims[OPERATOR_CLAIM] !== true || (await auth.customClaims(caller.uid))[OPERATOR_CLAIM] !== true) {
    throw new HttpsError('permission-denied', 'only operators can erase another user');
  }
}
