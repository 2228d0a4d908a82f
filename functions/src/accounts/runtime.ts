import { getAuth } from 'firebase-admin/auth';
import { getFirestore } from 'firebase-admin/firestore';
import * as logger from 'firebase-functions/logger';
import { systemClock } from '../common/clock';
import { checkGraceDays } from '../privacy/config';
import type { CancelSubscription } from '../privacy/org-deletion';
import { orgDeletionGraceDays } from '../privacy/runtime';
import { adminAccountAuth } from './account-auth';
import type { AccountDeletionDeps } from './account-deletion';

/** Progress of account deletions, in the logs. */
const logAccountStep: AccountDeletionDeps['onStep'] = (step) => logger.debug('account deletion step done', { step });

/** Account deletion's runtime dependencies: organizations it schedules for deletion get the privacy grace. */
export function accountDeletionDeps(cancelSubscription: CancelSubscription): AccountDeletionDeps {
  return {
    db: getFirestore(),
    clock: systemClock,
    auth: adminAccountAuth(getAuth()),
    orgDeletion: { graceDays: checkGraceDays(orgDeletionGraceDays.value()), cancelSubscription },
    onStep: logAccountStep,
  };
}
