/** Operator tools that run outside Cloud Functions (scripts/restore.ts): the restore runbook's steps. */
export { copyBack, copyBackOptionsSchema, comparePaths, type CopyBackDeps, type CopyBackOptions, type CopyBackReport } from './copy-back';
export {
  reapplyDeletions,
  reapplyDeletionsOptionsSchema,
  RESTORE_ACTOR,
  type ReapplyDeletionsDeps,
  type ReapplyDeletionsOptions,
  type ReapplyDeletionsReport,
} from './reapply-deletions';
export { adminUserDirectory, personOf, RestoreGuard, type UserDirectory } from './restore-guard';
