import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelOrgSubscriptions } from '../../functions/src/billing/cancel-subscription';
import { linkNewCustomer, seedOrg, startBillingTest, type BillingTestContext } from './fixtures';

let context: BillingTestContext;
beforeAll(async () => {
  context = await startBillingTest('billing-cancel');
});
afterAll(() => context.close());

const statusOf = (subscription: Record<string, unknown>) => context.stripe.subscriptions.get(subscription.id as string)?.status;
const cancellations = () => context.stripe.requests.filter((request) => request.method === 'DELETE');

describe('cancelOrgSubscriptions (organization deletion)', () => {
  it("cancels every live subscription of the organization's customer and nothing else", async () => {
    await seedOrg(context.db, 'acme');
    await seedOrg(context.db, 'globex');
    const acme = await linkNewCustomer(context, 'acme');
    const globex = await linkNewCustomer(context, 'globex');
    const active = context.stripe.addSubscription({ customer: acme, price: 'price_team', quantity: 3, status: 'active' });
    const pastDue = context.stripe.addSubscription({ customer: acme, price: 'price_team', quantity: 1, status: 'past_due' });
    const ended = context.stripe.addSubscription({ customer: acme, price: 'price_team', quantity: 1, status: 'canceled' });
    const otherOrg = context.stripe.addSubscription({ customer: globex, price: 'price_team', quantity: 2, status: 'active' });

    await cancelOrgSubscriptions(context.deps(), 'acme');

    expect([statusOf(active), statusOf(pastDue), statusOf(ended), statusOf(otherOrg)]).toEqual(['canceled', 'canceled', 'canceled', 'active']);
    expect(
      cancellations()
        .map((request) => request.path)
        .sort(),
    ).toEqual([`/v1/subscriptions/${active.id as string}`, `/v1/subscriptions/${pastDue.id as string}`].sort());
    for (const request of cancellations()) expect(request.idempotencyKey).toBe(`cancel-acme-${request.path.split('/').pop()}`);
  });

  it('is idempotent: once nothing is live, a second call sends no cancellation', async () => {
    const before = cancellations().length;
    await cancelOrgSubscriptions(context.deps(), 'acme');
    expect(cancellations().length).toBe(before);
  });

  it('asks Stripe nothing for an organization that never had a customer', async () => {
    await seedOrg(context.db, 'initech');
    const before = context.stripe.requests.length;
    await cancelOrgSubscriptions(context.deps(), 'initech');
    expect(context.stripe.requests.length).toBe(before);
  });
});
