import Stripe from 'stripe';
import { HttpsError } from 'firebase-functions/v2/https';
import {
  createBillingPortalSessionArgsSchema,
  createCheckoutSessionArgsSchema,
  paths,
  subscriptionMirrorSchema,
  type SubscriptionMirror,
} from '@leadpulse/model';
import { logError } from '../common/logging';
import { parseArgs, type Caller } from '../common/callable';
import { readDocument } from '../common/documents';
import { writeAuditEntry } from '../orgs/audit';
import { requireCallerMembership } from '../orgs/membership-access';
import type { BillingDeps } from './apply-change';
import { ownEntry } from './catalog';
import { ensureOrgCustomer } from './customers';
import { standingOf } from './subscription-state';

export interface CheckoutDeps extends BillingDeps {
  /** The web app's origin (BILLING_APP_URL): where Stripe sends the customer back; never taken from a client. */
  appUrl: string;
}

/** Checkout and the portal change the subscription: the owner's alone (access matrix); admins only read billing. */
const billingManagers = ['owner'] as const;

/** Checks the caller is the organization's owner and returns its mirror (null before the first checkout). */
async function readAsBillingManager(deps: BillingDeps, caller: Caller, orgId: string): Promise<SubscriptionMirror | null> {
  return deps.db.runTransaction(async (tx) => {
    await requireCallerMembership(deps.db, tx, orgId, caller, billingManagers);
    return readDocument(subscriptionMirrorSchema, await tx.get(deps.db.doc(paths.subscription(orgId))));
  });
}

function invalidArgument(field: string, message: string): HttpsError {
  return new HttpsError('invalid-argument', `${field}: ${message}`, { field });
}

/** Stripe refuses a reused idempotency key with other parameters: the client reused a requestId. */
function asCallableError(error: unknown): unknown {
  if (error instanceof Stripe.errors.StripeIdempotencyError) {
    return new HttpsError('already-exists', 'requestId was already used for a different request; send a new requestId');
  }
  return error;
}

/**
 * Starts a Stripe Checkout for a subscription. The client names a plan and a seat count; the price, the trial and
 * the promotion code come from the server's catalog. A trial is granted only on the organization's first
 * subscription. Owner only.
 */
export async function createCheckoutSession(deps: CheckoutDeps, caller: Caller, data: unknown): Promise<{ sessionId: string; url: string }> {
  const args = parseArgs(createCheckoutSessionArgsSchema, data);
  const plan = ownEntry(deps.catalog.plans, args.plan);
  if (!plan) throw invalidArgument('plan', `"${args.plan}" is not an available plan`);
  if (args.seats < plan.minSeats || args.seats > plan.maxSeats) {
    throw invalidArgument('seats', `the ${args.plan} plan takes ${plan.minSeats} to ${plan.maxSeats} seats`);
  }
  const promotionCodeId = args.promotionCode === undefined ? null : ownEntry(deps.catalog.promotionCodes, args.promotionCode);
  if (promotionCodeId === undefined) throw invalidArgument('promotionCode', 'is not an available promotion code');

  const mirror = await readAsBillingManager(deps, caller, args.orgId);
  if (mirror && !mirror.customerDeleted && standingOf(mirror.status) === 2) {
    throw new HttpsError('failed-precondition', 'the organization already has a subscription: change it in the billing portal');
  }
  const billingEmail = args.billingEmail ?? (caller.emailVerified ? caller.email : null);
  if (!billingEmail) throw invalidArgument('billingEmail', 'is required when your own e-mail address is not verified');

  const customerId = await ensureOrgCustomer(deps, args.orgId, billingEmail);
  const trialDays = plan.trialDays > 0 && (mirror === null || mirror.subscriptionId === null) ? plan.trialDays : null;
  const billingPage = `${deps.appUrl}/orgs/${args.orgId}/billing`;
  const session = await deps.stripe.checkout.sessions
    .create(
      {
        mode: 'subscription',
        customer: customerId,
        client_reference_id: args.orgId,
        line_items: [{ price: plan.priceId, quantity: args.seats }],
        subscription_data: {
          metadata: { orgId: args.orgId },
          ...(trialDays === null ? {} : { trial_period_days: trialDays }),
        },
        ...(promotionCodeId === null ? {} : { discounts: [{ promotion_code: promotionCodeId }] }),
        metadata: { orgId: args.orgId },
        success_url: `${billingPage}?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
        cancel_url: `${billingPage}?checkout=cancelled`,
      },
      { idempotencyKey: `checkout-${args.orgId}-${args.requestId}` },
    )
    .catch((error: unknown) => {
      throw asCallableError(error);
    });
  if (!session.url) {
    const error = new HttpsError('internal', 'Stripe returned a checkout session without a URL; try again');
    logError('checkout session without a URL', error, { sessionId: session.id, orgId: args.orgId });
    throw error;
  }

  await deps.db.runTransaction(async (tx) => {
    writeAuditEntry(
      deps.db,
      tx,
      args.orgId,
      {
        action: 'billing.checkout_started',
        actorUid: caller.uid,
        targetId: session.id,
        details: { plan: args.plan, seats: args.seats, trialDays, promotionCode: args.promotionCode ?? null },
      },
      deps.clock(),
    );
  });
  return { sessionId: session.id, url: session.url };
}

/** Opens Stripe's billing portal for the organization's customer (plan, seats, payment method, invoices). */
export async function createBillingPortalSession(deps: CheckoutDeps, caller: Caller, data: unknown): Promise<{ url: string }> {
  const args = parseArgs(createBillingPortalSessionArgsSchema, data);
  const mirror = await readAsBillingManager(deps, caller, args.orgId);
  if (!mirror || mirror.customerDeleted) {
    throw new HttpsError('failed-precondition', 'the organization has no billing account yet: start a checkout first');
  }
  const session = await deps.stripe.billingPortal.sessions
    .create(
      {
        customer: mirror.customerId,
        return_url: `${deps.appUrl}/orgs/${args.orgId}/billing`,
        ...(deps.catalog.portalConfigurationId ? { configuration: deps.catalog.portalConfigurationId } : {}),
      },
      { idempotencyKey: `portal-${args.orgId}-${args.requestId}` },
    )
    .catch((error: unknown) => {
      throw asCallableError(error);
    });
  await deps.db.runTransaction(async (tx) => {
    writeAuditEntry(deps.db, tx, args.orgId, { action: 'billing.portal_opened', actorUid: caller.uid, targetId: session.id, details: {} }, deps.clock());
  });
  return { url: session.url };
}
