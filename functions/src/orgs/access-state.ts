import { Firestore, Transaction } from 'firebase-admin/firestore';
import { z } from 'zod';
import {
  MEMBER_VERSION,
  ORGANIZATION_VERSION,
  paths,
  storedSchemaVersionSchema,
  type AccessState,
  type OrganizationState,
  type SubscriptionStatus,
  stampedVersion,
} from '@leadpulse/model';
import { readDocument } from '../common/documents';

/** How long a lapsed subscription keeps full access before the organization turns read-only. */
export const DEFAULT_BILLING_GRACE_DAYS = 7;

export interface AccessInputs {
  orgStatus: 'active' | 'deleting';
  /** null: the organization has never subscribed (free plan). */
  subscriptionStatus: SubscriptionStatus | null;
  /** When the subscription stopped being in good standing (null if it is). */
  lapsedSince: Date | null;
  now: Date;
  graceDays?: number;
}

const goodStanding: ReadonlySet<SubscriptionStatus> = new Set(['active', 'trialing']);

/**
 * The one place that decides what an organization's members may do (the rules read the result from member
 * documents): nothing while it is being deleted; read-only once billing has lapsed past the grace period.
 */
export function deriveAccessState(inputs: AccessInputs): AccessState {
  if (inputs.orgStatus === 'deleting') return 'none';
  if (inputs.subscriptionStatus === null || goodStanding.has(inputs.subscriptionStatus)) return 'full';
  const graceMs = (inputs.graceDays ?? DEFAULT_BILLING_GRACE_DAYS) * 24 * 60 * 60 * 1000;
  const lapsedSince = inputs.lapsedSince ?? inputs.now;
  return inputs.now.getTime() - lapsedSince.getTime() >= graceMs ? 'read_only' : 'full';
}

/** The part of a member document an access update reads: its stored version, which the update never lowers. */
const memberVersionSchema = z.object({ schemaVersion: storedSchemaVersionSchema });

/**
 * Writes `access` onto the organization (`org`, as read in `tx`) and every member document inside `tx`, stamping
 * each with its kind's version. Firestore transactions need every read before the first write, so this reads the
 * member list first and returns the write step.
 */
export async function prepareAccessUpdate(
  db: Firestore,
  tx: Transaction,
  orgId: string,
): Promise<(access: AccessState, org: Pick<OrganizationState, 'schemaVersion'>) => void> {
  const members = (await tx.get(db.collection(paths.members(orgId)))).docs.map((doc) => ({ ref: doc.ref, stored: readDocument(memberVersionSchema, doc) }));
  return (access, org) => {
    tx.update(db.doc(paths.org(orgId)), { access, schemaVersion: stampedVersion(org.schemaVersion, ORGANIZATION_VERSION) });
    for (const { ref, stored } of members) tx.update(ref, { access, schemaVersion: stampedVersion(stored?.schemaVersion, MEMBER_VERSION) });
  };
}
