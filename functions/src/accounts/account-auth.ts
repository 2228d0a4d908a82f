import type { Auth } from 'firebase-admin/auth';
import { adminOperatorAuth, type OperatorAuth } from '../common/operators';

export { OPERATOR_CLAIM, requireOperator, type OperatorAuth } from '../common/operators';

/** What account deletion and operator checks need from Firebase Auth. */
export interface AccountAuth extends OperatorAuth {
  /** Deletes the Auth user; resolves as well when there is no such user (deleting twice is not an error). */
  deleteUser(uid: string): Promise<void>;
}

const isUserNotFound = (error: unknown) => (error as { code?: string }).code === 'auth/user-not-found';

/** AccountAuth over firebase-admin's Auth (production, and tests against the Auth emulator). */
export function adminAccountAuth(auth: Auth): AccountAuth {
  return {
    ...adminOperatorAuth(auth),
    async deleteUser(uid) {
      try {
        await auth.deleteUser(uid);
      } catch (error) {
        if (!isUserNotFound(error)) throw error;
      }
    },
  };
}
