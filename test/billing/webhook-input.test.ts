/**
 * Bad input at the webhook: every request that is not a validly signed, well-formed event gets 400 with a clear
 * reason, and nothing is written (checked against a dump of the whole project) nor fetched from Stripe.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deliver } from '../support/stripe-webhook';
import { dumpProject, type ProjectDump } from '../support/snapshot';
import { linkNewCustomer, readLedger, readMirror, seedOrg, startBillingTest, type BillingTestContext } from './fixtures';

let context: BillingTestContext;
let subscription: Record<string, unknown>;
let before: ProjectDump;

beforeAll(async () => {
  context = await startBillingTest('billing-input');
  await seedOrg(context.db, 'acme');
  const customerId = await linkNewCustomer(context, 'acme');
  subscription = context.stripe.addSubscription({ customer: customerId, price: 'price_team', quantity: 3, status: 'active' });
});
afterAll(async () => context.close());

beforeEach(async () => {
  before = await dumpProject(context.db);
  context.stripe.requests.length = 0;
});

/** The request changed nothing in Firestore and asked Stripe for nothing. */
async function expectNothingWritten(): Promise<void> {
  expect(await dumpProject(context.db)).toEqual(before);
  expect(context.stripe.requests).toEqual([]);
}

const url = () => context.endpoint.url;
const now = () => context.clock.seconds;

describe('stripeWebhook rejects what is not a valid signed event', () => {
  it('refuses a request without Stripe-Signature', async () => {
    const event = context.stripe.event('customer.subscription.updated', subscription);
    const response = await deliver(url(), event, { signature: null });
    expect(response).toEqual({ status: 400, body: { error: 'missing Stripe-Signature header' } });
    await expectNothingWritten();
  });

  it('refuses a signature made with another secret', async () => {
    const event = context.stripe.event('customer.subscription.updated', subscription);
    const response = await deliver(url(), event, { secret: 'whsec_someone_else', timestamp: now() });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/^signature verification failed: No signatures found matching the expected signature/);
    await expectNothingWritten();
  });

  it('refuses a body changed after signing', async () => {
    const event = context.stripe.event('customer.subscription.updated', subscription);
    const signed = JSON.stringify(event);
    const signature = Stripe.webhooks.generateTestHeaderString({ payload: signed, secret: 'whsec_local_test_secret', timestamp: now() });
    const tampered = signed.replace('"active"', '"canceled"');
    const response = await deliver(url(), tampered, { signature });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/^signature verification failed/);
    await expectNothingWritten();
  });

  it('refuses a header without a v1 signature', async () => {
    const event = context.stripe.event('customer.subscription.updated', subscription);
    const response = await deliver(url(), event, { signature: `t=${now()}` });
    expect(response).toEqual({ status: 400, body: { error: 'signature verification failed: No signatures found with expected scheme' } });
    await expectNothingWritten();
  });

  it('refuses a signature older than 5 minutes, accepts one just inside', async () => {
    const stale = context.stripe.event('customer.subscription.updated', subscription);
    const expired = await deliver(url(), stale, { timestamp: now() - 301 });
    expect(expired).toEqual({ status: 400, body: { error: 'signature verification failed: Timestamp outside the tolerance zone' } });
    await expectNothingWritten();

    const fresh = context.stripe.event('customer.subscription.updated', subscription);
    const accepted = await deliver(url(), fresh, { timestamp: now() - 299 });
    expect(accepted).toEqual({ status: 200, body: { received: true, duplicate: false, outcome: 'applied' } });
    expect((await readLedger(context.db, fresh.id as string))?.outcome).toBe('applied');
    expect((await readMirror(context.db, 'acme'))?.seats).toBe(3);
  });

  it('refuses a validly signed body that is not JSON', async () => {
    const response = await deliver(url(), '{"id": "evt_1", "object": "event", ', { timestamp: now() });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/^body is not valid JSON: /);
    await expectNothingWritten();
  });

  it('refuses signed JSON that is not an event object', async () => {
    const response = await deliver(url(), '[1, 2, 3]', { timestamp: now() });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/^invalid event: \(event\): /);
    await expectNothingWritten();
  });

  it('refuses an empty body', async () => {
    const response = await deliver(url(), '', { timestamp: now() });
    expect(response).toEqual({ status: 400, body: { error: 'empty body' } });
    await expectNothingWritten();
  });

  it('refuses a signed event whose envelope fails the schema, naming the field', async () => {
    const event = context.stripe.event('customer.subscription.updated', subscription);
    delete event.created;
    const response = await deliver(url(), event, { timestamp: now() });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/^invalid event: created: /);
    await expectNothingWritten();
  });

  it('refuses a signed subscription event whose object fails the schema, naming the field', async () => {
    const event = context.stripe.event('customer.subscription.updated', { ...subscription, status: 'on_holiday' });
    const response = await deliver(url(), event, { timestamp: now() });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/^invalid customer\.subscription\.updated event: data\.object\.status: /);
    await expectNothingWritten();

    const noCustomer = context.stripe.event('customer.subscription.updated', { ...subscription, customer: 42 });
    const second = await deliver(url(), noCustomer, { timestamp: now() });
    expect(second.status).toBe(400);
    expect(second.body.error).toMatch(/^invalid customer\.subscription\.updated event: data\.object\.customer: /);
    await expectNothingWritten();
  });

  it('refuses a signed invoice event with a fractional amount and an id that is no document id', async () => {
    const invoice = context.stripe.addInvoice({ customer: 'cus_nobody', subscription: null, total: 1000, status: 'open' });
    const fractional = await deliver(url(), context.stripe.event('invoice.finalized', { ...invoice, total: 10.5 }), { timestamp: now() });
    expect(fractional.status).toBe(400);
    expect(fractional.body.error).toMatch(/^invalid invoice\.finalized event: data\.object\.total: /);
    const slashed = await deliver(url(), context.stripe.event('invoice.finalized', { ...invoice, id: 'in_1/../../orgs' }), { timestamp: now() });
    expect(slashed.status).toBe(400);
    expect(slashed.body.error).toMatch(/^invalid invoice\.finalized event: data\.object\.id: must be a Stripe id/);
    await expectNothingWritten();
  });

  it('acknowledges event types it does not act on without writing', async () => {
    const event = context.stripe.event('charge.succeeded', { id: 'ch_1', object: 'charge', amount: 1200 });
    const response = await deliver(url(), event, { timestamp: now() });
    expect(response).toEqual({ status: 200, body: { received: true, ignored: true } });
    await expectNothingWritten();
  });

  it('answers 405 to anything but POST', async () => {
    const response = await fetch(url(), { method: 'GET' });
    expect(response.status).toBe(405);
    await expectNothingWritten();
  });
});
