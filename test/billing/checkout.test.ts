/**
 * The checkout and billing portal callables against the local Stripe server: who may call them, what the
 * server-side allow-list lets a client choose, idempotency keys on every Stripe write, and (P13) exactly what
 * leaves for Stripe.
 */
import { randomUUID } from 'node:crypto';
import { Timestamp } from 'firebase-admin/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntrySchema, contactSchema, messageSchema, paths } from '@leadpulse/model';
import { createBillingPortalSession, createCheckoutSession } from '../../functions/src/billing/checkout';
import type { Caller } from '../../functions/src/common/callable';
import { expectRefusedWithoutChange } from '../support/snapshot';
import { readMirror, seedOrg, startBillingTest, type BillingTestContext } from './fixtures';
import { present } from '../support/present';

let context: BillingTestContext;

const callerOf = (uid: string, email: string | null = `${uid}@example.com`): Caller => ({
  uid,
  email,
  emailVerified: email !== null,
  claims: {},
});
const owner = callerOf('shop-owner');

/** Personal data of the organization's CRM that must never reach Stripe. */
const crmSecrets = ['Zebulon Quartermaine', 'zebulon@private.example', '+1 555 0199', 'merger plans for Q3', 'shop-member@example.com'];

beforeAll(async () => {
  context = await startBillingTest('billing-checkout');
  await seedOrg(context.db, 'shop', [
    { uid: 'shop-owner', role: 'owner' },
    { uid: 'shop-admin', role: 'admin' },
    { uid: 'shop-member', role: 'member' },
    { uid: 'shop-viewer', role: 'viewer' },
  ]);
  await seedOrg(context.db, 'other', [{ uid: 'other-owner', role: 'owner' }]);
  const now = Timestamp.fromMillis(context.clock.seconds * 1000);
  await context.db.doc(paths.contact('shop', 'c1')).set(
    contactSchema.parse({
      name: 'Zebulon Quartermaine',
      email: 'zebulon@private.example',
      phone: '+1 555 0199',
      status: 'lead',
      createdBy: 'shop-member',
      createdAt: now,
      updatedAt: now,
    }),
  );
  await context.db
    .doc(paths.message('shop', 'm1'))
    .set(messageSchema.parse({ contactId: 'c1', channel: 'email', direction: 'outbound', body: 'merger plans for Q3', sentBy: 'shop-member', sentAt: now }));
});
afterAll(async () => context.close());

const checkout = (caller: Caller, data: Record<string, unknown>) => createCheckoutSession(context.checkoutDeps(), caller, data);
const portal = (caller: Caller, data: Record<string, unknown>) => createBillingPortalSession(context.checkoutDeps(), caller, data);
const stripeWrites = () => context.stripe.requests.filter((request) => request.method === 'POST');

describe('createCheckoutSession', () => {
  it('refuses admins, members, viewers, other organizations and signed-out-of-org callers, before calling Stripe', async () => {
    const args = { orgId: 'shop', plan: 'team', seats: 3, requestId: randomUUID() };
    for (const uid of ['shop-admin', 'shop-member', 'shop-viewer', 'other-owner', 'stranger']) {
      await expectRefusedWithoutChange(context.db, () => checkout(callerOf(uid), args), 'permission-denied');
    }
    expect(context.stripe.requests).toEqual([]);
  });

  it('lets the client choose only among allowed plans, seat counts and promotion codes', async () => {
    const base = { orgId: 'shop', requestId: randomUUID() };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...base, plan: 'enterprise', seats: 3 }, 'plan: "enterprise" is not an available plan'],
      [{ ...base, plan: 'business', seats: 2 }, 'seats: the business plan takes 5 to 500 seats'],
      [{ ...base, plan: 'team', seats: 51 }, 'seats: the team plan takes 1 to 50 seats'],
      [{ ...base, plan: 'team', seats: 0 }, 'seats: '],
      [{ ...base, plan: 'team', seats: 3, promotionCode: 'FREE100' }, 'promotionCode: is not an available promotion code'],
      // A name every object inherits is not a plan.
      [{ ...base, plan: 'constructor', seats: 3 }, 'plan: "constructor" is not an available plan'],
      [{ ...base, plan: 'team', seats: 3, priceId: 'price_cheap' }, 'priceId'],
      [{ ...base, plan: 'team', seats: 3, trialDays: 365 }, 'trialDays'],
      [{ ...base, plan: 'team', seats: 3, successUrl: 'https://evil.example' }, 'successUrl'],
      [{ orgId: 'shop', plan: 'team', seats: 3 }, 'requestId'],
    ];
    for (const [args, message] of cases) {
      const error = await expectRefusedWithoutChange(context.db, () => checkout(owner, args), 'invalid-argument');
      expect(error.message, JSON.stringify(args)).toContain(message);
    }
    expect(context.stripe.requests).toEqual([]);
  });

  it('creates one customer for the organization and a session with the catalog’s price and trial', async () => {
    const requestId = randomUUID();
    const session = await checkout(owner, { orgId: 'shop', plan: 'team', seats: 3, promotionCode: 'LAUNCH20', requestId });
    expect(session.url).toBe(`${context.stripe.url}/c/pay/${session.sessionId}`);
    expect(session.sessionId).toMatch(/^cs_test_[A-Za-z0-9]+$/);

    const [createCustomer, createSession] = stripeWrites();
    expect(createCustomer).toMatchObject({ path: '/v1/customers', params: { email: 'shop-owner@example.com', metadata: { orgId: 'shop' } } });
    expect(createSession.path).toBe('/v1/checkout/sessions');
    expect(createSession.params).toEqual({
      mode: 'subscription',
      customer: [...context.stripe.customers.keys()][0],
      client_reference_id: 'shop',
      line_items: [{ price: 'price_team', quantity: '3' }],
      subscription_data: { metadata: { orgId: 'shop' }, trial_period_days: '14' },
      discounts: [{ promotion_code: 'promo_launch20' }],
      metadata: { orgId: 'shop' },
      success_url: 'https://app.leadpulse.test/orgs/shop/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}',
      cancel_url: 'https://app.leadpulse.test/orgs/shop/billing?checkout=cancelled',
    });
    const mirror = await readMirror(context.db, 'shop');
    expect(mirror).toMatchObject({ subscriptionId: null, status: null, customerDeleted: false, access: 'full' });
    expect(context.stripe.customers.size).toBe(1);

    // The owner starts another attempt: same customer, a new session.
    const second = await checkout(owner, { orgId: 'shop', plan: 'business', seats: 6, requestId: randomUUID() });
    expect(second.sessionId).not.toBe(session.sessionId);
    expect(context.stripe.customers.size).toBe(1);
    expect(context.stripe.checkoutSessions.get(second.sessionId)?.customer).toBe(mirror?.customerId);

    const audit = (await context.db.collection(paths.auditLog('shop')).get()).docs.map((doc) => auditEntrySchema.parse(doc.data()));
    expect(audit.filter((entry) => entry.action === 'billing.checkout_started').map((entry) => [entry.actorUid, entry.details])).toEqual(
      expect.arrayContaining([
        ['shop-owner', { plan: 'team', seats: 3, trialDays: 14, promotionCode: 'LAUNCH20' }],
        ['shop-owner', { plan: 'business', seats: 6, trialDays: null, promotionCode: null }],
      ]),
    );
  });

  it('a retried call with the same requestId returns the same session; reusing it for other parameters is refused', async () => {
    const requestId = randomUUID();
    const first = await checkout(owner, { orgId: 'shop', plan: 'team', seats: 4, requestId });
    const retried = await checkout(owner, { orgId: 'shop', plan: 'team', seats: 4, requestId });
    expect(retried).toEqual(first);
    const reused = await expectRefusedWithoutChange(context.db, () => checkout(owner, { orgId: 'shop', plan: 'team', seats: 5, requestId }), 'already-exists');
    expect(reused.message).toBe('requestId was already used for a different request; send a new requestId');
  });

  it('after the subscription starts, checkout is refused and the portal opens; a later checkout gets no second trial', async () => {
    const started = await checkout(owner, { orgId: 'shop', plan: 'team', seats: 3, requestId: randomUUID() });
    const { session, subscription } = context.stripe.completeCheckout(started.sessionId);
    await context.send(context.stripe.event('checkout.session.completed', session));
    expect(await readMirror(context.db, 'shop')).toMatchObject({ status: 'trialing', plan: 'team', seats: 3 });

    await expectRefusedWithoutChange(
      context.db,
      () => checkout(owner, { orgId: 'shop', plan: 'business', seats: 5, requestId: randomUUID() }),
      'failed-precondition',
    );
    // The portal can cancel the subscription: the owner's alone.
    for (const uid of ['shop-admin', 'shop-member', 'shop-viewer']) {
      await expectRefusedWithoutChange(context.db, () => portal(callerOf(uid), { orgId: 'shop', requestId: randomUUID() }), 'permission-denied');
    }
    const portalRequest = randomUUID();
    const opened = await portal(owner, { orgId: 'shop', requestId: portalRequest });
    expect(opened.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/p\/session\/bps_/);
    const portalCall = present(stripeWrites().at(-1), 'the portal request');
    expect(portalCall).toMatchObject({
      path: '/v1/billing_portal/sessions',
      params: { customer: subscription.customer, return_url: 'https://app.leadpulse.test/orgs/shop/billing' },
      idempotencyKey: `portal-shop-${portalRequest}`,
    });

    context.clock.seconds += 60;
    context.stripe.updateSubscription(subscription.id as string, { status: 'canceled', ended_at: context.clock.seconds });
    await context.send(
      context.stripe.event('customer.subscription.deleted', present(context.stripe.subscriptions.get(subscription.id as string), 'the subscription')),
    );
    await checkout(owner, { orgId: 'shop', plan: 'team', seats: 3, requestId: randomUUID() });
    const renewed = present(stripeWrites().at(-1), 'the renewal request');
    expect(renewed.path).toBe('/v1/checkout/sessions');
    expect(renewed.params.subscription_data).toEqual({ metadata: { orgId: 'shop' } });
  });

  it('the portal needs a billing account first', async () => {
    await expectRefusedWithoutChange(context.db, () => portal(callerOf('other-owner'), { orgId: 'other', requestId: randomUUID() }), 'failed-precondition');
  });

  it('a caller without a verified e-mail must name the billing e-mail', async () => {
    const unverified: Caller = { uid: 'other-owner', email: 'other-owner@example.com', emailVerified: false, claims: {} };
    const error = await expectRefusedWithoutChange(
      context.db,
      () => checkout(unverified, { orgId: 'other', plan: 'team', seats: 1, requestId: randomUUID() }),
      'invalid-argument',
    );
    expect(error.message).toContain('billingEmail');
    await checkout(unverified, { orgId: 'other', plan: 'team', seats: 1, billingEmail: 'ap@other.example', requestId: randomUUID() });
    expect(stripeWrites().find((request) => request.path === '/v1/customers' && request.params.email === 'ap@other.example')).toBeDefined();
  });
});

describe('what Stripe receives (P13)', () => {
  it('every write carried an idempotency key', () => {
    expect(stripeWrites().length).toBeGreaterThan(5);
    for (const request of stripeWrites()) expect(request.idempotencyKey, `${request.method} ${request.path}`).toMatch(/^[a-z]+-/);
  });

  it('customers get the organization id and the billing e-mail, nothing else; no CRM data ever left', () => {
    for (const request of context.stripe.requests) {
      for (const secret of crmSecrets) expect(decodeURIComponent(request.raw)).not.toContain(secret);
      if (request.path === '/v1/customers') {
        expect(Object.keys(request.params).sort()).toEqual(['email', 'metadata']);
        expect(Object.keys(request.params.metadata as object)).toEqual(['orgId']);
      }
      const metadata = [request.params.metadata, (request.params.subscription_data as { metadata?: unknown } | undefined)?.metadata];
      for (const value of metadata) if (value !== undefined) expect(Object.keys(value as object)).toEqual(['orgId']);
    }
    const sentEmails = context.stripe.requests.flatMap((request) => decodeURIComponent(request.raw).match(/[\w.+-]+@[\w.-]+/g) ?? []);
    expect(new Set(sentEmails)).toEqual(new Set(['shop-owner@example.com', 'ap@other.example']));
  });
});
