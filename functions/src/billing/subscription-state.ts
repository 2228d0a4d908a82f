import { Timestamp } from 'firebase-admin/firestore';
import type { AccessState, SubscriptionMirror, SubscriptionStatus } from '@leadpulse/model';
import { planNameOfPrice, type BillingCatalog } from './catalog';
import type { StripeSubscription } from './stripe-objects';

/**
 * Pure rules that turn Stripe's subscription into the organization's mirror. No I/O here: apply-change.ts reads
 * and writes, these decide.
 */

/** Statuses of a subscription that never started: its first payment has not succeeded (Stripe's `incomplete`). */
const neverStarted: ReadonlySet<SubscriptionStatus> = new Set(['incomplete', 'incomplete_expired']);

/**
 * How much a subscription counts for the organization: 2 while it runs (even unpaid), 1 once ended, 0 if it never
 * started. An organization with several subscriptions mirrors the one with the highest standing, then the newest.
 */
export function standingOf(status: SubscriptionStatus | null): 0 | 1 | 2 {
  if (status === null || neverStarted.has(status)) return 0;
  return status === 'canceled' ? 1 : 2;
}

/** Whether `incoming` (a subscription other than the mirrored one) should replace it in the mirror. */
export function replacesMirrored(mirror: SubscriptionMirror, incoming: StripeSubscription): boolean {
  if (mirror.subscriptionId === null) return true;
  const current = standingOf(mirror.status);
  const next = standingOf(incoming.status);
  if (next !== current) return next > current;
  const mirroredCreated = mirror.subscriptionCreated ?? 0;
  if (incoming.created !== mirroredCreated) return incoming.created > mirroredCreated;
  return incoming.id > mirror.subscriptionId;
}

/** Statuses whose lapse start needs the subscription's unpaid invoices. */
export function needsOpenInvoices(status: SubscriptionStatus): boolean {
  return status === 'past_due' || status === 'unpaid' || status === 'canceled';
}

/** What the open invoices of a subscription tell about its lapse: when each was issued (seconds). */
export interface OpenInvoice {
  issuedAt: number;
}

/**
 * When the subscription stopped being in good standing (seconds), from Stripe's data only, so that the answer
 * does not depend on the order events arrive in: the oldest unpaid invoice for dunning states (a payment that
 * has been failing since then), the end for a canceled subscription if earlier, the end of the trial for a
 * paused one. null while in good standing or never started.
 */
export function lapseStartOf(subscription: StripeSubscription, openInvoices: readonly OpenInvoice[]): number | null {
  const oldestUnpaid = openInvoices.length > 0 ? Math.min(...openInvoices.map((invoice) => invoice.issuedAt)) : null;
  const periodStart = Math.min(...subscription.items.data.map((item) => item.current_period_start));
  switch (subscription.status) {
    case 'active':
    case 'trialing':
    case 'incomplete':
    case 'incomplete_expired':
      return null;
    case 'past_due':
    case 'unpaid':
      return oldestUnpaid ?? periodStart;
    case 'canceled': {
      const ended = subscription.ended_at ?? subscription.canceled_at ?? periodStart;
      return oldestUnpaid === null ? ended : Math.min(oldestUnpaid, ended);
    }
    case 'paused':
      return subscription.trial_end ?? periodStart;
  }
}

/**
 * The subscription status deriveAccessState should see: one that never started leaves the organization where it
 * was before it tried to subscribe (`null`: never subscribed).
 */
export function statusForAccess(status: SubscriptionStatus | null): SubscriptionStatus | null {
  return status !== null && neverStarted.has(status) ? null : status;
}

/** The organization's `plan` field: the subscribed plan while a subscription runs, else the free plan. */
export function orgPlanOf(mirror: Pick<SubscriptionMirror, 'status' | 'plan'>, freePlan: string): string {
  return standingOf(mirror.status) === 2 && mirror.plan !== null ? mirror.plan : freePlan;
}

const fromSeconds = (seconds: number | null) => (seconds === null ? null : Timestamp.fromMillis(seconds * 1000));

/** The item that carries the plan: the first one whose price is in the catalog, else the first. */
function planItemOf(subscription: StripeSubscription, catalog: BillingCatalog) {
  const catalogPrices = new Set(Object.values(catalog.plans).map((plan) => plan.priceId));
  return subscription.items.data.find((item) => catalogPrices.has(item.price.id)) ?? subscription.items.data[0];
}

/** The mirror's subscription fields for a subscription freshly fetched from Stripe. */
export function mirrorFieldsOf(
  subscription: StripeSubscription,
  catalog: BillingCatalog,
  lapseStart: number | null,
): Pick<
  SubscriptionMirror,
  'subscriptionId' | 'subscriptionCreated' | 'status' | 'plan' | 'priceId' | 'seats' | 'currentPeriodEnd' | 'cancelAtPeriodEnd' | 'trialEnd' | 'lapsedSince'
> {
  const item = planItemOf(subscription, catalog);
  return {
    subscriptionId: subscription.id,
    subscriptionCreated: subscription.created,
    status: subscription.status,
    plan: planNameOfPrice(catalog, item.price.id),
    priceId: item.price.id,
    seats: item.quantity ?? 0,
    currentPeriodEnd: fromSeconds(Math.max(...subscription.items.data.map((entry) => entry.current_period_end))),
    cancelAtPeriodEnd: subscription.cancel_at_period_end,
    trialEnd: fromSeconds(subscription.trial_end),
    lapsedSince: fromSeconds(lapseStart),
  };
}

/** The fields whose change is worth an audit entry (what members and owners would notice). */
export function auditableChange(
  before: Pick<SubscriptionMirror, 'subscriptionId' | 'status' | 'plan' | 'seats' | 'cancelAtPeriodEnd'> | null,
  after: Pick<SubscriptionMirror, 'subscriptionId' | 'status' | 'plan' | 'seats' | 'cancelAtPeriodEnd'>,
  accessBefore: AccessState,
  accessAfter: AccessState,
): boolean {
  return (
    before === null ||
    before.subscriptionId !== after.subscriptionId ||
    before.status !== after.status ||
    before.plan !== after.plan ||
    before.seats !== after.seats ||
    before.cancelAtPeriodEnd !== after.cancelAtPeriodEnd ||
    accessBefore !== accessAfter
  );
}
