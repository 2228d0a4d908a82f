/**
 * Re-applying parked events (linking a customer, cancelling a deletion) and the operator's replay isolate each
 * ledger entry: one they cannot read or process is reported and passed over; every other entry is applied.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { paths } from '@leadpulse/model';
import { SKIPPED_ITEM_MESSAGE } from '../../functions/src/common/logging';
import { cancelOrgSubscriptions } from '../../functions/src/billing/cancel-subscription';
import { reapplyUnmatchedOfOrg, ReapplyIncomplete } from '../../functions/src/billing/customers';
import { linkStripeCustomer, replayStripeEvents } from '../../functions/src/billing/operators';
import { type BillingTestContext, linkNewCustomer, operator, readLedger, readMirror, seedOrg, startBillingTest } from './fixtures';

// The alert lines, captured (and kept out of the test output).
const logged = vi.hoisted(() => ({ error: vi.fn() }));
vi.mock('firebase-functions/logger', async (original) => ({ ...(await original<typeof import('firebase-functions/logger')>()), error: logged.error }));

let context: BillingTestContext;
beforeAll(async () => {
  context = await startBillingTest('billing-operator-isolation');
});
afterAll(async () => context.close());
afterEach(() => logged.error.mockClear());

const alertedItems = () =>
  logged.error.mock.calls.filter(([message]) => message === SKIPPED_ITEM_MESSAGE).map(([, fields]) => (fields as { item: string }).item);

/** Two ledger entries that cannot be replayed: one without `created` (it cannot be ordered), one whose change is of no known kind. */
async function plantPoisonedEntries(field: { customerId: string } | { orgId: string }): Promise<string[]> {
  const receivedAt = new Date(context.clock.seconds * 1000);
  const base = {
    type: 'customer.subscription.updated',
    livemode: false,
    customerId: null,
    orgId: null,
    outcome: 'unmatched',
    reason: 'unknown_customer',
    receivedAt,
    processedAt: receivedAt,
    replayCount: 0,
    ...field,
  };
  await context.db.doc(paths.stripeEvent('evt_nocreated')).set({ ...base, change: { kind: 'subscription', customerId: 'cus_x', subscriptionId: 'sub_x' } });
  await context.db.doc(paths.stripeEvent('evt_badchange')).set({ ...base, created: 1, change: { kind: 'refund', customerId: 'cus_x' } });
  return [paths.stripeEvent('evt_nocreated'), paths.stripeEvent('evt_badchange')];
}

describe('re-applying parked events', () => {
  it('linking a customer applies every readable parked event and reports the others', async () => {
    await seedOrg(context.db, 'iso-link');
    const customerId = context.stripe.addCustomer({ email: 'finance@iso-link.example' }).id as string;
    const subscription = context.stripe.addSubscription({ customer: customerId, price: 'price_team', quantity: 4, status: 'active' });
    const created = context.stripe.event('customer.subscription.created', subscription);
    expect((await context.send(created)).body).toMatchObject({ outcome: 'unmatched' });
    const poisoned = await plantPoisonedEntries({ customerId });

    const linked = await linkStripeCustomer(context.operatorDeps(), operator, { orgId: 'iso-link', customerId });

    expect(linked.reapplied).toEqual([
      { eventId: created.id, outcome: 'applied', reason: null, error: null },
      { eventId: 'evt_nocreated', outcome: null, reason: null, error: expect.stringMatching(/^stripeEvents\/evt_nocreated is invalid at created/) },
      { eventId: 'evt_badchange', outcome: null, reason: null, error: expect.stringMatching(/^stripeEvents\/evt_badchange is invalid at change/) },
    ]);
    expect(await readMirror(context.db, 'iso-link')).toMatchObject({ customerId, status: 'active', seats: 4 });
    expect(alertedItems()).toEqual(poisoned);
  });

  it('cancelling a deletion re-applies every readable parked event, then says not all were', async () => {
    await seedOrg(context.db, 'iso-back');
    const customerId = await linkNewCustomer(context, 'iso-back');
    await context.db.doc(paths.org('iso-back')).update({ status: 'deleting', access: 'none' });
    const subscription = context.stripe.addSubscription({ customer: customerId, price: 'price_team', quantity: 2, status: 'active' });
    const parked = context.stripe.event('customer.subscription.created', subscription);
    expect((await context.send(parked)).body).toMatchObject({ outcome: 'unmatched' });
    const poisoned = await plantPoisonedEntries({ orgId: 'iso-back' });
    await context.db.doc(paths.org('iso-back')).update({ status: 'active', access: 'full' });

    const failure = await reapplyUnmatchedOfOrg(context.deps(), 'iso-back').catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ReapplyIncomplete);
    expect((failure as ReapplyIncomplete).results).toEqual([{ eventId: parked.id, outcome: 'applied', reason: null, orgId: 'iso-back', duplicate: false }]);
    expect((failure as ReapplyIncomplete).failures.map((f) => f.item)).toEqual(poisoned);
    expect(await readMirror(context.db, 'iso-back')).toMatchObject({ status: 'active', seats: 2 });
  });
});

describe('replayStripeEvents', () => {
  it('replays every readable unmatched entry and reports the ones it cannot read or process', async () => {
    await seedOrg(context.db, 'iso-replay');
    const customerId = await linkNewCustomer(context, 'iso-replay');
    const subscription = context.stripe.addSubscription({ customer: customerId, price: 'price_team', quantity: 6, status: 'active' });
    const event = context.stripe.event('customer.subscription.created', subscription);
    await context.send(event);
    await context.db.doc(paths.stripeEvent(event.id as string)).update({ outcome: 'unmatched', reason: 'unknown_customer' });
    const poisoned = await plantPoisonedEntries({ customerId });

    const report = await replayStripeEvents(context.operatorDeps(), operator, { outcome: 'unmatched', customerId });

    expect(report.results).toEqual([
      { eventId: 'evt_nocreated', outcome: null, reason: null, error: expect.stringMatching(/is invalid at created/) },
      { eventId: 'evt_badchange', outcome: null, reason: null, error: expect.stringMatching(/is invalid at change/) },
      { eventId: event.id, outcome: 'applied', reason: null, error: null },
    ]);
    expect(await readLedger(context.db, event.id as string)).toMatchObject({ outcome: 'applied', replayCount: 1 });
    expect(alertedItems().sort()).toEqual([...poisoned].sort());
  });
});

describe('cancelling on deletion (run by the purge)', () => {
  it('cancels from a mirror whose other fields are unreadable: the purge it precedes is never blocked', async () => {
    await seedOrg(context.db, 'iso-purge');
    const customerId = await linkNewCustomer(context, 'iso-purge');
    const subscription = context.stripe.addSubscription({ customer: customerId, price: 'price_team', quantity: 2, status: 'active' });
    await context.db.doc(paths.subscription('iso-purge')).update({ status: 'bogus', access: 'sideways', seats: -1 });

    await cancelOrgSubscriptions(context.deps(), 'iso-purge');

    expect(context.stripe.subscriptions.get(subscription.id as string)?.status).toBe('canceled');
  });
});
