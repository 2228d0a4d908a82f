/**
 * P3 across an organization deletion that is cancelled: while the organization is being deleted the webhook parks
 * Stripe's events (`unmatched`, `org_deleting`); cancelling the deletion re-applies them, so mirror, plan and
 * access come back from Stripe's truth, not from the mirror as it was before the deletion. The real deletion
 * handlers, the real stripe client against the local Stripe server, signed webhooks over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntrySchema, memberSchema, organizationSchema, paths } from '@leadpulse/model';
import { reapplyUnmatchedOfOrg } from '../../functions/src/billing/customers';
import { cancelSubscriptionHook, reconcileBillingHook } from '../../functions/src/billing/deletion-hooks';
import { replayStripeEvents } from '../../functions/src/billing/operators';
import type { Caller } from '../../functions/src/common/callable';
import { deriveAccessState } from '../../functions/src/orgs/access-state';
import {
  cancelOrganizationDeletion,
  requestOrganizationDeletion,
  type CancelOrgDeletionDeps,
  type OrgDeletionDeps,
} from '../../functions/src/privacy/org-deletion';
import { dumpProject, expectRefusedWithoutChange, under } from '../support/snapshot';
import { DAY_SECONDS, linkNewCustomer, readLedger, readMirror, seedOrg, startBillingTest, type BillingTestContext } from './fixtures';
import { present } from '../support/present';

let context: BillingTestContext;
beforeAll(async () => {
  context = await startBillingTest('billing-undelete');
});
afterAll(() => context.close());

/**
 * Wired as functions/src/index.ts wires them (billing's deletion hooks). The deletion grace (14 days) outlasts
 * billing's 7-day grace, so the access of a subscription cancelled by the deletion differs from the stale mirror's.
 */
const deletionDeps = (): OrgDeletionDeps & CancelOrgDeletionDeps => ({
  db: context.db,
  clock: () => new Date(context.clock.seconds * 1000),
  graceDays: 14,
  cancelSubscription: cancelSubscriptionHook(() => context.deps()),
  reconcileBilling: reconcileBillingHook(() => context.deps()),
  maxOrgsPerOwner: 5,
});
const owner = (orgId: string): Caller => ({ uid: `${orgId}-owner`, email: null, emailVerified: true, claims: {} });
const operator: Caller = { uid: 'ops-1', email: 'ops@leadpulse.test', emailVerified: true, claims: { operator: true } };
/** Auth as the operator check reads it: only ops-1 still holds the claim. */
const operatorAuth = { customClaims: async (uid: string): Promise<Record<string, unknown>> => (uid === operator.uid ? { operator: true } : {}) };
const operatorDeps = () => ({ ...context.deps(), operators: operatorAuth });
const cancellations = () => context.stripe.requests.filter((request) => request.method === 'DELETE').length;
const advance = (seconds: number) => {
  context.clock.seconds += seconds;
};

async function seedSubscribedOrg(orgId: string) {
  await seedOrg(context.db, orgId, [
    { uid: `${orgId}-owner`, role: 'owner' },
    { uid: `${orgId}-admin`, role: 'admin' },
    { uid: `${orgId}-member`, role: 'member' },
  ]);
  const customerId = await linkNewCustomer(context, orgId);
  const subscription = context.stripe.addSubscription({ customer: customerId, price: 'price_team', quantity: 3, status: 'active' });
  const subscriptionId = subscription.id as string;
  const created = await context.send(context.stripe.event('customer.subscription.created', subscription));
  expect(created.body).toMatchObject({ outcome: 'applied' });
  return { customerId, subscriptionId };
}

/** Deletion requested (Stripe cancels the subscription), then Stripe's `customer.subscription.deleted` arrives. */
async function deleteWithParkedEvent(orgId: string, subscriptionId: string) {
  advance(DAY_SECONDS);
  expect(await requestOrganizationDeletion(deletionDeps(), owner(orgId), { orgId })).toMatchObject({ subscriptionCancelled: true });
  const cancelled = present(context.stripe.subscriptions.get(subscriptionId), 'the subscription');
  expect(cancelled.status).toBe('canceled');
  advance(5);
  const event = context.stripe.event('customer.subscription.deleted', cancelled);
  expect((await context.send(event)).body).toEqual({ received: true, duplicate: false, outcome: 'unmatched' });
  expect(await readLedger(context.db, event.id as string)).toMatchObject({ outcome: 'unmatched', reason: 'org_deleting', orgId });
  return { eventId: event.id as string, endedAt: new Date((cancelled.ended_at as number) * 1000) };
}

async function accessOf(orgId: string) {
  const org = organizationSchema.parse((await context.db.doc(paths.org(orgId)).get()).data());
  const members = await context.db.collection(paths.members(orgId)).get();
  return { status: org.status, plan: org.plan, org: org.access, members: members.docs.map((doc) => memberSchema.parse(doc.data()).access) };
}

describe('cancelling an organization deletion re-derives its billing from Stripe', () => {
  it('applies the parked cancellation: mirror canceled, free plan, access from deriveAccessState, ledger applied', async () => {
    const { subscriptionId } = await seedSubscribedOrg('acme');
    const { eventId, endedAt } = await deleteWithParkedEvent('acme', subscriptionId);
    // The mirror still says what it said before the deletion.
    expect(await readMirror(context.db, 'acme')).toMatchObject({ status: 'active', plan: 'team' });

    advance(10 * DAY_SECONDS);
    const now = new Date(context.clock.seconds * 1000);
    const expected = deriveAccessState({ orgStatus: 'active', subscriptionStatus: 'canceled', lapsedSince: endedAt, now });
    // Canceled 10 days ago, past billing's 7-day grace; the stale mirror ('active') would give 'full'.
    expect(expected).toBe('read_only');

    expect(await cancelOrganizationDeletion(deletionDeps(), owner('acme'), { orgId: 'acme' })).toEqual({
      orgId: 'acme',
      access: expected,
      billingReconciled: true,
    });
    expect(await readMirror(context.db, 'acme')).toMatchObject({
      subscriptionId,
      status: 'canceled',
      lapsedSince: { seconds: endedAt.getTime() / 1000 },
      access: expected,
    });
    expect(await accessOf('acme')).toEqual({ status: 'active', plan: 'free', org: expected, members: [expected, expected, expected] });
    expect(await readLedger(context.db, eventId)).toMatchObject({ outcome: 'applied', reason: null, orgId: 'acme', replayCount: 1 });
    const audit = await context.db.collection(paths.auditLog('acme')).orderBy('at').get();
    const entries = audit.docs.map((doc) => auditEntrySchema.parse(doc.data())).map((entry) => [entry.action, entry.details?.status ?? null]);
    expect(entries).toHaveLength(4);
    expect(entries.slice(0, 2)).toEqual([
      ['billing.subscription_changed', 'active'],
      ['org.deletion_requested', null],
    ]);
    // The cancellation and the re-application share one instant of the test clock: their order by `at` is not defined.
    expect(entries.slice(2)).toEqual(
      expect.arrayContaining([
        ['org.deletion_cancelled', null],
        ['billing.subscription_changed', 'canceled'],
      ]),
    );
  });

  it('is idempotent: nothing is parked any more, a replay and a second delete-and-cancel change no billing data', async () => {
    const billingState = async () => {
      const dump = await dumpProject(context.db);
      return [...dump].filter(([path]) => under(paths.subscription('acme'))(path) || under('stripeEvents')(path));
    };
    const before = await billingState();
    const requestsBefore = context.stripe.requests.length;
    const cancellationsBefore = cancellations();

    expect(await reapplyUnmatchedOfOrg(context.deps(), 'acme')).toEqual([]);
    await expectRefusedWithoutChange(
      context.db,
      () => cancelOrganizationDeletion(deletionDeps(), owner('acme'), { orgId: 'acme' }),
      'failed-precondition',
      /not being deleted/,
    );
    const mirror = await readMirror(context.db, 'acme');
    expect(
      (await replayStripeEvents(operatorDeps(), operator, { outcome: 'unmatched', customerId: present(mirror, 'the billing mirror').customerId })).results,
    ).toEqual([]);
    expect(context.stripe.requests.length).toBe(requestsBefore);

    // Deleted and cancelled again: nothing left to cancel in Stripe, nothing parked, nothing re-applied.
    await requestOrganizationDeletion(deletionDeps(), owner('acme'), { orgId: 'acme' });
    expect(await cancelOrganizationDeletion(deletionDeps(), owner('acme'), { orgId: 'acme' })).toEqual({
      orgId: 'acme',
      access: 'read_only',
      billingReconciled: true,
    });
    expect(cancellations()).toBe(cancellationsBefore);
    expect(await billingState()).toEqual(before);
    expect(await accessOf('acme')).toEqual({ status: 'active', plan: 'free', org: 'read_only', members: ['read_only', 'read_only', 'read_only'] });
  });

  it('an organization without a Stripe customer is restored with no Stripe call', async () => {
    await seedOrg(context.db, 'solo', [{ uid: 'solo-owner', role: 'owner' }]);
    const requestsBefore = context.stripe.requests.length;
    await requestOrganizationDeletion(deletionDeps(), owner('solo'), { orgId: 'solo' });
    expect(await cancelOrganizationDeletion(deletionDeps(), owner('solo'), { orgId: 'solo' })).toEqual({
      orgId: 'solo',
      access: 'full',
      billingReconciled: true,
    });
    expect(context.stripe.requests.length).toBe(requestsBefore);
    expect(await readMirror(context.db, 'solo')).toBeNull();
    expect(await accessOf('solo')).toEqual({ status: 'active', plan: 'free', org: 'full', members: ['full'] });
  });

  it('Stripe unreachable: the cancellation stands, the event stays parked, an operator replay applies it', async () => {
    const { customerId, subscriptionId } = await seedSubscribedOrg('flaky');
    const { eventId } = await deleteWithParkedEvent('flaky', subscriptionId);
    advance(DAY_SECONDS);
    context.stripe.failNext({ method: 'GET', pathPrefix: `/v1/subscriptions/${subscriptionId}`, status: 500 });

    expect(await cancelOrganizationDeletion(deletionDeps(), owner('flaky'), { orgId: 'flaky' })).toEqual({
      orgId: 'flaky',
      access: 'full',
      billingReconciled: false,
    });
    expect(await accessOf('flaky')).toMatchObject({ status: 'active', plan: 'team' });
    expect(await readLedger(context.db, eventId)).toMatchObject({ outcome: 'unmatched', reason: 'org_deleting', replayCount: 0 });

    const replay = await replayStripeEvents(operatorDeps(), operator, { outcome: 'unmatched', customerId });
    expect(replay.results).toEqual([{ eventId, outcome: 'applied', reason: null, error: null }]);
    expect(await readMirror(context.db, 'flaky')).toMatchObject({ status: 'canceled' });
    // Canceled a day ago: within billing's grace, so still full access, now on the free plan.
    expect(await accessOf('flaky')).toEqual({ status: 'active', plan: 'free', org: 'full', members: ['full', 'full', 'full'] });
  });
});
