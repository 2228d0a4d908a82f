import { Timestamp, type Firestore, type QueryDocumentSnapshot, type QuerySnapshot } from 'firebase-admin/firestore';
import * as logger from 'firebase-functions/logger';
import { orgIdOf, organizationStateSchema, paths, subscriptionMirrorSchema, type OrgCollection } from '@leadpulse/model';
import type { Clock } from '../common/clock';
import { readDocument } from '../common/documents';
import { skipItem, type SkippedItem } from '../common/logging';
import { DEFAULT_BILLING_GRACE_DAYS, deriveAccessState, prepareAccessUpdate } from '../orgs/access-state';
import { writeAuditEntry } from '../orgs/audit';
import { STRIPE_ACTOR_UID } from './apply-change';
import { statusForAccess } from './subscription-state';

const billingCollectionId: OrgCollection = 'billing';
/** Candidates read per query; the sweep pages on until none is left. */
const SWEEP_PAGE_SIZE = 500;

export interface GraceSweepDeps {
  db: Firestore;
  clock: Clock;
  pageSize?: number;
}

export interface GraceSweepReport {
  checked: number;
  changed: number;
  /** Candidates that could not be read or re-derived; each is also logged (SKIPPED_ITEM_MESSAGE). */
  skipped: SkippedItem[];
}

/**
 * A lapse turns into read-only access when the grace period ends, and no Stripe event is due at that moment; this
 * scheduled job finds the organizations still on full access whose lapse began more than the grace period ago
 * and re-derives their access (deriveAccessState decides). It pages through every candidate, oldest lapse first,
 * so candidates it leaves as they are (organizations being deleted, documents it cannot read: reported and passed
 * over) never keep the ones behind them waiting. Needs the collection-group index on billing (access, lapsedSince)
 * from firestore.indexes.json.
 */
export async function sweepLapsedGrace(deps: GraceSweepDeps): Promise<GraceSweepReport> {
  const { db } = deps;
  const now = deps.clock();
  const cutoff = new Date(now.getTime() - DEFAULT_BILLING_GRACE_DAYS * 24 * 60 * 60 * 1000);
  const query = db
    .collectionGroup(billingCollectionId)
    .where('access', '==', 'full')
    .where('lapsedSince', '<=', Timestamp.fromDate(cutoff))
    .orderBy('lapsedSince')
    .limit(deps.pageSize ?? SWEEP_PAGE_SIZE);
  const report: GraceSweepReport = { checked: 0, changed: 0, skipped: [] };
  let last: QueryDocumentSnapshot | null = null;
  for (;;) {
    const page: QuerySnapshot = await (last ? query.startAfter(last) : query).get();
    for (const candidate of page.docs) {
      const orgId = orgIdOf(candidate.ref.path);
      if (orgId === null || candidate.ref.path !== paths.subscription(orgId)) continue;
      report.checked += 1;
      try {
        if (await rederiveAccess(db, orgId, now)) report.changed += 1;
      } catch (error) {
        report.skipped.push(skipItem('billingGraceSweep', candidate.ref.path, error));
      }
    }
    if (page.size < (deps.pageSize ?? SWEEP_PAGE_SIZE)) return report;
    last = page.docs[page.docs.length - 1];
  }
}

/** Re-derives one organization's access from its mirror in a transaction; true if it changed. */
async function rederiveAccess(db: Firestore, orgId: string, now: Date): Promise<boolean> {
  const orgRef = db.doc(paths.org(orgId));
  const mirrorRef = db.doc(paths.subscription(orgId));
  return db.runTransaction(async (tx) => {
    const [orgSnapshot, mirrorSnapshot] = await tx.getAll(orgRef, mirrorRef);
    const org = readDocument(organizationStateSchema, orgSnapshot);
    const mirror = readDocument(subscriptionMirrorSchema, mirrorSnapshot);
    if (!org || !mirror || org.status !== 'active') return false;
    const access = deriveAccessState({
      orgStatus: org.status,
      subscriptionStatus: statusForAccess(mirror.status),
      lapsedSince: mirror.lapsedSince?.toDate() ?? null,
      now,
    });
    if (access === mirror.access && access === org.access) return false;
    const writeAccess = access === org.access ? null : await prepareAccessUpdate(db, tx, orgId);
    tx.update(mirrorRef, { access, updatedAt: Timestamp.fromDate(now) });
    writeAccess?.(access, org);
    writeAuditEntry(
      db,
      tx,
      orgId,
      {
        action: 'billing.subscription_changed',
        actorUid: STRIPE_ACTOR_UID,
        targetId: mirror.subscriptionId ?? mirror.customerId,
        details: { status: mirror.status, access, graceEnded: true },
      },
      now,
    );
    return true;
  });
}

/** Logs a sweep's report: an error when it passed over something, so that alerting picks it up. */
export function logGraceSweepReport(report: GraceSweepReport): GraceSweepReport {
  if (report.skipped.length > 0) logger.error('grace sweep needs attention', report);
  else logger.info('grace sweep', report);
  return report;
}
