/**
 * The local billing flow of `npm start`, in process: the owner's checkout returns the local Stripe's hosted page,
 * paying there completes the session, the local Stripe forwards the signed events to the real webhook handler
 * (as `stripe listen --forward-to` does), and the organization's plan and access change. Then every event
 * `npm run stripe:trigger` can play reaches the organization without a failure.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { organizationSchema, paths } from '@leadpulse/model';
import { trigger, triggerEvents } from '@leadpulse/stripe-local';
import { createCheckoutSession } from '../../functions/src/billing/checkout';
import { handledEventTypes } from '../../functions/src/billing/stripe-objects';
import { TEST_WEBHOOK_SECRET } from '../support/stripe-webhook';
import { readLedger, readMirror, seedOrg, startBillingTest, type BillingTestContext } from './fixtures';

let context: BillingTestContext;
beforeAll(async () => {
  context = await startBillingTest('billing-local-flow');
  context.stripe.forward = { url: context.endpoint.url, secret: TEST_WEBHOOK_SECRET };
  await seedOrg(context.db, 'shop');
});
afterAll(async () => context.close());

const owner = { uid: 'shop-owner', email: 'shop-owner@example.com', emailVerified: true, claims: {} };
const plan = async () => organizationSchema.parse((await context.db.doc(paths.org('shop')).get()).data()).plan;

describe('local billing', () => {
  it('checkout on the local hosted page changes the organization’s plan', async () => {
    const { sessionId, url } = await createCheckoutSession(context.checkoutDeps(), owner, { orgId: 'shop', plan: 'team', seats: 4, requestId: randomUUID() });
    expect(url).toBe(`${context.stripe.url}/c/pay/${sessionId}`);
    expect(await plan()).toBe('free');

    const page = await fetch(url);
    expect(page.status).toBe(200);
    const paid = await fetch(url, { method: 'POST', redirect: 'manual' });
    expect(paid.status).toBe(303);
    expect(paid.headers.get('location')).toBe(`https://app.leadpulse.test/orgs/shop/billing?checkout=success&session_id=${sessionId}`);
    await context.stripe.idle();

    expect(await readMirror(context.db, 'shop')).toMatchObject({ status: 'trialing', plan: 'team', seats: 4, access: 'full' });
    expect(await plan()).toBe('team');
  });

  it('every event stripe:trigger plays for the organization’s customer is applied, none fails', async () => {
    expect(triggerEvents).toEqual([...handledEventTypes].sort());
    const customer = (await readMirror(context.db, 'shop'))?.customerId as string;
    // customer.deleted last: it ends the customer.
    for (const event of [...triggerEvents.filter((type) => type !== 'customer.deleted'), 'customer.deleted']) {
      context.clock.seconds += 60;
      const ids = trigger(context.stripe, event, { customer, price: 'price_team' });
      await context.stripe.idle();
      expect(ids.map((id) => context.stripe.events.get(id)?.type)).toContain(event);
      for (const id of ids) {
        const entry = await readLedger(context.db, id);
        expect(entry, `${event}: ${id}`).not.toBeNull();
        expect(entry?.outcome, `${event}: ${JSON.stringify(entry)}`).not.toBe('failed');
        expect(entry?.orgId, event).toBe('shop');
      }
    }
    expect(await readMirror(context.db, 'shop')).toMatchObject({ customerDeleted: true });
  });

  it('without a customer, a trigger makes one LeadPulse does not know: the events wait as unmatched', async () => {
    const [id] = trigger(context.stripe, 'customer.subscription.created', { price: 'price_team' });
    await context.stripe.idle();
    expect(await readLedger(context.db, id)).toMatchObject({ outcome: 'unmatched', reason: 'unknown_customer' });
  });
});
