/**
 * Schema evolution (docs/operations.md): ledger entries and billing mirrors carry their shape version; entries
 * of every version replay, and a release keeps the fields a newer release wrote (rolling deploy, rollback).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FieldValue, type Timestamp } from 'firebase-admin/firestore';
import {
  AUDIT_ENTRY_VERSION,
  BILLING_RECORD_VERSION,
  ORGANIZATION_VERSION,
  paths,
  STRIPE_CUSTOMER_LINK_VERSION,
  STRIPE_EVENT_RECORD_VERSION,
  SUBSCRIPTION_MIRROR_VERSION,
} from '@leadpulse/model';
import { replayStripeEvents } from '../../functions/src/billing/operators';
import { type BillingTestContext, linkNewCustomer, operator, seedOrg, startBillingTest } from './fixtures';

let context: BillingTestContext;
beforeAll(async () => {
  context = await startBillingTest('billing-schema-versions');
});
afterAll(async () => context.close());

/** A version this release does not know yet. */
const NEXT = STRIPE_EVENT_RECORD_VERSION + 1;
const stored = async (path: string) => (await context.db.doc(path).get()).data() ?? {};

/** An organization with a subscription whose paid invoice is in the ledger; returns the event id. */
async function paidInvoice(orgId: string, quantity: number): Promise<{ eventId: string; subscriptionId: string; invoiceId: string; customerId: string }> {
  await seedOrg(context.db, orgId);
  const customerId = await linkNewCustomer(context, orgId);
  const subscription = context.stripe.addSubscription({ customer: customerId, price: 'price_team', quantity, status: 'active' });
  const invoice = context.stripe.addInvoice({ customer: customerId, subscription: subscription.id as string, total: 4500, status: 'paid' });
  const event = context.stripe.event('invoice.paid', invoice);
  expect((await context.send(event)).body).toMatchObject({ outcome: 'applied' });
  return { eventId: event.id as string, subscriptionId: subscription.id as string, invoiceId: invoice.id as string, customerId };
}

describe('schema versions', () => {
  it('stamps the current version on ledger entries and mirrors', async () => {
    const { eventId } = await paidInvoice('ver-stamp', 2);
    const entry = await stored(paths.stripeEvent(eventId));
    expect(entry).toMatchObject({ schemaVersion: STRIPE_EVENT_RECORD_VERSION });
    // The TTL field (firestore.indexes.json): 179 days after receipt, so TTL has deleted the entry by 180 days (P7).
    const millis = (field: string) => (entry[field] as Timestamp).toMillis();
    expect(millis('expiresAt') - millis('receivedAt')).toBe(179 * 24 * 60 * 60 * 1000);
    expect(await stored(paths.subscription('ver-stamp'))).toMatchObject({ schemaVersion: SUBSCRIPTION_MIRROR_VERSION });
  });

  it('stamps billing records and customer links, and stamps a version-1 one when it is rewritten', async () => {
    const { eventId, invoiceId, customerId } = await paidInvoice('ver-records', 2);
    expect(await stored(paths.billingRecord(invoiceId))).toMatchObject({ schemaVersion: BILLING_RECORD_VERSION, orgId: 'ver-records' });
    expect(await stored(paths.stripeCustomer(customerId))).toMatchObject({ schemaVersion: STRIPE_CUSTOMER_LINK_VERSION, orgId: 'ver-records' });

    // Written before versions existed (version 1): read the same, stamped by the next write.
    await context.db.doc(paths.billingRecord(invoiceId)).update({ schemaVersion: FieldValue.delete() });
    await context.db.doc(paths.stripeCustomer(customerId)).update({ schemaVersion: FieldValue.delete() });
    const replay = await replayStripeEvents(context.operatorDeps(), operator, { eventIds: [eventId] });
    expect(replay.results).toEqual([{ eventId, outcome: 'applied', reason: null, error: null }]);
    expect(await stored(paths.billingRecord(invoiceId))).toMatchObject({ schemaVersion: BILLING_RECORD_VERSION, total: 4500 });

    const deleted = context.stripe.event('customer.deleted', context.stripe.deleteCustomer(customerId));
    expect((await context.send(deleted)).body).toMatchObject({ outcome: 'applied' });
    const link = await stored(paths.stripeCustomer(customerId));
    expect(link).toMatchObject({ orgId: 'ver-records', schemaVersion: STRIPE_CUSTOMER_LINK_VERSION });
    expect(link.deletedAt).toBeDefined();
  });

  it('keeps the higher version a newer release stamped on a billing record or a customer link', async () => {
    const { eventId, invoiceId, customerId } = await paidInvoice('ver-records-next', 2);
    await context.db.doc(paths.billingRecord(invoiceId)).update({ schemaVersion: BILLING_RECORD_VERSION + 1, total: 1 });
    await context.db.doc(paths.stripeCustomer(customerId)).update({ schemaVersion: STRIPE_CUSTOMER_LINK_VERSION + 1 });
    const replay = await replayStripeEvents(context.operatorDeps(), operator, { eventIds: [eventId] });
    expect(replay.results).toEqual([{ eventId, outcome: 'applied', reason: null, error: null }]);
    const record = await stored(paths.billingRecord(invoiceId));
    expect(record).toMatchObject({ schemaVersion: BILLING_RECORD_VERSION + 1, total: 4500 });

    const deleted = context.stripe.event('customer.deleted', context.stripe.deleteCustomer(customerId));
    expect((await context.send(deleted)).body).toMatchObject({ outcome: 'applied' });
    expect(await stored(paths.stripeCustomer(customerId))).toMatchObject({ schemaVersion: STRIPE_CUSTOMER_LINK_VERSION + 1 });
  });

  it('replays an entry written before versions existed (version 1), and stamps it', async () => {
    const { eventId, subscriptionId } = await paidInvoice('ver-one', 2);
    await context.db.doc(paths.stripeEvent(eventId)).update({ schemaVersion: FieldValue.delete() });
    await context.db.doc(paths.subscription('ver-one')).update({ schemaVersion: FieldValue.delete() });
    context.stripe.updateSubscription(subscriptionId, { quantity: 5 });

    const report = await replayStripeEvents(context.operatorDeps(), operator, { eventIds: [eventId] });

    expect(report.results).toEqual([{ eventId, outcome: 'applied', reason: null, error: null }]);
    expect(await stored(paths.subscription('ver-one'))).toMatchObject({ seats: 5, schemaVersion: SUBSCRIPTION_MIRROR_VERSION });
    expect(await stored(paths.stripeEvent(eventId))).toMatchObject({ replayCount: 1, schemaVersion: STRIPE_EVENT_RECORD_VERSION });
  });

  it('replays an entry a newer release wrote, keeping the fields it does not know in the entry and the mirror', async () => {
    const { eventId, subscriptionId } = await paidInvoice('ver-next', 2);
    // The next version (not written yet): a field on the entry, one inside its target, one on the mirror.
    await context.db.doc(paths.stripeEvent(eventId)).update({ schemaVersion: NEXT, 'target.account': 'acct_1', refundedAt: null });
    await context.db.doc(paths.subscription('ver-next')).update({ schemaVersion: NEXT, seatsInUse: 2 });
    context.stripe.updateSubscription(subscriptionId, { quantity: 7 });

    const report = await replayStripeEvents(context.operatorDeps(), operator, { eventIds: [eventId] });

    expect(report.results).toEqual([{ eventId, outcome: 'applied', reason: null, error: null }]);
    expect(await stored(paths.subscription('ver-next'))).toMatchObject({ seats: 7, seatsInUse: 2, schemaVersion: NEXT });
    const entry = await stored(paths.stripeEvent(eventId));
    expect(entry).toMatchObject({ schemaVersion: NEXT, replayCount: 1, refundedAt: null, target: { object: 'invoice', account: 'acct_1' } });
  });

  it('replays an entry of version 2, which stored the reduced change instead of the target to re-fetch', async () => {
    const { eventId, subscriptionId } = await paidInvoice('ver-two', 2);
    const current = await stored(paths.stripeEvent(eventId));
    const { target, apiVersion, detail, ...rest } = current as { target: { id: string; customer: string } } & Record<string, unknown>;
    expect({ apiVersion, detail }).toEqual({ apiVersion: expect.any(String), detail: null });
    const invoice = { invoiceId: target.id, invoiceNumber: null, currency: 'usd', total: 4500 };
    await context.db.doc(paths.stripeEvent(eventId)).set({ ...rest, schemaVersion: 2, change: { kind: 'invoice', customerId: target.customer, invoice } });
    context.stripe.updateSubscription(subscriptionId, { quantity: 4 });

    const report = await replayStripeEvents(context.operatorDeps(), operator, { eventIds: [eventId] });

    expect(report.results).toEqual([{ eventId, outcome: 'applied', reason: null, error: null }]);
    expect(await stored(paths.subscription('ver-two'))).toMatchObject({ seats: 4 });
    expect(await stored(paths.stripeEvent(eventId))).toMatchObject({
      schemaVersion: STRIPE_EVENT_RECORD_VERSION,
      replayCount: 1,
      target: { object: 'invoice', id: target.id, customer: target.customer },
    });
  });

  it('applies Stripe events to an organization whose stored name the old rules let through (U+00A0)', async () => {
    await seedOrg(context.db, 'ver-nbsp');
    await context.db.doc(paths.org('ver-nbsp')).update({ name: '\u00a0' });
    const customerId = await linkNewCustomer(context, 'ver-nbsp');
    const subscription = context.stripe.addSubscription({ customer: customerId, price: 'price_team', quantity: 3, status: 'active' });
    expect((await context.send(context.stripe.event('customer.subscription.created', subscription))).body).toMatchObject({ outcome: 'applied' });
    const canceled = context.stripe.updateSubscription(subscription.id as string, {
      status: 'canceled',
      ended_at: context.clock.seconds,
      canceled_at: context.clock.seconds,
    });
    expect((await context.send(context.stripe.event('customer.subscription.deleted', canceled))).status).toBe(200);
    expect(await stored(paths.org('ver-nbsp'))).toMatchObject({ plan: 'free' });
  });

  it("raises the plan change's organization written before versions (1), keeps a newer one's version, and stamps its audit entries", async () => {
    await seedOrg(context.db, 'ver-org');
    // As an older release wrote it: no schemaVersion.
    await context.db.doc(paths.org('ver-org')).update({ schemaVersion: FieldValue.delete() });
    const customerId = await linkNewCustomer(context, 'ver-org');
    const subscription = context.stripe.addSubscription({ customer: customerId, price: 'price_team', quantity: 2, status: 'active' });
    expect((await context.send(context.stripe.event('customer.subscription.created', subscription))).body).toMatchObject({ outcome: 'applied' });
    expect(await stored(paths.org('ver-org'))).toMatchObject({ plan: 'team', schemaVersion: ORGANIZATION_VERSION });

    await context.db.doc(paths.org('ver-org')).update({ schemaVersion: ORGANIZATION_VERSION + 1 });
    const canceled = context.stripe.updateSubscription(subscription.id as string, {
      status: 'canceled',
      ended_at: context.clock.seconds,
      canceled_at: context.clock.seconds,
    });
    expect((await context.send(context.stripe.event('customer.subscription.deleted', canceled))).body).toMatchObject({ outcome: 'applied' });
    expect(await stored(paths.org('ver-org'))).toMatchObject({ plan: 'free', schemaVersion: ORGANIZATION_VERSION + 1 });
    const audit = await context.db.collection(paths.auditLog('ver-org')).where('action', '==', 'billing.subscription_changed').get();
    expect(audit.size).toBeGreaterThan(0);
    for (const entry of audit.docs) expect(entry.get('schemaVersion')).toBe(AUDIT_ENTRY_VERSION);
  });
});
