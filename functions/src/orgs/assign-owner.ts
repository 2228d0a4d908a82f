import { HttpsError } from 'firebase-functions/v2/https';
import { assignOwnerArgsSchema, memberSchema, organizationSchema, paths } from '@leadpulse/model';
import { parseArgs, type Caller } from '../common/callable';
import { readDocument } from '../common/documents';
import { requireOperator, type OperatorAuth } from '../common/operators';
import { writeAuditEntry } from './audit';
import { requireMember, requireNoAccountDeletion, requireOwnershipQuota, type MembershipDeps, type MembershipLimits } from './membership-access';

export interface AssignOwnerDeps extends MembershipDeps, Pick<MembershipLimits, 'maxOrgsPerOwner'> {
  operators: OperatorAuth;
}

/**
 * `assignOwner` (operators): makes a member of an active organization its owner, whoever owned it before (e.g. the
 * admin account deletion chose is not the one the customer wants). The previous owner, if still a member,
 * becomes an admin; exactly one owner remains. Audited with the operator as the actor.
 */
export async function assignOwner(deps: AssignOwnerDeps, caller: Caller, data: unknown): Promise<{ orgId: string; ownerUid: string }> {
  await requireOperator(deps.operators, caller);
  const args = parseArgs(assignOwnerArgsSchema, data);
  const { db } = deps;
  const orgRef = db.doc(paths.org(args.orgId));
  return db.runTransaction(async (tx) => {
    const org = readDocument(organizationSchema, await tx.get(orgRef));
    if (!org) throw new HttpsError('not-found', `organization ${args.orgId} does not exist`);
    if (org.status !== 'active') throw new HttpsError('failed-precondition', 'the organization is being deleted');
    const target = await requireMember(db, tx, args.orgId, args.uid);
    await requireNoAccountDeletion(db, tx, args.uid, 'that account');
    if (target.member.role === 'owner' && org.ownerUid === args.uid) return { orgId: args.orgId, ownerUid: args.uid };
    const previousRef = org.ownerUid === args.uid ? null : db.doc(paths.member(args.orgId, org.ownerUid));
    const previous = previousRef ? readDocument(memberSchema, await tx.get(previousRef)) : null;
    await requireOwnershipQuota(db, tx, args.uid, deps.maxOrgsPerOwner, 'the new owner');

    tx.update(orgRef, { ownerUid: args.uid });
    tx.update(target.ref, { role: 'owner', access: org.access });
    if (previousRef && previous) tx.update(previousRef, { role: 'admin', access: org.access });
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
