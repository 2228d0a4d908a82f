/**
 * Billing changes for an organization of 10,000 members (issue 16): Stripe's events lapse the organization past its
 * grace period and restore it, each in one transaction that writes the access onto every member document
 * (prepareAccessUpdate). Costs and times at 100 / 1,000 / 10,000 members: `npm run bench -- scale`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths, type AccessState } from '@leadpulse/model';
import { START, seedOrg } from '../privacy/seed';
import { countOperations, installOperationCounter } from '../support/operation-counter';
import { DAY_SECONDS, linkNewCustomer, startBillingTest, type BillingTestContext } from './fixtures';

const MEMBERS = 10_000;
const orgId = 'large';
let context: BillingTestContext;

const membersWithAccess = async (access: AccessState) =>
  (await context.db.collection(paths.members(orgId)).where('access', '==', access).count().get()).data().count;
const orgAccess = async () => (await context.db.doc(paths.org(orgId)).get()).get('access') as unknown;

beforeAll(async () => {
  installOperationCounter();
  context = await startBillingTest('webhook-large-org');
  const members = Array.from({ length: MEMBERS }, (_, i) => ({
    uid: `u${String(i).padStart(5, '0')}`,
    role: i === 0 ? ('owner' as const) : ('member' as const),
  }));
  await seedOrg(context.db, { orgId, now: START, members });
}, 60_000);

afterAll(async () => {
  await context?.close();
});

describe(`Stripe events for an organization of ${MEMBERS.toLocaleString('en-US')} members`, () => {
  it('a payment failing past the grace period makes every member read-only in one event; paying restores every member', async () => {
    const customerId = await linkNewCustomer(context, orgId);
    const subscription = context.stripe.addSubscription({ customer: customerId, price: 'price_team', quantity: MEMBERS, status: 'active' });
    const subscriptionId = subscription.id as string;
    await context.send(context.stripe.event('customer.subscription.created', subscription));
    const invoice = context.stripe.addInvoice({ customer: customerId, subscription: subscriptionId, total: 3600, status: 'open' });
    context.stripe.updateSubscription(subscriptionId, { status: 'past_due' });
    context.clock.seconds += 60;
    await context.send(context.stripe.event('invoice.payment_failed', invoice));
    expect(await membersWithAccess('full')).toBe(MEMBERS);

    context.clock.seconds += 7 * DAY_SECONDS;
    const lapse = await countOperations(() => context.send(context.stripe.event('invoice.payment_failed', invoice)));
    expect(lapse.result.status).toBe(200);
    expect(await orgAccess()).toBe('read_only');
    expect(await membersWithAccess('read_only')).toBe(MEMBERS);
    // Every member read and written once, plus the event's own few documents.
    expect(lapse.reads).toBeGreaterThan(MEMBERS);
    expect(lapse.writes).toBeGreaterThan(MEMBERS);
    expect(lapse.writes).toBeLessThan(MEMBERS + 10);

    context.clock.seconds += 60;
    context.stripe.updateInvoice(invoice.id as string, 'paid');
    context.stripe.updateSubscription(subscriptionId, { status: 'active' });
    const restored = await context.send(context.stripe.event('invoice.paid', context.stripe.invoices.get(invoice.id as string) ?? {}));
    expect(restored.status).toBe(200);
    expect(await orgAccess()).toBe('full');
    expect(await membersWithAccess('full')).toBe(MEMBERS);
  });
});
