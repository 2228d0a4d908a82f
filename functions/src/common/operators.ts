import type { Auth } from 'firebase-admin/auth';
import { HttpsError } from 'firebase-functions/v2/https';
import type { Caller } from './callable';

/** The custom claim that makes a user an operator. Only the server sets it (scripts/grant-operator.ts). */
export const OPERATOR_CLAIM = 'operator';

/** What the operator check needs from Firebase Auth. */
export interface OperatorAuth {
  /** The custom claims the server has set on the user now; `{}` when there are none or no such user. */
  customClaims(uid: string): Promise<Record<string, unknown>>;
}

/**
 * The one operator check, used by every operator callable. Operators are users whose verified ID token carries
 * the operator claim and whose Auth record still does: a client cannot set custom claims, and taking the claim
 * away (grant-operator --revoke) works at once, without waiting for the token to expire.
 */
export async function requireOperator(auth: OperatorAuth, caller: Caller): Promise<void> {
  if (caller.claims[OPERATOR_CLAIM] !== true || (await auth.customClaims(caller.uid))[OPERATOR_CLAIM] !== true) {
    throw new HttpsError('permission-denied', 'operators only');
  }
}

/** OperatorAuth over firebase-admin's Auth (production, and tests against the Auth emulator). */
export function adminOperatorAuth(auth: Auth): OperatorAuth {
  return {
    async customClaims(uid) {
      try {
        return (await auth.getUser(uid)).customClaims ?? {};
      } catch (error) {
        if ((error as { code?: string }).code === 'auth/user-not-found') return {};
        throw error;
      }
    },
  };
}
