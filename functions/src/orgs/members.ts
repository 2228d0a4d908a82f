import { HttpsError } from 'firebase-functions/v2/https';
import {
  changeRoleArgsSchema,
  leaveOrganizationArgsSchema,
  MEMBER_VERSION,
  ORGANIZATION_VERSION,
  removeMemberArgsSchema,
  transferOwnershipArgsSchema,
  type Role,
  stampedVersion,
} from '@leadpulse/model';
import { parseArgs, type Caller } from '../common/callable';
import { writeAuditEntry } from './audit';
import {
  prepareInvitationRevocation,
  requireCallerMembership,
  requireMayManageRole,
  requireMember,
  requireNoAccountDeletion,
  requireOwnershipQuota,
  type MembershipDeps,
  type MembershipLimits,
} from './membership-access';

// There is always exactly one owner: the owner's member document changes role only by transferOwnership, and
// every handler reads the member documents it changes inside its transaction, so concurrent changes serialize.

/** Sets a member's role to admin, member or viewer (granting or taking away admin needs the owner). */
export async function changeRole(deps: MembershipDeps, caller: Caller, data: unknown): Promise<{ uid: string; role: Role }> {
  const args = parseArgs(changeRoleArgsSchema, data);
  const { db } = deps;
  return db.runTransaction(async (tx) => {
    const { org, member } = await requireCallerMembership(db, tx, args.orgId, caller, ['owner', 'admin']);
    const target = await requireMember(db, tx, args.orgId, args.uid);
    await requireNoAccountDeletion(db, tx, args.uid, 'that account');
    if (target.member.role === 'owner') {
      throw new HttpsError('failed-precondition', "the owner's role changes only by transferOwnership");
    }
    requireMayManageRole(member.role, target.member.role, 'admins');
    requireMayManageRole(member.role, args.role, 'admins');
    if (target.member.role === args.role) return { uid: args.uid, role: args.role };
    const revoke = target.member.role === 'admin' ? await prepareInvitationRevocation(db, tx, args.orgId, args.uid) : null;

    // The member document carries the organization's access state for the rules: keep it in step.
    tx.update(target.ref, { role: args.role, access: org.access, schemaVersion: stampedVersion(target.member.schemaVersion, MEMBER_VERSION) });
    const invitationsRevoked = revoke?.() ?? 0;
    writeAuditEntry(
      db,
      tx,
      args.orgId,
      {
        action: 'member.role_changed',
        actorUid: caller.uid,
        targetUid: args.uid,
        details: { from: target.member.role, to: args.role, ...(revoke ? { invitationsRevoked } : {}) },
      },
      deps.clock(),
    );
    return { uid: args.uid, role: args.role };
  });
}

/** Removes another member: their next request is denied, because the rules look up the member document. */
export async function removeMember(deps: MembershipDeps, caller: Caller, data: unknown): Promise<{ uid: string }> {
  const args = parseArgs(removeMemberArgsSchema, data);
  const { db } = deps;
  return db.runTransaction(async (tx) => {
    const { member } = await requireCallerMembership(db, tx, args.orgId, caller, ['owner', 'admin']);
    if (args.uid === caller.uid) throw new HttpsError('failed-precondition', 'to remove yourself, use leaveOrganization');
    const target = await requireMember(db, tx, args.orgId, args.uid);
    await requireNoAccountDeletion(db, tx, args.uid, 'that account');
    if (target.member.role === 'owner') {
      throw new HttpsError('failed-precondition', 'the owner cannot be removed; ownership must be transferred first');
    }
    requireMayManageRole(member.role, target.member.role, 'admins');
    const revoke = target.member.role === 'admin' ? await prepareInvitationRevocation(db, tx, args.orgId, args.uid) : null;
    tx.delete(target.ref);
    const invitationsRevoked = revoke?.() ?? 0;
    writeAuditEntry(
      db,
      tx,
      args.orgId,
      {
        action: 'member.removed',
        actorUid: caller.uid,
        targetUid: args.uid,
        details: { role: target.member.role, ...(revoke ? { invitationsRevoked } : {}) },
      },
      deps.clock(),
    );
    return { uid: args.uid };
  });
}

/** The caller leaves the organization; the owner must transfer ownership first. */
export async function leaveOrganization(deps: MembershipDeps, caller: Caller, data: unknown): Promise<{ orgId: string }> {
  const args = parseArgs(leaveOrganizationArgsSchema, data);
  const { db } = deps;
  return db.runTransaction(async (tx) => {
    const { member, memberRef } = await requireCallerMembership(db, tx, args.orgId, caller, ['owner', 'admin', 'member', 'viewer']);
    if (member.role === 'owner') {
      throw new HttpsError('failed-precondition', 'the owner cannot leave; transfer ownership to an admin first');
    }
    const revoke = member.role === 'admin' ? await prepareInvitationRevocation(db, tx, args.orgId, caller.uid) : null;
    tx.delete(memberRef);
    const invitationsRevoked = revoke?.() ?? 0;
    writeAuditEntry(
      db,
      tx,
      args.orgId,
      { action: 'member.left', actorUid: caller.uid, targetUid: caller.uid, details: { role: member.role, ...(revoke ? { invitationsRevoked } : {}) } },
      deps.clock(),
    );
    return { orgId: args.orgId };
  });
}

/** The owner hands the organization to an existing admin and becomes an admin. */
export async function transferOwnership(
  deps: MembershipDeps & Pick<MembershipLimits, 'maxOrgsPerOwner'>,
  caller: Caller,
  data: unknown,
): Promise<{ orgId: string; ownerUid: string }> {
  const args = parseArgs(transferOwnershipArgsSchema, data);
  const { db } = deps;
  return db.runTransaction(async (tx) => {
    const { org, orgRef, member, memberRef } = await requireCallerMembership(db, tx, args.orgId, caller, ['owner']);
    if (args.newOwnerUid === caller.uid) throw new HttpsError('failed-precondition', 'you already own this organization');
    const target = await requireMember(db, tx, args.orgId, args.newOwnerUid);
    await requireNoAccountDeletion(db, tx, args.newOwnerUid, 'that account');
    if (target.member.role !== 'admin') {
      throw new HttpsError('failed-precondition', `ownership goes only to an admin; ${args.newOwnerUid} is ${target.member.role}`);
    }
    await requireOwnershipQuota(db, tx, args.newOwnerUid, deps.maxOrgsPerOwner, 'the new owner');

    tx.update(orgRef, { ownerUid: args.newOwnerUid, schemaVersion: stampedVersion(org.schemaVersion, ORGANIZATION_VERSION) });
    tx.update(target.ref, { role: 'owner', access: org.access, schemaVersion: stampedVersion(target.member.schemaVersion, MEMBER_VERSION) });
    tx.update(memberRef, { role: 'admin', access: org.access, schemaVersion: stampedVersion(member.schemaVersion, MEMBER_VERSION) });
    writeAuditEntry(
      db,
      tx,
      args.orgId,
      { action: 'org.ownership_transferred', actorUid: caller.uid, targetUid: args.newOwnerUid, details: { previousOwnerUid: caller.uid } },
      deps.clock(),
    );
    return { orgId: args.orgId, ownerUid: args.newOwnerUid };
  });
}
