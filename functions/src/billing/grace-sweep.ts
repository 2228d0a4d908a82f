import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import { orgIdOf, organizationSchema, paths, subscriptionMirrorSchema, type OrgCollection } from '@leadpulse/model';
import type { Clock } from '../common/clock';
import { readDocument } from '../common/documents';
import { DEFAULT_BILLING_GRACE_DAYS, deriveAccessState, prepareAccessUpdate } from '../orgs/access-state';
import { writeAuditEntry } from '../orgs/audit';
import { STRIPE_ACTOR_UID } from './apply-change';
import { statusForAccess } from './subscription-state';

const billingCollectionId: OrgCollection = 'billing';
/** Organizations re-derived per run; the schedule picks up the rest on its next run. */
const SWEEP_LIMIT = 500;

/**
 * A lapse turns into read-only access when the grace period ends, and no Stripe event is due at that moment; this
 * scheduled job finds the organizations still on full access whose lapse began more than the grace period ago
 * and re-derives their access (deriveAccessState decides). Needs the collection-group index on
 * billing (access, lapsedSince) from firestore.indexes.json.
 */
export async function sweepLapsedGrace(deps: { db: Firestore; clock: Clock }): Promise<{ checked: number; changed: number }> {
  const { db } = deps;
  const now = deps.clock();
  const cutoff = new Date(now.getTime() - DEFAULT_BILLING_GRACE_DAYS * 24 * 60 * 60 * 1000);
  const candidates = await db
    .collectionGroup(billingCollectionId)
    .where('access', '==', 'full')
    .where('lapsedSince', '<=', Timestamp.fromDate(cutoff))
    .limit(SWEEP_LIMIT)
    .get();
  let changed = 0;
  for (const candidate of candidates.docs) {
    const orgId = orgIdOf(candidate.ref.path);
    if (orgId === null || candidate.ref.path !== paths.subscription(orgId)) continue;
    if (await rederiveAccess(db, orgId, now)) changed += 1;
  }
  return { checked: candidates.size, changed };
}

/** Re-derives one organization's access from its mirror in a transaction; true if it changed. */
async function rederiveAccess(db: Firestore, orgId: string, now: Date): Promise<boolean> {
  const orgRef = db.doc(paths.org(orgId));
  const mirrorRef = db.doc(paths.subscription(orgId));
  return db.runTransaction(async (tx) => {
    const [orgSnapshot, mirrorSnapshot] = await tx.getAll(orgRef, mirrorRef);
    const org = readDocument(organizationSchema, orgSnapshot);
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
    writeAccess?.(access);
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
