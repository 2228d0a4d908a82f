/** The membership callables' handlers (wired in functions/src/index.ts). */
export { assignOwner, type AssignOwnerDeps } from './assign-owner';
export { auditConfigWrite, auditContactDeletion, auditOrganizationUpdate, type ClientAuditDeps } from './client-audit';
export { createOrganization, INITIAL_PLAN } from './create-organization';
export { inviteMember, acceptInvitation, revokeInvitation } from './invitations';
export { changeRole, removeMember, leaveOrganization, transferOwnership } from './members';
export {
  checkMembershipLimits,
  DEFAULT_INVITE_TTL_DAYS,
  DEFAULT_MAX_ORGS_PER_OWNER,
  DEFAULT_MAX_PENDING_INVITES,
  type MembershipDeps,
  type MembershipLimits,
} from './membership-access';
