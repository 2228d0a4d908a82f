/** Account deletion's handlers (wired in functions/src/index.ts). */
export { adminAccountAuth, OPERATOR_CLAIM, requireOperator, type AccountAuth } from './account-auth';
export {
  deleteAccount,
  deleteMyAccount,
  eraseUser,
  onAuthUserDeleted,
  personReferences,
  RECENT_SIGN_IN_MS,
  resumeAccountDeletion,
  type AccountDeletionDeps,
  type AccountDeletionResult,
  type AccountDeletionStep,
} from './account-deletion';
export { accountDeletionDeps } from './runtime';
