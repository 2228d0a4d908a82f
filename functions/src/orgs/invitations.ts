import { randomBytes } from 'node:crypto';
import { Timestamp } from 'firebase-admin/firestore';
import { HttpsError } from 'firebase-functions/v2/https';
import {
  acceptInvitationArgsSchema,
  inviteMemberArgsSchema,
  inviteSchema,
  memberSchema,
  organizationStateSchema,
  paths,
  revokeInvitationArgsSchema,
  type InvitationLink,
  type Role,
} from '@leadpulse/model';
import { parseArgs, type Caller } from '../common/callable';
import { readDocument } from '../common/documents';
import { writeAuditEntry } from './audit';
import {
  displayNameOf,
  requireCallerMembership,
  requireMayManageRole,
  requireVerifiedEmail,
  sameDigest,
  sha256Hex,
  type MembershipDeps,
  type MembershipLimits,
} from './membership-access';

const DAY_MS = 24 * 60 * 60 * 1000;

/** One invitation per address and organization: the id derives from the address, so re-inviting replaces. */
export function inviteIdFor(email: string): string {
  return sha256Hex(`invite:${email}`);
}

/**
 * Invites an address to the organization with a role, replacing any earlier invitation for it. Returns the
 * accept link data; the token exists only there (Firestore keeps its sha256).
 */
export async function inviteMember(
  deps: MembershipDeps & Pick<MembershipLimits, 'inviteTtlDays'>,
  caller: Caller,
  data: unknown,
): Promise<InvitationLink> {
  const args = parseArgs(inviteMemberArgsSchema, data);
  const { db } = deps;
  const inviteId = inviteIdFor(args.email);
  const inviteRef = db.doc(paths.invite(args.orgId, inviteId));
  const token = randomBytes(32).toString('base64url');
  return db.runTransaction(async (tx) => {
    const { member } = await requireCallerMembership(db, tx, args.orgId, caller, ['owner', 'admin']);
    requireMayManageRole(member.role, args.role, 'invitations for admins');
    const [earlier, sameAddress] = await Promise.all([
      tx.get(inviteRef),
      tx.get(db.collection(paths.members(args.orgId)).where('email', '==', args.email).limit(1)),
    ]);
    const replaced = readDocument(inviteSchema, earlier);
    if (replaced) requireMayManageRole(member.role, replaced.role, 'invitations for admins');
    if (!sameAddress.empty) throw new HttpsError('failed-precondition', `${args.email} is already a member`);

    const now = deps.clock();
    const expiresAt = new Date(now.getTime() + deps.inviteTtlDays * DAY_MS);
    tx.set(
      inviteRef,
      inviteSchema.parse({
        email: args.email,
        role: args.role,
        tokenHash: sha256Hex(token),
        invitedBy: caller.uid,
        createdAt: Timestamp.fromDate(now),
        expiresAt: Timestamp.fromDate(expiresAt),
      }),
    );
    writeAuditEntry(
      db,
      tx,
      args.orgId,
      { action: 'member.invited', actorUid: caller.uid, targetId: inviteId, details: { role: args.role, replaced: replaced !== null } },
      now,
    );
    return { orgId: args.orgId, inviteId, token, expiresAt: expiresAt.toISOString() };
  });
}

const noSuchInvitation = () =>
  new HttpsError('not-found', 'no such invitation: it was revoked, replaced by a newer one, or already used');

/**
 * Accepts an invitation as the signed-in caller, whose verified address must be the invited one. Consumes the
 * invitation and creates the membership in one transaction, so of two concurrent accepts exactly one wins.
 */
export async function acceptInvitation(
  deps: MembershipDeps,
  caller: Caller,
  data: unknown,
): Promise<{ orgId: string; role: Role }> {
  const args = parseArgs(acceptInvitationArgsSchema, data);
  const email = requireVerifiedEmail(caller);
  const { db } = deps;
  const orgRef = db.doc(paths.org(args.orgId));
  const inviteRef = db.doc(paths.invite(args.orgId, args.inviteId));
  const memberRef = db.doc(paths.member(args.orgId, caller.uid));
  return db.runTransaction(async (tx) => {
    const [orgSnapshot, inviteSnapshot, memberSnapshot] = await tx.getAll(orgRef, inviteRef, memberRef);
    const invite = readDocument(inviteSchema, inviteSnapshot);
    const org = readDocument(organizationStateSchema, orgSnapshot);
    // A wrong token reads exactly like a missing invitation: the link is the only proof of being invited.
    if (!invite || !org || !sameDigest(invite.tokenHash, sha256Hex(args.token))) throw noSuchInvitation();
    const now = deps.clock();
    if (invite.expiresAt.toMillis() <= now.getTime()) {
      throw new HttpsError('failed-precondition', 'this invitation has expired: ask for a new one');
    }
    if (invite.email !== email) {
      throw new HttpsError('failed-precondition', 'this invitation was sent to a different e-mail address: sign in with that address');
    }
    if (org.status !== 'active') throw new HttpsError('failed-precondition', 'the organization is being deleted');
    if (memberSnapshot.exists) throw new HttpsError('failed-precondition', 'you are already a member of this organization');

    tx.delete(inviteRef);
    tx.create(
      memberRef,
      memberSchema.parse({
        uid: caller.uid,
        orgId: args.orgId,
        role: invite.role,
        access: org.access,
        email,
        ...displayNameOf(caller),
        joinedAt: Timestamp.fromDate(now),
      }),
    );
    writeAuditEntry(
      db,
      tx,
      args.orgId,
      { action: 'member.joined', actorUid: caller.uid, targetUid: caller.uid, targetId: args.inviteId, details: { role: invite.role, invitedBy: invite.invitedBy } },
      now,
    );
    return { orgId: args.orgId, role: invite.role };
  });
}

/** Withdraws a pending invitation; its link stops working at once. */
export async function revokeInvitation(
  deps: MembershipDeps,
  caller: Caller,
  data: unknown,
): Promise<{ inviteId: string }> {
  const args = parseArgs(revokeInvitationArgsSchema, data);
  const { db } = deps;
  const inviteRef = db.doc(paths.invite(args.orgId, args.inviteId));
  return db.runTransaction(async (tx) => {
    const { member } = await requireCallerMembership(db, tx, args.orgId, caller, ['owner', 'admin']);
    const invite = readDocument(inviteSchema, await tx.get(inviteRef));
    if (!invite) throw noSuchInvitation();
    requireMayManageRole(member.role, invite.role, 'invitations for admins');
    tx.delete(inviteRef);
    writeAuditEntry(
      db,
      tx,
      args.orgId,
      { action: 'member.invite_revoked', actorUid: caller.uid, targetId: args.inviteId, details: { role: invite.role } },
      deps.clock(),
    );
    return { inviteId: args.inviteId };
  });
}
