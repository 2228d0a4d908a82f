import { getAppCheck } from 'firebase-admin/app-check';
import { getAuth } from 'firebase-admin/auth';
import { getFirestore } from 'firebase-admin/firestore';
import * as logger from 'firebase-functions/logger';
import { defineInt, defineSecret } from 'firebase-functions/params';
import { systemClock } from '../common/clock';
import type { ContactErasureDeps } from './contact-erasure';
import { DEFAULT_ORG_DELETION_GRACE_DAYS, checkGraceDays } from './config';
import type { ExportDeps } from './export';
import type { MarketingDeps, UnsubscribeDeps } from './marketing';
import type { CancelOrgDeletionDeps, CancelSubscription, OrgDeletionDeps, ReconcileBilling } from './org-deletion';
import type { CloseBilling, PurgeDeps } from './org-purge';
import type { ResumeAccountDeletion, RetentionDeps } from './retention';
import type { UsageEventDeps } from './usage-events';

/** Configuration and secrets of the privacy functions (docs/deploy.md says how to set them). */
export const orgDeletionGraceDays = defineInt('ORG_DELETION_GRACE_DAYS', {
  default: DEFAULT_ORG_DELETION_GRACE_DAYS,
  description: 'Days an owner may cancel an organization deletion before it is purged (0-29; the purge deadline is 30 days)',
});
/** HMAC key of the one-click unsubscribe links (at least 32 bytes; rotating it invalidates links already sent). */
export const unsubscribeSigningKey = defineSecret('UNSUBSCRIBE_SIGNING_KEY');

/** Progress of purges, in the logs. */
const logPurgePage: PurgeDeps['onPage'] = (phase, page) => {
  if (phase === 'deleted') logger.debug('purge page deleted', { page: page.page, collection: page.collectionPath, documents: page.refs.length });
};

export function orgDeletionDeps(cancelSubscription: CancelSubscription): OrgDeletionDeps {
  return { db: getFirestore(), clock: systemClock, graceDays: checkGraceDays(orgDeletionGraceDays.value()), cancelSubscription };
}

export function cancelOrgDeletionDeps(reconcileBilling: ReconcileBilling, maxOrgsPerOwner: number): CancelOrgDeletionDeps {
  return { db: getFirestore(), clock: systemClock, reconcileBilling, maxOrgsPerOwner };
}

export function retentionDeps(closeBilling: CloseBilling, resumeAccountDeletion: ResumeAccountDeletion): RetentionDeps {
  return { db: getFirestore(), clock: systemClock, closeBilling, resumeAccountDeletion, onPage: logPurgePage };
}

export function erasureDeps(): ContactErasureDeps {
  return { db: getFirestore(), clock: systemClock };
}

export function exportDeps(enforceAppCheck: boolean): ExportDeps {
  return {
    db: getFirestore(),
    clock: systemClock,
    // Revoked tokens (a removed operator, a signed-out device) are refused too.
    verifyIdToken: (token) => getAuth().verifyIdToken(token, true),
    verifyAppCheck: enforceAppCheck
      ? async (token) => {
          await getAppCheck().verifyToken(token);
        }
      : null,
  };
}

export function usageDeps(): UsageEventDeps {
  return { db: getFirestore(), clock: systemClock };
}

export function marketingDeps(): MarketingDeps {
  return { db: getFirestore(), clock: systemClock };
}

export function unsubscribeDeps(): UnsubscribeDeps {
  return { ...marketingDeps(), signingKey: unsubscribeSigningKey.value() };
}
