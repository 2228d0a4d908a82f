/**
 * Wires Cloud Functions triggers to their handlers; nothing else lives here.
 */
import { initializeApp } from 'firebase-admin/app';
import { getFirestore } from 'firebase-admin/firestore';
import { defineInt } from 'firebase-functions/params';
import * as functionsV1 from 'firebase-functions/v1';
import { setGlobalOptions } from 'firebase-functions/v2';
import { onCall, onRequest } from 'firebase-functions/v2/https';
import { onSchedule } from 'firebase-functions/v2/scheduler';
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

// Organizations and membership (issue 5).
const maxOrgsPerOwner = defineInt('MAX_ORGS_PER_OWNER', {
  default: orgs.DEFAULT_MAX_ORGS_PER_OWNER,
  description: 'Active organizations one user may own',
});
const inviteTtlDays = defineInt('INVITE_TTL_DAYS', {
  default: orgs.DEFAULT_INVITE_TTL_DAYS,
  description: 'Days an invitation link stays valid (1-30)',
});
const membershipDeps = () => ({
  db: getFirestore(),
  clock: systemClock,
  ...orgs.checkMembershipLimits({ maxOrgsPerOwner: maxOrgsPerOwner.value(), inviteTtlDays: inviteTtlDays.value() }),
});
export const createOrganization = onCall((request) => orgs.createOrganization(membershipDeps(), requireCaller(request), request.data));
export const inviteMember = onCall((request) => orgs.inviteMember(membershipDeps(), requireCaller(request), request.data));
export const acceptInvitation = onCall((request) => orgs.acceptInvitation(membershipDeps(), requireCaller(request), request.data));
export const revokeInvitation = onCall((request) => orgs.revokeInvitation(membershipDeps(), requireCaller(request), request.data));
export const changeRole = onCall((request) => orgs.changeRole(membershipDeps(), requireCaller(request), request.data));
export const removeMember = onCall((request) => orgs.removeMember(membershipDeps(), requireCaller(request), request.data));
export const leaveOrganization = onCall((request) => orgs.leaveOrganization(membershipDeps(), requireCaller(request), request.data));
export const transferOwnership = onCall((request) => orgs.transferOwnership(membershipDeps(), requireCaller(request), request.data));

// Stripe billing (issue 6).
const stripeSecrets = [billing.stripeSecretKey];
export const stripeWebhook = onRequest({ ...sizing.stripeWebhook, secrets: [billing.stripeSecretKey, billing.stripeWebhookSecret] }, (req, res) =>
  billing.serveStripeWebhook(billing.webhookDeps(), req, res),
);
export const createCheckoutSession = onCall({ secrets: stripeSecrets }, (request) =>
  billing.createCheckoutSession(billing.checkoutDeps(), requireCaller(request), request.data),
);
export const createBillingPortalSession = onCall({ secrets: stripeSecrets }, (request) =>
  billing.createBillingPortalSession(billing.checkoutDeps(), requireCaller(request), request.data),
);
export const linkStripeCustomer = onCall({ ...sizing.longCallable, secrets: stripeSecrets }, (request) =>
  billing.linkStripeCustomer(billing.billingDeps(), requireCaller(request), request.data),
);
export const replayStripeEvents = onCall({ ...sizing.longCallable, secrets: stripeSecrets }, (request) =>
  billing.replayStripeEvents(billing.billingDeps(), requireCaller(request), request.data),
);
export const billingGraceSweep = onSchedule({ ...sizing.billingGraceSweep, schedule: 'every 1 hours' }, async () => {
  billing.logGraceSweepReport(await billing.sweepLapsedGrace({ db: getFirestore(), clock: systemClock }));
  logHeartbeat('billingGraceSweep');
});

// Privacy promises (issue 7): README, "Privacy promises".
export const eraseContact = onCall(sizing.longCallable, (request) => privacy.eraseContact(privacy.erasureDeps(), requireCaller(request), request.data));
// Browsers may call it from the web app's origin only (BILLING_APP_URL).
export const exportData = onRequest({ ...sizing.exportData, cors: billing.billingAppUrl }, (req, res) =>
  privacy.handleExportRequest(privacy.exportDeps(), req, res),
);
export const recordUsageEvent = onCall(sizing.recordUsageEvent, (request) => privacy.recordUsageEvent(privacy.usageDeps(), requireCaller(request), request.data));
export const setMarketingConsent = onCall((request) => privacy.setMarketingConsent(privacy.marketingDeps(), requireCaller(request), request.data));
export const unsubscribe = onRequest({ secrets: [privacy.unsubscribeSigningKey] }, (req, res) =>
  privacy.handleUnsubscribeRequest(privacy.unsubscribeDeps(), req, res),
);

// Deleting an organization (or the account of its only member) cancels its Stripe subscriptions at once.
const cancelSubscription = (orgId: string) => billing.cancelOrgSubscriptions(billing.stripeDeps(), orgId);
export const requestOrganizationDeletion = onCall({ secrets: stripeSecrets }, (request) =>
  privacy.requestOrganizationDeletion(privacy.orgDeletionDeps(cancelSubscription), requireCaller(request), request.data),
);
// Cancelling it re-applies the Stripe events parked meanwhile, so billing comes back from Stripe's truth.
const reconcileBilling = async (orgId: string) => (await billing.reapplyUnmatchedOfOrg(billing.billingDeps(), orgId)).length;
export const cancelOrganizationDeletion = onCall({ ...sizing.longCallable, secrets: stripeSecrets }, (request) =>
  privacy.cancelOrganizationDeletion(privacy.cancelOrgDeletionDeps(reconcileBilling), requireCaller(request), request.data),
);
export const deleteMyAccount = onCall({ ...sizing.longCallable, secrets: stripeSecrets }, (request) =>
  accounts.deleteMyAccount(privacy.accountDeletionDeps(cancelSubscription), requireCaller(request), request.data),
);
export const eraseUser = onCall({ ...sizing.longCallable, secrets: stripeSecrets }, (request) =>
  accounts.eraseUser(privacy.accountDeletionDeps(cancelSubscription), requireCaller(request), request.data),
);
// Auth's user-deleted event exists only as a v1 trigger: its region and options are set here, not globally.
export const onAuthUserDeleted = functionsV1
  .region(functionsRegion)
  .runWith({ ...authTriggerOptions, secrets: stripeSecrets })
  .auth.user()
  .onDelete((user) => accounts.onAuthUserDeleted(privacy.accountDeletionDeps(cancelSubscription), user.uid));
export const retention = onSchedule({ ...sizing.retention, schedule: 'every 6 hours', secrets: stripeSecrets }, async () => {
  privacy.logRetentionReport(await privacy.runRetention(privacy.retentionDeps(cancelSubscription)));
  logHeartbeat('retention');
});
