/** Operator tools that run outside Cloud Functions (scripts/restore.ts): the restore runbook's steps. */
export { copyBack, type CopyBackDeps, type CopyBackOptions, type CopyBackReport } from './copy-back';
export { reapplyDeletions, type ReapplyDeletionsDeps, type ReapplyDeletionsOptions, type ReapplyDeletionsReport } from './reapply-deletions';
export { adminUserDirectory, RestoreGuard, type UserDirectory } from './restore-guard';
