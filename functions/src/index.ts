/**
 * Wires Cloud Functions triggers to their handlers; nothing else lives here.
 */
import { initializeApp } from 'firebase-admin/app';
import { getAuth } from 'firebase-admin/auth';
import { getFirestore } from 'firebase-admin/firestore';
import { defineBoolean, defineInt } from 'firebase-functions/params';
import * as functionsV1 from 'firebase-functions/v1';
import { setGlobalOptions } from 'firebase-functions/v2';
import { onDocumentDeletedWithAuthContext, onDocumentUpdatedWithAuthContext, onDocumentWrittenWithAuthContext } from 'firebase-functions/v2/firestore';
import { onCall, onRequest } from 'firebase-functions/v2/https';
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { documentPatterns } from '@leadpulse/model';
import { requireCaller } from './common/callable';
import { systemClock } from './common/clock';
import { authTriggerOptions, functionsRegion, globalOptions, sizing } from './common/deployment';
import { logHeartbeat } from './common/logging';
import * as orgs from './orgs';
import * as accounts from './accounts';
import * as billing from './billing';
import * as privacy from './privacy';

initializeApp();
// Region, instance caps, timeouts and concurrency: common/deployment.ts (docs/operations.md).
setGlobalOptions(globalOptions);

// App Check (docs/access-contract.md, "App Check"): every callable and exportData refuse requests that do not come from the
// LeadPulse app; the one-shot actions also consume the token, so a captured request cannot be replayed.
const enforceAppCheck = defineBoolean('ENFORCE_APP_CHECK', {
  default: true,
  description: 'Refuse callable and export requests without a valid App Check token (false only for the local backend)',
});
// firebase-functions reads these options when a function is defined (they are not part of the deploy manifest), so
// the param is read once here rather than by every function (each read warns during deployment).
const appCheckEnforced = enforceAppCheck.value();
const appChecked = { enforceAppCheck: appCheckEnforced };
const oneShot = { enforceAppCheck: appCheckEnforced, consumeAppCheckToken: appCheckEnforced };

// Organizations and membership (issue 5).
const maxOrgsPerOwner = defineInt('MAX_ORGS_PER_OWNER', {
  default: orgs.DEFAULT_MAX_ORGS_PER_OWNER,
  description: 'Active organizations one user may own',
});
const inviteTtlDays = defineInt('INVITE_TTL_DAYS', {
  default: orgs.DEFAULT_INVITE_TTL_DAYS,
  description: 'Days an invitation link stays valid (1-30)',
});
const maxPendingInvites = defineInt('MAX_PENDING_INVITES', {
  default: orgs.DEFAULT_MAX_PENDING_INVITES,
  description: 'Invitations one organization may have pending at once',
});
const membershipDeps = () => ({
  db: getFirestore(),
  clock: systemClock,
  ...orgs.checkMembershipLimits({
    maxOrgsPerOwner: maxOrgsPerOwner.value(),
    inviteTtlDays: inviteTtlDays.value(),
    maxPendingInvites: maxPendingInvites.value(),
  }),
});
export const createOrganization = onCall(appChecked, (request) => orgs.createOrganization(membershipDeps(), requireCaller(request), request.data));
export const inviteMember = onCall(appChecked, (request) => orgs.inviteMember(membershipDeps(), requireCaller(request), request.data));
export const acceptInvitation = onCall(oneShot, (request) => orgs.acceptInvitation(membershipDeps(), requireCaller(request), request.data));
export const revokeInvitation = onCall(appChecked, (request) => orgs.revokeInvitation(membershipDeps(), requireCaller(request), request.data));
export const changeRole = onCall(appChecked, (request) => orgs.changeRole(membershipDeps(), requireCaller(request), request.data));
export const removeMember = onCall(appChecked, (request) => orgs.removeMember(membershipDeps(), requireCaller(request), request.data));
export const leaveOrganization = onCall(appChecked, (request) => orgs.leaveOrganization(membershipDeps(), requireCaller(request), request.data));
export const transferOwnership = onCall(appChecked, (request) => orgs.transferOwnership(membershipDeps(), requireCaller(request), request.data));
// Operators assign an owner (e.g. after the owner's account was deleted in Firebase Auth).
export const assignOwner = onCall(appChecked, (request) =>
  orgs.assignOwner({ ...membershipDeps(), operators: accounts.adminAccountAuth(getAuth()) }, requireCaller(request), request.data),
);

// Privileged changes clients make directly in Firestore are audited with the acting user (P14).
const clientAuditDeps = () => ({ db: getFirestore() });
export const auditOrganizationUpdate = onDocumentUpdatedWithAuthContext(documentPatterns.org, (event) =>
  orgs.auditOrganizationUpdate(clientAuditDeps(), event),
);
export const auditConfigWrite = onDocumentWrittenWithAuthContext(documentPatterns.config, (event) => orgs.auditConfigWrite(clientAuditDeps(), event));
export const auditContactDeletion = onDocumentDeletedWithAuthContext(documentPatterns.contact, (event) => orgs.auditContactDeletion(clientAuditDeps(), event));

// Stripe billing (issue 6).
const stripeSecrets = [billing.stripeSecretKey];
export const stripeWebhook = onRequest(
  { ...sizing.stripeWebhook, secrets: [billing.stripeSecretKey, billing.stripeWebhookSecret, billing.stripeWebhookSecretPrevious] },
  (req, res) => billing.serveStripeWebhook(billing.webhookDeps(), req, res),
);
export const createCheckoutSession = onCall({ ...appChecked, secrets: stripeSecrets }, (request) =>
  billing.createCheckoutSession(billing.checkoutDeps(), requireCaller(request), request.data),
);
export const createBillingPortalSession = onCall({ ...appChecked, secrets: stripeSecrets }, (request) =>
  billing.createBillingPortalSession(billing.checkoutDeps(), requireCaller(request), request.data),
);
export const linkStripeCustomer = onCall({ ...sizing.longCallable, ...appChecked, secrets: stripeSecrets }, (request) =>
  billing.linkStripeCustomer(billing.operatorDeps(), requireCaller(request), request.data),
);
export const replayStripeEvents = onCall({ ...sizing.longCallable, ...appChecked, secrets: stripeSecrets }, (request) =>
  billing.replayStripeEvents(billing.operatorDeps(), requireCaller(request), request.data),
);
export const resyncStripeBilling = onCall({ ...sizing.longCallable, ...appChecked, secrets: stripeSecrets }, (request) =>
  billing.resyncStripeBilling(billing.operatorDeps(), requireCaller(request), request.data),
);
export const billingGraceSweep = onSchedule({ ...sizing.billingGraceSweep, schedule: 'every 1 hours' }, async () => {
  billing.logGraceSweepReport(await billing.sweepLapsedGrace({ db: getFirestore(), clock: systemClock }));
  logHeartbeat('billingGraceSweep');
});

// Privacy promises: docs/privacy.md.
export const eraseContact = onCall({ ...sizing.longCallable, ...appChecked }, (request) =>
  privacy.eraseContact(privacy.erasureDeps(), requireCaller(request), request.data),
);
// Browsers may call it from the web app's origin only (BILLING_APP_URL); it checks App Check itself.
export const exportData = onRequest({ ...sizing.exportData, cors: billing.billingAppUrl }, (req, res) =>
  privacy.handleExportRequest(privacy.exportDeps(appCheckEnforced), req, res),
);
export const recordUsageEvent = onCall({ ...sizing.recordUsageEvent, ...appChecked }, (request) =>
  privacy.recordUsageEvent(privacy.usageDeps(), requireCaller(request), request.data),
);
export const setMarketingConsent = onCall(appChecked, (request) => privacy.setMarketingConsent(privacy.marketingDeps(), requireCaller(request), request.data));
export const unsubscribe = onRequest({ secrets: [privacy.unsubscribeSigningKey] }, (req, res) =>
  privacy.handleUnsubscribeRequest(privacy.unsubscribeDeps(), req, res),
);

// Organization deletion's hooks into billing (billing/deletion-hooks.ts), with the Stripe client of each call.
const cancelSubscription = billing.cancelSubscriptionHook(billing.stripeDeps);
const closeBilling = billing.closeBillingHook(billing.stripeDeps);
const reconcileBilling = billing.reconcileBillingHook(billing.billingDeps);
export const requestOrganizationDeletion = onCall({ ...oneShot, secrets: stripeSecrets }, (request) =>
  privacy.requestOrganizationDeletion(privacy.orgDeletionDeps(cancelSubscription), requireCaller(request), request.data),
);
export const cancelOrganizationDeletion = onCall({ ...sizing.longCallable, ...appChecked, secrets: stripeSecrets }, (request) =>
  privacy.cancelOrganizationDeletion(privacy.cancelOrgDeletionDeps(reconcileBilling, membershipDeps().maxOrgsPerOwner), requireCaller(request), request.data),
);
export const deleteMyAccount = onCall({ ...sizing.longCallable, ...oneShot, secrets: stripeSecrets }, (request) =>
  accounts.deleteMyAccount(accounts.accountDeletionDeps(cancelSubscription), requireCaller(request), request.data),
);
export const eraseUser = onCall({ ...sizing.longCallable, ...oneShot, secrets: stripeSecrets }, (request) =>
  accounts.eraseUser(accounts.accountDeletionDeps(cancelSubscription), requireCaller(request), request.data),
);
// Auth's user-deleted event exists only as a v1 trigger: its region and options are set here, not globally.
export const onAuthUserDeleted = functionsV1
  .region(functionsRegion)
  .runWith({ ...authTriggerOptions, secrets: stripeSecrets })
  .auth.user()
  .onDelete((user) => accounts.onAuthUserDeleted(accounts.accountDeletionDeps(cancelSubscription), user.uid));
export const retention = onSchedule({ ...sizing.retention, schedule: 'every 6 hours', secrets: stripeSecrets }, async () => {
  privacy.logRetentionReport(
    await privacy.runRetention(privacy.retentionDeps(closeBilling, accounts.resumeAccountDeletion(accounts.accountDeletionDeps(cancelSubscription)))),
  );
  logHeartbeat('retention');
});
