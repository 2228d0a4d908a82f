import { HttpsError } from 'firebase-functions/v2/https';
import {
  assignOwnerArgsSchema,
  MEMBER_VERSION,
  memberSchema,
  ORGANIZATION_VERSION,
  organizationStateSchema,
  orgDeletionRequestSchema,
  paths,
  stampedVersion,
} from '@leadpulse/model';
import { parseArgs, type Caller } from '../common/callable';
import { readDocument } from '../common/documents';
import { requireOperator, type OperatorAuth } from '../common/operators';
import { writeAuditEntry } from './audit';
import { requireMember, requireNoAccountDeletion, requireOwnershipQuota, type MembershipDeps, type MembershipLimits } from './membership-access';

export interface AssignOwnerDeps extends MembershipDeps, Pick<MembershipLimits, 'maxOrgsPerOwner'> {
  operators: OperatorAuth;
}

/**
 * `assignOwner` (operators): makes a member of the organization its owner, whoever owned it before (e.g. the
 * admin account deletion chose is not the one the customer wants). The previous owner, if still a member,
 * becomes an admin; exactly one owner remains. Audited with the operator as the actor. Also while the organization
 * waits for its purge (its owner's account was deleted and no admin was left): the new owner may then cancel the
 * deletion within the grace period; once the purge has started it is too late.
 */
export async function assignOwner(deps: AssignOwnerDeps, caller: Caller, data: unknown): Promise<{ orgId: string; ownerUid: string }> {
  await requireOperator(deps.operators, caller);
  const args = parseArgs(assignOwnerArgsSchema, data);
  const { db } = deps;
  const orgRef = db.doc(paths.org(args.orgId));
  return db.runTransaction(async (tx) => {
    const [orgSnapshot, deletionSnapshot] = await tx.getAll(orgRef, db.doc(paths.deletionRequest(args.orgId)));
    const org = readDocument(organizationStateSchema, orgSnapshot);
    if (!org) throw new HttpsError('not-found', `organization ${args.orgId} does not exist`);
    const deletion = readDocument(orgDeletionRequestSchema, deletionSnapshot);
    if (org.status !== 'active' && deletion?.state !== 'pending') throw new HttpsError('failed-precondition', 'the organization is being purged');
    const target = await requireMember(db, tx, args.orgId, args.uid);
    await requireNoAccountDeletion(db, tx, args.uid, 'that account');
    if (target.member.role === 'owner' && org.ownerUid === args.uid) return { orgId: args.orgId, ownerUid: args.uid };
    const previousRef = org.ownerUid === args.uid ? null : db.doc(paths.member(args.orgId, org.ownerUid));
    const previous = previousRef ? readDocument(memberSchema, await tx.get(previousRef)) : null;
    await requireOwnershipQuota(db, tx, args.uid, deps.maxOrgsPerOwner, 'the new owner');

    tx.update(orgRef, { ownerUid: args.uid, schemaVersion: stampedVersion(org.schemaVersion, ORGANIZATION_VERSION) });
    tx.update(target.ref, { role: 'owner', access: org.access, schemaVersion: stampedVersion(target.member.schemaVersion, MEMBER_VERSION) });
    if (previousRef && previous) {
      tx.update(previousRef, { role: 'admin', access: org.access, schemaVersion: stampedVersion(previous.schemaVersion, MEMBER_VERSION) });
    }
    writeAuditEntry(
      db,
      tx,
      args.orgId,
      {
        action: 'org.ownership_transferred',
        actorUid: caller.uid,
        targetUid: args.uid,
        details: { previousOwnerUid: org.ownerUid, assignedByOperator: true },
      },
      deps.clock(),
    );
    return { orgId: args.orgId, ownerUid: args.uid };
  });
}
