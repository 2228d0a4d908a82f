import { Timestamp } from 'firebase-admin/firestore';
import { createOrganizationArgsSchema, MEMBER_VERSION, memberSchema, ORGANIZATION_VERSION, organizationSchema, paths } from '@leadpulse/model';
import { parseArgs, type Caller } from '../common/callable';
import { deriveAccessState } from './access-state';
import { writeAuditEntry } from './audit';
import {
  displayNameOf,
  requireNoAccountDeletion,
  requireOwnershipQuota,
  requireVerifiedEmail,
  type MembershipDeps,
  type MembershipLimits,
} from './membership-access';

/** A new organization starts on the free plan, owned by its creator. */
export const INITIAL_PLAN = 'free';

/** Creates an organization and its owner's membership in one transaction. */
export async function createOrganization(
  deps: MembershipDeps & Pick<MembershipLimits, 'maxOrgsPerOwner'>,
  caller: Caller,
  data: unknown,
): Promise<{ orgId: string }> {
  const args = parseArgs(createOrganizationArgsSchema, data);
  const email = requireVerifiedEmail(caller);
  const { db } = deps;
  return db.runTransaction(async (tx) => {
    await requireNoAccountDeletion(db, tx, caller.uid, 'your account');
    await requireOwnershipQuota(db, tx, caller.uid, deps.maxOrgsPerOwner, 'you');
    const now = deps.clock();
    const createdAt = Timestamp.fromDate(now);
    const orgRef = db.collection(paths.orgs()).doc();
    const access = deriveAccessState({ orgStatus: 'active', subscriptionStatus: null, lapsedSince: null, now });
    tx.create(
      orgRef,
      organizationSchema.parse({
        schemaVersion: ORGANIZATION_VERSION,
        name: args.name,
        ...(args.branding ? { branding: args.branding } : {}),
        ownerUid: caller.uid,
        plan: INITIAL_PLAN,
        status: 'active',
        access,
        createdAt,
      }),
    );
    tx.create(
      db.doc(paths.member(orgRef.id, caller.uid)),
      memberSchema.parse({
        schemaVersion: MEMBER_VERSION,
        uid: caller.uid,
        orgId: orgRef.id,
        role: 'owner',
        access,
        email,
        ...displayNameOf(caller),
        joinedAt: createdAt,
      }),
    );
    writeAuditEntry(db, tx, orgRef.id, { action: 'org.created', actorUid: caller.uid, targetId: orgRef.id }, now);
    return { orgId: orgRef.id };
  });
}
