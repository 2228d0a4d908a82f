/**
 * Real-format payloads of every handled event type, in two API versions: 2024-06-20 (an endpoint created before
 * 2025-03-31.basil, whose subscriptions carry `current_period_*` on the subscription and whose invoices name their
 * subscription directly) and the pinned version. Ids are Stripe's test-mode ids (`cs_test_…`), one price is a
 * legacy plan id. The organization's state, mirror and 7-year billing record must come out the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billingRecordSchema, organizationSchema, paths } from '@leadpulse/model';
import { STRIPE_API_VERSION } from '../../functions/src/billing/runtime';
import { handledEventTypes } from '../../functions/src/billing/stripe-objects';
import { linkNewCustomer, readLedger, readMirror, seedOrg, startBillingTest, type BillingTestContext } from './fixtures';

let context: BillingTestContext;
beforeAll(async () => {
  context = await startBillingTest('billing-versions');
  context.stripe.prices.add('team-monthly');
});
afterAll(async () => context.close());

const versions = ['2024-06-20', STRIPE_API_VERSION];
const played = new Set<string>();

describe.each(versions)('an endpoint on API version %s', (apiVersion) => {
  const orgId = `v${apiVersion.slice(0, 4)}${apiVersion.length}`;
  type Json = Record<string, unknown>;
  const send = async (type: string, object: Json) => {
    played.add(type);
    context.clock.seconds += 10;
    const event = context.stripe.event(type, object, { apiVersion });
    expect(event.api_version).toBe(apiVersion);
    const response = await context.send(event);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const ledger = await readLedger(context.db, event.id as string);
    expect(ledger, type).toMatchObject({ apiVersion, detail: null });
    expect(ledger?.outcome, `${type}: ${JSON.stringify(ledger)}`).not.toBe('failed');
    return ledger;
  };
  const org = async () => organizationSchema.parse((await context.db.doc(paths.org(orgId)).get()).data());
  const record = async (invoiceId: string) => billingRecordSchema.parse((await context.db.doc(paths.billingRecord(invoiceId)).get()).data());

  let customerId: string;
  let subscriptionId: string;
  let sessionId: string;
  let firstInvoice: Json;

  it('checkout: the session completes, the subscription and its paid invoice are mirrored', async () => {
    await seedOrg(context.db, orgId);
    customerId = await linkNewCustomer(context, orgId);
    const created = await context.stripe.client().checkout.sessions.create({
      mode: 'subscription',
      customer: customerId,
      line_items: [{ price: 'price_business', quantity: 6 }],
      success_url: 'https://app.leadpulse.test/done',
    });
    sessionId = created.id;
    expect(sessionId).toMatch(/^cs_test_[A-Za-z0-9]+$/);
    const { session, subscription, invoice } = context.stripe.completeCheckout(sessionId);
    subscriptionId = subscription.id as string;
    firstInvoice = invoice;

    await send('customer.subscription.created', subscription);
    await send('invoice.finalized', invoice);
    await send('invoice.paid', invoice);
    await send('checkout.session.completed', session);
    expect(await readMirror(context.db, orgId)).toMatchObject({ subscriptionId, status: 'active', plan: 'business', seats: 6, access: 'full' });
    expect((await org()).plan).toBe('business');
    expect(await record(invoice.id as string)).toMatchObject({ status: 'paid', currency: 'usd', total: 7200, amountPaid: 7200, refundedAmount: 0 });

    // Asynchronous payment methods report the same session again: nothing new, nothing failed.
    await send('checkout.session.async_payment_succeeded', session);
    await send('checkout.session.async_payment_failed', session);
    expect((await readMirror(context.db, orgId))?.status).toBe('active');
  });

  it('subscription updates, a legacy plan id, trial end, pause and resume', async () => {
    await send('customer.subscription.updated', context.stripe.updateSubscription(subscriptionId, { quantity: 9, price: 'team-monthly' }));
    expect(await readMirror(context.db, orgId)).toMatchObject({ seats: 9, priceId: 'team-monthly', plan: 'team-monthly' });
    await send('customer.subscription.trial_will_end', context.stripe.subscriptions.get(subscriptionId) as Json);

    await send('customer.subscription.paused', context.stripe.updateSubscription(subscriptionId, { status: 'paused' }));
    expect((await readMirror(context.db, orgId))?.status).toBe('paused');
    await send('customer.subscription.resumed', context.stripe.updateSubscription(subscriptionId, { status: 'active' }));
    expect(await readMirror(context.db, orgId)).toMatchObject({ status: 'active', lapsedSince: null });
  });

  it('the billing record follows its invoice: failed, action required, uncollectible, paid; another one voided', async () => {
    const invoice = context.stripe.addInvoice({ customer: customerId, subscription: subscriptionId, total: 3600, tax: 600, status: 'open' });
    const invoiceId = invoice.id as string;
    await send('invoice.payment_failed', invoice);
    await send('invoice.payment_action_required', invoice);
    expect(await record(invoiceId)).toMatchObject({ status: 'open', subtotal: 3000, tax: 600, total: 3600, amountPaid: 0 });

    const markedAt = context.clock.seconds;
    await send('invoice.marked_uncollectible', context.stripe.updateInvoice(invoiceId, 'uncollectible', markedAt));
    const uncollectible = await record(invoiceId);
    expect(uncollectible).toMatchObject({ status: 'uncollectible', amountPaid: 0 });
    expect(uncollectible.markedUncollectibleAt?.seconds).toBe(markedAt);

    await send('invoice.paid', context.stripe.updateInvoice(invoiceId, 'paid', context.clock.seconds));
    expect(await record(invoiceId)).toMatchObject({ status: 'paid', amountPaid: 3600 });

    const mistaken = context.stripe.addInvoice({ customer: customerId, subscription: null, total: 500, status: 'open' });
    await send('invoice.finalized', mistaken);
    const voidedAt = context.clock.seconds;
    await send('invoice.voided', context.stripe.updateInvoice(mistaken.id as string, 'void', voidedAt));
    const voided = await record(mistaken.id as string);
    expect(voided).toMatchObject({ status: 'void', total: 500, amountPaid: 0 });
    expect(voided.voidedAt?.seconds).toBe(voidedAt);
  });

  it('refunds (partial, then full) and credit notes reach the billing record', async () => {
    const invoiceId = firstInvoice.id as string;
    const charge = context.stripe.chargeOfInvoice(invoiceId);
    expect(charge?.id).toMatch(/^ch_[A-Za-z0-9]+$/);
    const chargeId = charge?.id as string;

    await send('charge.refunded', context.stripe.refundCharge(chargeId, 2000));
    expect(await record(invoiceId)).toMatchObject({ refunds: { [chargeId]: 2000 }, refundedAmount: 2000, status: 'paid', amountPaid: 7200 });
    await send('charge.refunded', context.stripe.refundCharge(chargeId, 5200));
    expect(await record(invoiceId)).toMatchObject({ refunds: { [chargeId]: 7200 }, refundedAmount: 7200 });

    const note = context.stripe.addCreditNote(invoiceId, 1500);
    expect(note.id).toMatch(/^cn_[A-Za-z0-9]+$/);
    await send('credit_note.created', note);
    expect(await record(invoiceId)).toMatchObject({ creditedAmount: 1500, refundedAmount: 7200, total: 7200, currency: 'usd' });
    await send('credit_note.updated', note);
    await send('credit_note.voided', context.stripe.voidCreditNote(note.id as string));
    expect(await record(invoiceId)).toMatchObject({ creditedAmount: 0, refundedAmount: 7200 });
  });

  it('cancellation and customer deletion', async () => {
    context.stripe.updateSubscription(subscriptionId, { status: 'canceled', canceled_at: context.clock.seconds, ended_at: context.clock.seconds });
    await send('customer.subscription.deleted', context.stripe.subscriptions.get(subscriptionId) as Json);
    expect(await readMirror(context.db, orgId)).toMatchObject({ status: 'canceled' });
    expect((await org()).plan).toBe('free');

    await send('customer.deleted', context.stripe.deleteCustomer(customerId));
    expect(await readMirror(context.db, orgId)).toMatchObject({ customerDeleted: true });
  });
});

describe('coverage', () => {
  it('every handled event type was played in both versions', () => {
    expect([...played].sort()).toEqual([...handledEventTypes].sort());
  });
});
