import { randomBytes } from 'node:crypto';
import { Timestamp } from 'firebase-admin/firestore';
import { HttpsError } from 'firebase-functions/v2/https';
import {
  acceptInvitationArgsSchema,
  inviteMemberArgsSchema,
  INVITE_TTL_AFTER_EXPIRY_DAYS,
  INVITE_VERSION,
  inviteSchema,
  MEMBER_VERSION,
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
  readPurchasedSeats,
  requireNoAccountDeletion,
  requireSeats,
  requireVerifiedEmail,
  sameDigest,
  sha256Hex,
  type MembershipDeps,
  type MembershipLimits,
} from './membership-access';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Invites an address to the organization with a role, replacing any earlier invitation for it (one per address:
 * found by a query, so the id is random and nothing derived from the address is stored outside the invitation,
 * which is deleted when accepted or revoked). Returns the accept link data; the token exists only there
 * (Firestore keeps its sha256).
 */
export async function inviteMember(
  deps: MembershipDeps & Pick<MembershipLimits, 'inviteTtlDays' | 'maxPendingInvites'>,
  caller: Caller,
  data: unknown,
): Promise<InvitationLink> {
  const args = parseArgs(inviteMemberArgsSchema, data);
  const { db } = deps;
  const inviteRef = db.collection(paths.invites(args.orgId)).doc();
  const inviteId = inviteRef.id;
  const token = randomBytes(32).toString('base64url');
  return db.runTransaction(async (tx) => {
    const { member } = await requireCallerMembership(db, tx, args.orgId, caller, ['owner', 'admin']);
    requireMayManageRole(member.role, args.role, 'invitations for admins');
    const now = deps.clock();
    const [earlier, sameAddress, pending, members, seats] = await Promise.all([
      tx.get(db.collection(paths.invites(args.orgId)).where('email', '==', args.email)),
      tx.get(db.collection(paths.members(args.orgId)).where('email', '==', args.email).limit(1)),
      tx.get(db.collection(paths.invites(args.orgId)).where('expiresAt', '>', Timestamp.fromDate(now))),
      tx.get(db.collection(paths.members(args.orgId)).select()),
      readPurchasedSeats(db, tx, args.orgId),
    ]);
    const replaced = earlier.docs.map((doc) => ({ ref: doc.ref, invite: readDocument(inviteSchema, doc) }));
    for (const { invite } of replaced) if (invite) requireMayManageRole(member.role, invite.role, 'invitations for admins');
    if (!sameAddress.empty) throw new HttpsError('failed-precondition', `${args.email} is already a member`);
    // The invitation this one replaces does not count: re-inviting an address never needs a free place.
    const otherPending = pending.docs.filter((doc) => !replaced.some(({ ref }) => ref.isEqual(doc.ref))).length;
    if (otherPending >= deps.maxPendingInvites) {
      throw new HttpsError(
        'resource-exhausted',
        `the organization already has ${otherPending} pending invitations, the maximum: revoke some or wait until they are accepted or expire`,
        { maxPendingInvites: deps.maxPendingInvites },
      );
    }
    // Each pending invitation holds a seat, so the seats cannot be oversubscribed by accepting them later.
    requireSeats(seats, members.size + otherPending + 1, 'this invitation');

    const expiresAt = new Date(now.getTime() + deps.inviteTtlDays * DAY_MS);
    for (const { ref } of replaced) tx.delete(ref);
    tx.create(
      inviteRef,
      inviteSchema.parse({
        schemaVersion: INVITE_VERSION,
        email: args.email,
        role: args.role,
        tokenHash: sha256Hex(token),
        invitedBy: caller.uid,
        createdAt: Timestamp.fromDate(now),
        expiresAt: Timestamp.fromDate(expiresAt),
        deleteAt: Timestamp.fromMillis(expiresAt.getTime() + INVITE_TTL_AFTER_EXPIRY_DAYS * DAY_MS),
      }),
    );
    writeAuditEntry(
      db,
      tx,
      args.orgId,
      { action: 'member.invited', actorUid: caller.uid, targetId: inviteId, details: { role: args.role, replaced: replaced.length > 0 } },
      now,
    );
    return { orgId: args.orgId, inviteId, token, expiresAt: expiresAt.toISOString() };
  });
}

const noSuchInvitation = () => new HttpsError('not-found', 'no such invitation: it was revoked, replaced by a newer one, or already used');

/**
 * Accepts an invitation as the signed-in caller, whose verified address must be the invited one. Consumes the
 * invitation and creates the membership in one transaction, so of two concurrent accepts exactly one wins.
 */
export async function acceptInvitation(deps: MembershipDeps, caller: Caller, data: unknown): Promise<{ orgId: string; role: Role }> {
  const args = parseArgs(acceptInvitationArgsSchema, data);
  const email = requireVerifiedEmail(caller);
  const { db } = deps;
  const orgRef = db.doc(paths.org(args.orgId));
  const inviteRef = db.doc(paths.invite(args.orgId, args.inviteId));
  const memberRef = db.doc(paths.member(args.orgId, caller.uid));
  return db.runTransaction(async (tx) => {
    const [orgSnapshot, inviteSnapshot, memberSnapshot] = await tx.getAll(orgRef, inviteRef, memberRef);
    await requireNoAccountDeletion(db, tx, caller.uid, 'your account');
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
    const [members, seats] = await Promise.all([tx.get(db.collection(paths.members(args.orgId)).select()), readPurchasedSeats(db, tx, args.orgId)]);
    requireSeats(seats, members.size + 1, 'joining');

    tx.delete(inviteRef);
    tx.create(
      memberRef,
      memberSchema.parse({
        schemaVersion: MEMBER_VERSION,
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
      {
        action: 'member.joined',
        actorUid: caller.uid,
        targetUid: caller.uid,
        targetId: args.inviteId,
        details: { role: invite.role, invitedBy: invite.invitedBy },
      },
      now,
    );
    return { orgId: args.orgId, role: invite.role };
  });
}

/** Withdraws a pending invitation; its link stops working at once. */
export async function revokeInvitation(deps: MembershipDeps, caller: Caller, data: unknown): Promise<{ inviteId: string }> {
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
