/**
 * The operator's resync: customer links and billing mirrors rebuilt from Stripe (customers' `metadata.orgId`),
 * one page of customers at a time, idempotent; nothing written for customers that name no organization.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntrySchema, organizationSchema, paths } from '@leadpulse/model';
import { resyncStripeBilling } from '../../functions/src/billing/operators';
import { dumpProject, expectRefusedWithoutChange } from '../support/snapshot';
import { type BillingTestContext, DAY_SECONDS, operator, readMirror, seedOrg, startBillingTest } from './fixtures';

let context: BillingTestContext;
beforeAll(async () => {
  context = await startBillingTest('billing-resync');
});
afterAll(async () => context.close());

const resync = (data: Record<string, unknown>) => resyncStripeBilling(context.operatorDeps(), operator, data);

describe('resyncStripeBilling', () => {
  it('rebuilds the link and the mirror of every organization its customers name, page by page, and reports the rest', async () => {
    await seedOrg(context.db, 'lost', [
      { uid: 'lost-owner', role: 'owner' },
      { uid: 'lost-member', role: 'member' },
    ]);
    const stripe = context.stripe;
    const customer = stripe.addCustomer({ email: 'billing@lost.example', metadata: { orgId: 'lost' } });
    const customerId = customer.id as string;
    const old = stripe.addSubscription({
      customer: customerId,
      price: 'price_team',
      quantity: 2,
      status: 'canceled',
      created: context.clock.seconds - 90 * DAY_SECONDS,
    });
    context.clock.seconds += 60;
    const current = stripe.addSubscription({ customer: customerId, price: 'price_business', quantity: 7, status: 'active' });
    const orphan = stripe.addCustomer({ metadata: { orgId: 'nowhere' } });
    const anonymous = stripe.addCustomer({});

    await expectRefusedWithoutChange(context.db, () => resyncStripeBilling(context.operatorDeps(), { ...operator, claims: {} }, {}), 'permission-denied');
    const first = await resync({ limit: 2 });
    // Stripe lists customers newest first.
    expect(first.customers.map((report) => report.customerId)).toEqual([anonymous.id, orphan.id]);
    expect(first.customers.map((report) => report.error)).toEqual(['metadata.orgId names no organization', 'organization nowhere does not exist']);
    expect(first.nextStartingAfter).toBe(orphan.id);
    expect((await context.db.doc(paths.stripeCustomer(orphan.id as string)).get()).exists).toBe(false);

    const second = await resync({ limit: 2, startingAfter: first.nextStartingAfter });
    expect(second).toEqual({
      customers: [
        {
          customerId,
          orgId: 'lost',
          subscriptions: [
            { subscriptionId: old.id, outcome: 'applied' },
            { subscriptionId: current.id, outcome: 'applied' },
          ],
          error: null,
        },
      ],
      nextStartingAfter: null,
    });
    expect((await context.db.doc(paths.stripeCustomer(customerId)).get()).get('orgId')).toBe('lost');
    expect(await readMirror(context.db, 'lost')).toMatchObject({
      customerId,
      subscriptionId: current.id,
      status: 'active',
      plan: 'business',
      seats: 7,
      access: 'full',
    });
    expect(organizationSchema.parse((await context.db.doc(paths.org('lost')).get()).data()).plan).toBe('business');

    // Again: the older subscription does not replace the running one, and nothing but the fetch times moves.
    const mirrorBefore = await readMirror(context.db, 'lost');
    const auditBefore = (await context.db.collection(paths.auditLog('lost')).get()).size;
    const again = await resync({ limit: 2, startingAfter: orphan.id });
    expect(again.customers[0].subscriptions).toEqual([
      { subscriptionId: old.id, outcome: 'superseded' },
      { subscriptionId: current.id, outcome: 'applied' },
    ]);
    const { fetchedAt: _f1, updatedAt: _u1, lastEventCreated: _l1, ...stableBefore } = mirrorBefore ?? {};
    const { fetchedAt: _f2, updatedAt: _u2, lastEventCreated: _l2, ...stableAfter } = (await readMirror(context.db, 'lost')) ?? {};
    expect(stableAfter).toEqual(stableBefore);
    const audit = (await context.db.collection(paths.auditLog('lost')).get()).docs.map((doc) => auditEntrySchema.parse(doc.data()));
    expect(audit).toHaveLength(auditBefore);
    expect(audit.map((entry) => entry.actorUid)).toContain('system:stripe');
    expect((await dumpProject(context.db)).has(paths.stripeCustomer(orphan.id as string))).toBe(false);
  });
});
