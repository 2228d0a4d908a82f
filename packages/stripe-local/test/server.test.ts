/**
 * The local Stripe through the real `stripe` client: as strict as Stripe where LeadPulse could notice (ids,
 * errors, paging, expand, idempotency, API version), and events forwarded signed as `stripe listen` does.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_STRIPE_API_VERSION, LocalStripe } from '../src';

let local: LocalStripe;
let client: Stripe;
beforeAll(async () => {
  local = await LocalStripe.start();
  local.prices.add('price_team');
  local.promotionCodes.add('promo_launch20');
  client = local.client();
});
afterAll(async () => local.stop());
beforeEach(() => local.reset());

/** What the client threw, as Stripe's error fields. */
async function refusal(call: () => Promise<unknown>) {
  const error: unknown = await call().then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(Stripe.errors.StripeError);
  const { type, code, param, statusCode, message } = error as Stripe.errors.StripeError;
  return { type, code, param, statusCode, message };
}

const sessionParams = (customer: string): Stripe.Checkout.SessionCreateParams => ({
  mode: 'subscription',
  customer,
  line_items: [{ price: 'price_team', quantity: 2 }],
  success_url: 'https://app.example/done?session={CHECKOUT_SESSION_ID}',
});

describe('ids and objects', () => {
  it('makes ids in Stripe’s test-mode formats', async () => {
    const customer = await client.customers.create({ email: 'a@example.com' });
    expect(customer.id).toMatch(/^cus_[A-Za-z0-9]{14}$/);
    const session = await client.checkout.sessions.create(sessionParams(customer.id));
    expect(session.id).toMatch(/^cs_test_[A-Za-z0-9]{58}$/);
    const { subscription, invoice } = local.completeCheckout(session.id);
    expect(subscription.id).toMatch(/^sub_1[A-Za-z0-9]{23}$/);
    expect(invoice.id).toMatch(/^in_1[A-Za-z0-9]{23}$/);
    expect(local.chargeOfInvoice(invoice.id as string)?.id).toMatch(/^ch_3[A-Za-z0-9]{23}$/);
  });
});

describe('errors as Stripe answers them', () => {
  it('refuses unknown parameters, top-level and nested, naming them', async () => {
    expect(await refusal(() => client.rawRequest('POST', '/v1/customers', { email: 'a@example.com', nickname: 'ace' }))).toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'parameter_unknown',
      param: 'nickname',
      statusCode: 400,
      message: 'Received unknown parameter: nickname',
    });
    const customer = await client.customers.create({});
    const nested = await refusal(() =>
      client.rawRequest('POST', '/v1/checkout/sessions', { ...sessionParams(customer.id), line_items: [{ price: 'price_team', quantity: 1, prices: 'x' }] }),
    );
    expect(nested).toMatchObject({ code: 'parameter_unknown', param: 'line_items[0][prices]' });
    expect(local.checkoutSessions.size).toBe(0);
  });

  it('refuses a checkout without success_url, or naming a price, promotion code or customer Stripe does not have', async () => {
    const customer = await client.customers.create({});
    const { success_url: _omitted, ...withoutSuccessUrl } = sessionParams(customer.id);
    expect(await refusal(() => client.checkout.sessions.create(withoutSuccessUrl))).toMatchObject({ code: 'parameter_missing', param: 'success_url' });
    expect(
      await refusal(() => client.checkout.sessions.create({ ...sessionParams(customer.id), discounts: [{ promotion_code: 'promo_nope' }] })),
    ).toMatchObject({
      code: 'resource_missing',
      param: 'discounts[0][promotion_code]',
      statusCode: 404,
    });
    expect(
      await refusal(() => client.checkout.sessions.create({ ...sessionParams(customer.id), line_items: [{ price: 'price_gone', quantity: 1 }] })),
    ).toMatchObject({
      code: 'resource_missing',
      param: 'line_items[0][price]',
    });
    expect(await refusal(() => client.checkout.sessions.create(sessionParams('cus_NoSuchCustomer1')))).toMatchObject({
      code: 'resource_missing',
      param: 'customer',
    });
    expect(local.checkoutSessions.size).toBe(0);
    // The allowed case: a known promotion code.
    const session = await client.checkout.sessions.create({ ...sessionParams(customer.id), discounts: [{ promotion_code: 'promo_launch20' }] });
    expect(session.status).toBe('open');
  });

  it('refuses a portal configuration Stripe does not have, accepts one it has', async () => {
    const customer = await client.customers.create({});
    expect(await refusal(() => client.billingPortal.sessions.create({ customer: customer.id, configuration: 'bpc_unknown' }))).toMatchObject({
      code: 'resource_missing',
      param: 'configuration',
    });
    local.portalConfigurations.add('bpc_1Known');
    expect((await client.billingPortal.sessions.create({ customer: customer.id, configuration: 'bpc_1Known' })).configuration).toBe('bpc_1Known');
  });

  it('speaks only the pinned API version', async () => {
    expect(await refusal(() => client.rawRequest('GET', '/v1/customers', {}, { apiVersion: '2024-06-20' }))).toMatchObject({
      statusCode: 400,
      param: 'Stripe-Version',
    });
    expect((await client.customers.list()).object).toBe('list');
  });
});

describe('lists, expand, idempotency', () => {
  it('pages with limit, starting_after and has_more, newest first; auto-pagination follows the pages', async () => {
    const customer = local.addCustomer({});
    const subscription = local.addSubscription({ customer: customer.id as string, price: 'price_team', quantity: 1, status: 'past_due' });
    const ids = Array.from(
      { length: 25 },
      () => local.addInvoice({ customer: customer.id as string, subscription: subscription.id as string, total: 100, status: 'open' }).id,
    );
    const first = await client.invoices.list({ subscription: subscription.id as string, status: 'open', limit: 10 });
    expect(first.has_more).toBe(true);
    expect(first.data.map((invoice) => invoice.id)).toEqual(ids.slice(-10).reverse());
    const last = await client.invoices.list({ subscription: subscription.id as string, status: 'open', limit: 10, starting_after: ids[5] as string });
    expect(last).toMatchObject({ has_more: false });
    expect(last.data.map((invoice) => invoice.id)).toEqual(ids.slice(0, 5).reverse());

    local.requests.length = 0;
    const all: string[] = [];
    for await (const invoice of client.invoices.list({ subscription: subscription.id as string, status: 'open', limit: 10 })) all.push(invoice.id);
    expect(all).toEqual([...ids].reverse());
    expect(local.requests.map((request) => request.params.starting_after ?? null)).toEqual([null, ids[15], ids[5]]);
    expect(await refusal(() => client.invoices.list({ limit: 101 }))).toMatchObject({ param: 'limit' });
  });

  it('expands what expand[] names, and refuses what cannot be expanded', async () => {
    const customer = local.addCustomer({ email: 'x@example.com' });
    const subscription = local.addSubscription({ customer: customer.id as string, price: 'price_team', quantity: 1, status: 'active' });
    const plain = await client.subscriptions.retrieve(subscription.id as string);
    expect(plain.customer).toBe(customer.id);
    const expanded = await client.subscriptions.retrieve(subscription.id as string, { expand: ['customer'] });
    expect(expanded.customer).toMatchObject({ id: customer.id, object: 'customer', email: 'x@example.com' });
    const listed = await client.subscriptions.list({ customer: customer.id as string, expand: ['data.customer'] });
    expect(listed.data[0].customer).toMatchObject({ object: 'customer' });
    expect(await refusal(() => client.subscriptions.retrieve(subscription.id as string, { expand: ['status'] }))).toMatchObject({ param: 'expand' });
  });

  it('replays a keyed write with Idempotent-Replayed, and refuses the key with other parameters', async () => {
    const first = await client.customers.create({ email: 'once@example.com' }, { idempotencyKey: 'key-1' });
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    const replay = await client.customers.create({ email: 'once@example.com' }, { idempotencyKey: 'key-1' });
    expect(replay.id).toBe(first.id);
    expect(replay.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(local.customers.size).toBe(1);
    expect(await refusal(() => client.customers.create({ email: 'other@example.com' }, { idempotencyKey: 'key-1' }))).toMatchObject({
      type: 'StripeIdempotencyError',
    });
  });
});

describe('hosted Checkout and forwarded events', () => {
  let receiver: Server;
  const received: Array<{ signature: string; body: string }> = [];
  let receiverUrl: string;
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ signature: String(req.headers['stripe-signature']), body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => new Promise<void>((resolve) => receiver.close(() => resolve())));

  it('paying on the hosted page completes the session, redirects to success_url and forwards signed events in the endpoint’s version', async () => {
    local.forward = { url: receiverUrl, secret: 'whsec_forward_test', apiVersion: '2024-06-20' };
    try {
      const customer = await client.customers.create({});
      const session = await client.checkout.sessions.create(sessionParams(customer.id));
      expect(session.url).toBe(`${local.url}/c/pay/${session.id}`);
      expect((await fetch(session.url as string)).status).toBe(200);
      const paid = await fetch(session.url as string, { method: 'POST', redirect: 'manual' });
      expect(paid.status).toBe(303);
      expect(paid.headers.get('location')).toBe(`https://app.example/done?session=${session.id}`);
      await local.idle();

      const events = received.map(({ signature, body }) =>
        Stripe.webhooks.constructEvent(body, signature, 'whsec_forward_test', 300, undefined, local.now() * 1000),
      );
      expect(events.map((event) => event.type)).toEqual(['customer.subscription.created', 'invoice.finalized', 'invoice.paid', 'checkout.session.completed']);
      for (const event of events) expect(event.api_version).toBe('2024-06-20');
      const subscription = events[0].data.object as unknown as Record<string, unknown>;
      expect(subscription.current_period_start).toEqual(expect.any(Number));
      expect((await client.checkout.sessions.retrieve(session.id)).status).toBe('complete');
      // Stored in the pinned version, retrievable like Stripe's events.
      expect((await client.events.retrieve(events[3].id)).api_version).toBe(LOCAL_STRIPE_API_VERSION);
      expect((await fetch(session.url as string, { method: 'POST', redirect: 'manual' })).status).toBe(404);
    } finally {
      local.forward = null;
    }
  });
});
