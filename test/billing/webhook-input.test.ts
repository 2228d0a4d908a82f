/**
 * Bad input at the webhook: every request that is not a validly signed, well-formed event gets 400 with a clear
 * reason, and nothing is written (checked against a dump of the whole project) nor fetched from Stripe. A signed
 * event that names no object this backend can look up is recorded `failed` (200: Stripe's retries cannot help),
 * and can be replayed after a fix.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { replayStripeEvents } from '../../functions/src/billing/operators';
import { deliver, startWebhookEndpoint } from '../support/stripe-webhook';
import { dumpProject, type ProjectDump } from '../support/snapshot';
import { paths } from '@leadpulse/model';
import { type BillingTestContext, linkNewCustomer, operator, readLedger, readMirror, seedOrg, startBillingTest } from './fixtures';

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

describe('a signed event that cannot be applied is recorded, answered 200, and replayable', () => {
  /** Only the ledger entry of `eventId` was written, and it says why the event failed. */
  async function expectRecordedFailure(eventId: string, reason: string, detail: RegExp) {
    const after = await dumpProject(context.db);
    expect(new Map([...after].filter(([path]) => path !== paths.stripeEvent(eventId)))).toEqual(before);
    expect(await readLedger(context.db, eventId)).toMatchObject({ outcome: 'failed', reason, detail: expect.stringMatching(detail), replayCount: 0 });
  }

  it('reads only the reference: fields it does not rely on may be anything, the rest comes from Stripe', async () => {
    // A payload field this backend does not read (status) and a customer it does not trust (the re-fetch says who).
    const event = context.stripe.event('customer.subscription.updated', { ...subscription, status: 'on_holiday', customer: 42, plan: null });
    const response = await deliver(url(), event, { timestamp: now() });
    expect(response).toEqual({ status: 200, body: { received: true, duplicate: false, outcome: 'applied' } });
    expect((await readMirror(context.db, 'acme'))?.status).toBe('active');
    expect(await readLedger(context.db, event.id as string)).toMatchObject({
      target: { object: 'subscription', id: subscription.id, customer: null },
      customerId: subscription.customer,
    });
  });

  it('an object id that is no Stripe id: failed/invalid_payload naming the field, nothing fetched', async () => {
    const invoice = context.stripe.addInvoice({ customer: subscription.customer as string, subscription: null, total: 1000, status: 'open' });
    const slashed = context.stripe.event('invoice.finalized', { ...invoice, id: 'in_1/../../orgs' });
    const response = await deliver(url(), slashed, { timestamp: now() });
    expect(response).toEqual({ status: 200, body: { received: true, duplicate: false, outcome: 'failed', reason: 'invalid_payload' } });
    expect(context.stripe.requests).toEqual([]);
    await expectRecordedFailure(slashed.id as string, 'invalid_payload', /^data\.object\.id: must be a Stripe id/);

    before = await dumpProject(context.db);
    const wrongObject = context.stripe.event('invoice.paid', { ...invoice, object: 'charge' });
    expect((await deliver(url(), wrongObject, { timestamp: now() })).body).toMatchObject({ outcome: 'failed', reason: 'invalid_payload' });
    await expectRecordedFailure(wrongObject.id as string, 'invalid_payload', /^data\.object\.object: expected "invoice"/);
  });

  it('an object Stripe does not know: failed/stripe_refused; once it exists, the replay applies it', async () => {
    const missing = { ...subscription, id: 'sub_1NotYetKnownToStripe0000' };
    const event = context.stripe.event('customer.subscription.created', missing);
    const response = await deliver(url(), event, { timestamp: now() });
    expect(response).toEqual({ status: 200, body: { received: true, duplicate: false, outcome: 'failed', reason: 'stripe_refused' } });
    await expectRecordedFailure(event.id as string, 'stripe_refused', /^resource_missing: No such subscription: 'sub_1NotYetKnownToStripe0000'/);
    // A redelivery tries again (a failed entry is no duplicate) and fails the same way.
    expect((await deliver(url(), event, { timestamp: now() })).body).toMatchObject({ duplicate: false, outcome: 'failed' });

    context.stripe.addSubscription({
      id: missing.id,
      customer: subscription.customer as string,
      price: 'price_business',
      quantity: 7,
      status: 'active',
      created: now() + 10,
    });
    const replayed = await replayStripeEvents(context.operatorDeps(), operator, { outcome: 'failed' });
    expect(replayed.results).toContainEqual({ eventId: event.id, outcome: 'applied', reason: null, error: null });
    expect(await readMirror(context.db, 'acme')).toMatchObject({ subscriptionId: missing.id, seats: 7, plan: 'business' });
    expect(await readLedger(context.db, event.id as string)).toMatchObject({ outcome: 'applied', reason: null, detail: null, replayCount: 1 });
  });

  it('an invoice without a customer is acknowledged and recorded as ignored, not refused', async () => {
    const invoice = context.stripe.addInvoice({ customer: subscription.customer as string, subscription: null, total: 900, status: 'open' });
    const stored = context.stripe.invoices.get(invoice.id as string) as Record<string, unknown>;
    stored.customer = null;
    const event = context.stripe.event('invoice.finalized', stored);
    expect(await deliver(url(), event, { timestamp: now() })).toEqual({ status: 200, body: { received: true, duplicate: false, outcome: 'ignored' } });
    expect(await readLedger(context.db, event.id as string)).toMatchObject({
      outcome: 'ignored',
      reason: 'no_customer',
      customerId: null,
      target: { customer: null },
    });
    expect((await context.db.doc(paths.billingRecord(invoice.id as string)).get()).exists).toBe(false);
  });

  it('during a secret roll, events signed with either secret are accepted, and no other', async () => {
    const rolling = await startWebhookEndpoint(() => ({ ...context.deps(), webhookSecrets: ['whsec_new_secret', 'whsec_local_test_secret'] }));
    try {
      const event = context.stripe.event('customer.subscription.updated', subscription);
      for (const secret of ['whsec_new_secret', 'whsec_local_test_secret']) {
        expect((await deliver(rolling.url, { ...event, id: `${event.id as string}${secret.length}` }, { secret, timestamp: now() })).status).toBe(200);
      }
      const other = await deliver(rolling.url, event, { secret: 'whsec_someone_else', timestamp: now() });
      expect(other.status).toBe(400);
      expect(other.body.error).toMatch(/^signature verification failed: No signatures found/);
    } finally {
      await rolling.stop();
    }
  });
});
