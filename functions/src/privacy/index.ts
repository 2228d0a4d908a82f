/** The privacy handlers and their runtime dependencies (wired in functions/src/index.ts). */
export { eraseContact, type ContactErasureDeps } from './contact-erasure';
export { handleExportRequest, toJson, type ExportDeps, type IdTokenVerifier } from './export';
export {
  handleUnsubscribeRequest,
  setMarketingConsent,
  signUnsubscribeToken,
  unsubscribeHeaders,
  verifyUnsubscribeToken,
  UNSUBSCRIBE_LINK_TTL_DAYS,
} from './marketing';
export {
  cancelOrganizationDeletion,
  requestOrganizationDeletion,
  type CancelOrgDeletionDeps,
  type CancelSubscription,
  type OrgDeletionDeps,
  type ReconcileBilling,
} from './org-deletion';
export { purgeOrganization, type PurgeDeps, type PurgeOutcome } from './org-purge';
export { logRetentionReport, retentionTable, runRetention, type ResumeAccountDeletion, type RetentionDeps, type RetentionReport } from './retention';
export { recordUsageEvent, type UsageEventDeps } from './usage-events';
export {
  cancelOrgDeletionDeps,
  erasureDeps,
  exportDeps,
  marketingDeps,
  orgDeletionDeps,
  orgDeletionGraceDays,
  retentionDeps,
  unsubscribeDeps,
  unsubscribeSigningKey,
  usageDeps,
} from './runtime';
