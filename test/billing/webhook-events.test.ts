/**
 * The webhook end to end: signed events over HTTP to the real handler, the real stripe client re-fetching from the
 * local Stripe server, Firestore on the emulator. Each test uses its own organization.
 */
import type { DocumentData, DocumentReference, Firestore, Transaction } from 'firebase-admin/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntrySchema, billingRecordSchema, memberSchema, organizationSchema, paths, type AuditEntry } from '@leadpulse/model';
import { sweepLapsedGrace } from '../../functions/src/billing/grace-sweep';
import { linkStripeCustomer, replayStripeEvents } from '../../functions/src/billing/operators';
import type { Caller } from '../../functions/src/common/callable';
import { dumpProject, storedText } from '../support/snapshot';
import { deliver, startWebhookEndpoint } from '../support/stripe-webhook';
import { DAY_SECONDS, linkNewCustomer, readLedger, readMirror, seedOrg, startBillingTest, type BillingTestContext } from './fixtures';
import { countReads, installReadCounter } from './read-counter';
import { present } from '../support/present';

let context: BillingTestContext;
beforeAll(async () => {
  installReadCounter();
  context = await startBillingTest('billing-events');
});
afterAll(async () => context.close());

const team = [
  { uid: 'u-owner', role: 'owner' as const },
  { uid: 'u-admin', role: 'admin' as const },
  { uid: 'u-member', role: 'member' as const },
  { uid: 'u-viewer', role: 'viewer' as const },
];

async function seedSubscribedOrg(orgId: string, status: 'active' | 'trialing' = 'active') {
  await seedOrg(
    context.db,
    orgId,
    team.map((member) => ({ ...member, uid: `${orgId}-${member.uid}` })),
  );
  const customerId = await linkNewCustomer(context, orgId);
  const subscription = context.stripe.addSubscription({
    customer: customerId,
    price: 'price_team',
    quantity: 3,
    status,
    trialEnd: status === 'trialing' ? context.clock.seconds + 14 * DAY_SECONDS : null,
  });
  return { customerId, subscription, subscriptionId: subscription.id as string };
}

async function accessOf(orgId: string) {
  const org = organizationSchema.parse((await context.db.doc(paths.org(orgId)).get()).data());
  const members = await context.db.collection(paths.members(orgId)).get();
  return { org: org.access, plan: org.plan, members: members.docs.map((doc) => memberSchema.parse(doc.data()).access) };
}

async function auditOf(orgId: string): Promise<AuditEntry[]> {
  const snapshot = await context.db.collection(paths.auditLog(orgId)).orderBy('at').get();
  return snapshot.docs.map((doc) => auditEntrySchema.parse(doc.data()));
}

const advance = (seconds: number) => {
  context.clock.seconds += seconds;
};
const operator: Caller = { uid: 'ops-1', email: 'ops@leadpulse.test', emailVerified: true, claims: { operator: true } };
/** Auth as the operator check reads it: only ops-1 still holds the claim. */
const operatorAuth = { customClaims: async (uid: string): Promise<Record<string, unknown>> => (uid === operator.uid ? { operator: true } : {}) };
const operatorDeps = () => ({ ...context.deps(), operators: operatorAuth });

describe('events drive the organization from Stripe’s truth', () => {
  it('checkout.session.completed mirrors the trial, sets plan and access, and audits it', async () => {
    await seedOrg(
      context.db,
      'acme',
      team.map((member) => ({ ...member, uid: `acme-${member.uid}` })),
    );
    const customerId = await linkNewCustomer(context, 'acme');
    const created = await context.stripe.client().checkout.sessions.create({
      mode: 'subscription',
      customer: customerId,
      line_items: [{ price: 'price_team', quantity: 3 }],
      subscription_data: { trial_period_days: 14, metadata: { orgId: 'acme' } },
      success_url: 'https://app.leadpulse.test/done',
    });
    expect(created.id).toMatch(/^cs_test_[A-Za-z0-9]+$/);
    const { session, subscription } = context.stripe.completeCheckout(created.id);
    const subscriptionId = subscription.id as string;
    const event = context.stripe.event('checkout.session.completed', session);
    expect(await context.send(event)).toEqual({ status: 200, body: { received: true, duplicate: false, outcome: 'applied' } });

    const mirror = await readMirror(context.db, 'acme');
    expect(mirror).toMatchObject({
      customerId,
      subscriptionId,
      status: 'trialing',
      plan: 'team',
      priceId: 'price_team',
      seats: 3,
      cancelAtPeriodEnd: false,
      lapsedSince: null,
      access: 'full',
      lastEventCreated: event.created,
    });
    expect(mirror?.trialEnd?.seconds).toBe(context.clock.seconds + 14 * DAY_SECONDS);
    expect(await accessOf('acme')).toEqual({ org: 'full', plan: 'team', members: ['full', 'full', 'full', 'full'] });
    const audit = await auditOf('acme');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      action: 'billing.subscription_changed',
      actorUid: 'system:stripe',
      targetId: subscriptionId,
      details: { eventId: event.id, status: 'trialing', plan: 'team', seats: 3, access: 'full' },
    });
    expect(await readLedger(context.db, event.id as string)).toMatchObject({
      type: 'checkout.session.completed',
      outcome: 'applied',
      orgId: 'acme',
      customerId,
      target: { object: 'checkout.session', id: created.id, customer: customerId },
      reason: null,
      detail: null,
      replayCount: 0,
    });
  });

  it('re-fetches the subscription: a stale payload cannot put an old seat count back', async () => {
    const { subscription, subscriptionId } = await seedSubscribedOrg('seats');
    context.stripe.updateSubscription(subscriptionId, { quantity: 8 });
    // The payload still says 3 seats (Stripe's snapshot when the event was made); Stripe now says 8.
    const event = context.stripe.event('customer.subscription.updated', subscription);
    await context.send(event);
    expect((await readMirror(context.db, 'seats'))?.seats).toBe(8);
    expect(context.stripe.requests.some((request) => request.method === 'GET' && request.path === `/v1/subscriptions/${subscriptionId}`)).toBe(true);
  });

  it('an event older than the watermark is stale: no change', async () => {
    const { subscription, subscriptionId } = await seedSubscribedOrg('order');
    const older = context.stripe.event('customer.subscription.created', subscription, { created: context.clock.seconds - 60 });
    context.stripe.updateSubscription(subscriptionId, { quantity: 5 });
    const newer = context.stripe.event('customer.subscription.updated', present(context.stripe.subscriptions.get(subscriptionId), 'the subscription'));
    await context.send(newer);
    const mirrorBefore = await readMirror(context.db, 'order');
    context.stripe.requests.length = 0;

    expect(await context.send(older)).toEqual({ status: 200, body: { received: true, duplicate: false, outcome: 'stale' } });
    // Stripe is asked before the transaction (never while it holds the organization's documents): one read, no write.
    expect(context.stripe.requests.map((request) => `${request.method} ${request.path}`)).toEqual([`GET /v1/subscriptions/${subscriptionId}`]);
    expect(await readMirror(context.db, 'order')).toEqual(mirrorBefore);
    expect(mirrorBefore?.lastEventCreated).toBe(newer.created);
  });

  it('a duplicate is acknowledged, costs one document read and nothing else', async () => {
    const { subscription } = await seedSubscribedOrg('dupes');
    const event = context.stripe.event('customer.subscription.updated', subscription);
    const first = await countReads(() => context.send(event));
    expect(first.result.body).toEqual({ received: true, duplicate: false, outcome: 'applied' });
    const dump = await dumpProject(context.db);
    context.stripe.requests.length = 0;

    const second = await countReads(() => context.send(event));
    expect(second.result).toEqual({ status: 200, body: { received: true, duplicate: true, outcome: 'applied' } });
    expect(second.reads).toBe(1);
    expect(first.reads).toBeGreaterThan(1);
    expect(context.stripe.requests).toEqual([]);
    expect(await dumpProject(context.db)).toEqual(dump);
  });

  it('past_due keeps full access through the grace period, then read-only for every member; paying restores it', async () => {
    const { customerId, subscriptionId } = await seedSubscribedOrg('lapse');
    await context.send(context.stripe.event('customer.subscription.created', present(context.stripe.subscriptions.get(subscriptionId), 'the subscription')));

    const failedAt = context.clock.seconds;
    const invoice = context.stripe.addInvoice({ customer: customerId, subscription: subscriptionId, total: 3600, tax: 600, status: 'open' });
    context.stripe.updateSubscription(subscriptionId, { status: 'past_due' });
    advance(60);
    await context.send(context.stripe.event('invoice.payment_failed', invoice));
    const lapsed = await readMirror(context.db, 'lapse');
    expect(lapsed).toMatchObject({ status: 'past_due', access: 'full' });
    expect(lapsed?.lapsedSince?.seconds).toBe(failedAt);
    expect(await accessOf('lapse')).toEqual({ org: 'full', plan: 'team', members: ['full', 'full', 'full', 'full'] });

    // Stripe retries the payment; its next failure arrives after the grace period: read-only for everyone.
    advance(7 * DAY_SECONDS);
    await context.send(context.stripe.event('invoice.payment_failed', invoice));
    expect(await accessOf('lapse')).toEqual({ org: 'read_only', plan: 'team', members: ['read_only', 'read_only', 'read_only', 'read_only'] });
    expect((await readMirror(context.db, 'lapse'))?.lapsedSince?.seconds).toBe(failedAt);

    advance(60);
    context.stripe.updateInvoice(invoice.id as string, 'paid');
    context.stripe.updateSubscription(subscriptionId, { status: 'active' });
    await context.send(context.stripe.event('invoice.paid', present(context.stripe.invoices.get(invoice.id as string), 'the invoice')));
    expect(await readMirror(context.db, 'lapse')).toMatchObject({ status: 'active', lapsedSince: null, access: 'full' });
    expect(await accessOf('lapse')).toEqual({ org: 'full', plan: 'team', members: ['full', 'full', 'full', 'full'] });
    const actions = (await auditOf('lapse')).map((entry) => [entry.details?.status, entry.details?.access]);
    expect(actions).toEqual([
      ['active', 'full'],
      ['past_due', 'full'],
      ['past_due', 'read_only'],
      ['active', 'full'],
    ]);
  });

  it('a canceled subscription goes back to the free plan and turns read-only when the grace sweep runs', async () => {
    const { subscriptionId } = await seedSubscribedOrg('churn');
    await context.send(context.stripe.event('customer.subscription.created', present(context.stripe.subscriptions.get(subscriptionId), 'the subscription')));
    const endedAt = context.clock.seconds;
    context.stripe.updateSubscription(subscriptionId, { status: 'canceled', ended_at: endedAt, canceled_at: endedAt });
    await context.send(context.stripe.event('customer.subscription.deleted', present(context.stripe.subscriptions.get(subscriptionId), 'the subscription')));
    expect(await readMirror(context.db, 'churn')).toMatchObject({ status: 'canceled', access: 'full' });
    expect(await accessOf('churn')).toEqual({ org: 'full', plan: 'free', members: ['full', 'full', 'full', 'full'] });

    advance(6 * DAY_SECONDS);
    const early = await sweepLapsedGrace({ db: context.db, clock: () => new Date(context.clock.seconds * 1000) });
    expect(early.changed).toBe(0);
    expect((await accessOf('churn')).org).toBe('full');

    advance(DAY_SECONDS);
    const due = await sweepLapsedGrace({ db: context.db, clock: () => new Date(context.clock.seconds * 1000) });
    expect(due.changed).toBeGreaterThanOrEqual(1);
    expect(await accessOf('churn')).toEqual({ org: 'read_only', plan: 'free', members: ['read_only', 'read_only', 'read_only', 'read_only'] });
    expect((await readMirror(context.db, 'churn'))?.access).toBe('read_only');
    const again = await sweepLapsedGrace({ db: context.db, clock: () => new Date(context.clock.seconds * 1000) });
    expect(again.checked).toBe(0);
  });
});

describe('billing records (P6)', () => {
  it('keeps only the tax fields, for 7 years, whatever order the invoice events arrive in', async () => {
    const { customerId, subscriptionId } = await seedSubscribedOrg('books');
    const issuedAt = context.clock.seconds;
    const invoice = context.stripe.addInvoice({
      customer: customerId,
      subscription: subscriptionId,
      total: 3600,
      tax: 600,
      status: 'open',
      customerName: 'Ada Buyer',
      customerEmail: 'ada.buyer@private.example',
    });
    const finalized = context.stripe.event('invoice.finalized', invoice);
    advance(120);
    const paid = context.stripe.event('invoice.paid', context.stripe.updateInvoice(invoice.id as string, 'paid'));

    await context.send(paid);
    await context.send(finalized);
    const snapshot = await context.db.doc(paths.billingRecord(invoice.id as string)).get();
    const record = billingRecordSchema.parse(snapshot.data());
    expect(Object.keys(present(snapshot.data(), 'the document')).sort()).toEqual(
      [
        'amountDue',
        'amountPaid',
        'creditedAmount',
        'currency',
        'customerId',
        'fetchedAt',
        'invoiceId',
        'invoiceNumber',
        'issuedAt',
        'markedUncollectibleAt',
        'orgId',
        'paidAt',
        'refundedAmount',
        'refunds',
        'retainUntil',
        'schemaVersion',
        'status',
        'subtotal',
        'tax',
        'total',
        'voidedAt',
      ].sort(),
    );
    expect(record).toMatchObject({
      invoiceId: invoice.id,
      customerId,
      orgId: 'books',
      currency: 'usd',
      subtotal: 3000,
      tax: 600,
      total: 3600,
      amountPaid: 3600,
      status: 'paid',
    });
    expect(record.issuedAt.seconds).toBe(issuedAt);
    expect(record.paidAt?.seconds).toBe(issuedAt + 120);
    const retainUntil = record.retainUntil.toDate();
    const expected = new Date(issuedAt * 1000);
    expected.setUTCFullYear(expected.getUTCFullYear() + 7);
    expect(retainUntil.toISOString()).toBe(expected.toISOString());
    // The ledger keeps the event's reference, not the payload (which names the customer's people).
    expect((await readLedger(context.db, finalized.id as string))?.target).toEqual({ object: 'invoice', id: invoice.id, customer: customerId });

    const everything = storedText(await dumpProject(context.db));
    expect(everything).not.toContain('Ada Buyer');
    expect(everything).not.toContain('ada.buyer@private.example');
    expect(everything).not.toContain('Main St');
  });

  it('survives the organization’s deletion, and late invoice events still update it', async () => {
    const { customerId, subscriptionId } = await seedSubscribedOrg('gone');
    const invoice = context.stripe.addInvoice({ customer: customerId, subscription: subscriptionId, total: 1200, status: 'open' });
    await context.send(context.stripe.event('invoice.finalized', invoice));
    // The retention job purges everything under the organization.
    await context.db.recursiveDelete(context.db.doc(paths.org('gone')));

    advance(60);
    const paid = context.stripe.event('invoice.paid', context.stripe.updateInvoice(invoice.id as string, 'paid'));
    expect(await context.send(paid)).toEqual({ status: 200, body: { received: true, duplicate: false, outcome: 'applied' } });
    const record = billingRecordSchema.parse((await context.db.doc(paths.billingRecord(invoice.id as string)).get()).data());
    expect(record).toMatchObject({ orgId: 'gone', status: 'paid' });
    expect((await context.db.doc(paths.subscription('gone')).get()).exists).toBe(false);
    expect((await context.db.doc(paths.org('gone')).get()).exists).toBe(false);
  });
});

describe('unmatched events', () => {
  it('records events of an unknown customer and re-applies them when an operator links it', async () => {
    await seedOrg(context.db, 'dash', [{ uid: 'dash-owner', role: 'owner' }]);
    const customer = context.stripe.addCustomer({ email: 'finance@dash.example' });
    const customerId = customer.id as string;
    const subscription = context.stripe.addSubscription({ customer: customerId, price: 'price_business', quantity: 12, status: 'active' });
    const invoice = context.stripe.addInvoice({ customer: customerId, subscription: subscription.id as string, total: 9900, status: 'paid' });
    const created = context.stripe.event('customer.subscription.created', subscription);
    advance(1);
    const paid = context.stripe.event('invoice.paid', invoice);

    for (const event of [created, paid]) {
      expect(await context.send(event)).toEqual({ status: 200, body: { received: true, duplicate: false, outcome: 'unmatched' } });
      expect(context.logged.at(-1)).toMatchObject({
        level: 'warn',
        message: 'stripe event unmatched',
        context: { eventId: event.id, reason: 'unknown_customer' },
      });
      expect(await readLedger(context.db, event.id as string)).toMatchObject({ outcome: 'unmatched', reason: 'unknown_customer', orgId: null, customerId });
    }
    expect(await readMirror(context.db, 'dash')).toBeNull();
    // The 7-year billing record (P6) is written at once, without an organization: the ledger entry is not kept 7 years.
    expect(billingRecordSchema.parse((await context.db.doc(paths.billingRecord(invoice.id as string)).get()).data())).toMatchObject({
      invoiceId: invoice.id,
      customerId,
      orgId: null,
      total: 9900,
      status: 'paid',
    });

    const member: Caller = { uid: 'dash-owner', email: 'o@dash.example', emailVerified: true, claims: {} };
    await expect(linkStripeCustomer(operatorDeps(), member, { orgId: 'dash', customerId })).rejects.toMatchObject({ code: 'permission-denied' });

    const linked = await linkStripeCustomer(operatorDeps(), operator, { orgId: 'dash', customerId });
    expect(linked.reapplied).toEqual([
      { eventId: created.id, outcome: 'applied', reason: null, error: null },
      { eventId: paid.id, outcome: 'applied', reason: null, error: null },
    ]);
    expect(await readMirror(context.db, 'dash')).toMatchObject({ customerId, status: 'active', plan: 'business', seats: 12 });
    expect((await context.db.doc(paths.billingRecord(invoice.id as string)).get()).get('orgId')).toBe('dash');
    expect(await readLedger(context.db, created.id as string)).toMatchObject({ outcome: 'applied', orgId: 'dash', replayCount: 1 });
    expect(context.stripe.customers.get(customerId)?.metadata).toEqual({ orgId: 'dash' });
    const audit = await auditOf('dash');
    expect(audit.find((entry) => entry.actorUid === 'ops-1')).toMatchObject({ targetId: customerId, details: { customerLinked: true } });
  });

  it('an organization being deleted gets nothing written under it; the event waits as unmatched', async () => {
    await seedOrg(context.db, 'leaving', [{ uid: 'leaving-owner', role: 'owner' }]);
    const customerId = await linkNewCustomer(context, 'leaving');
    await context.db.doc(paths.org('leaving')).update({ status: 'deleting', access: 'none' });
    const subscription = context.stripe.addSubscription({ customer: customerId, price: 'price_team', quantity: 1, status: 'active' });
    const mirrorBefore = await readMirror(context.db, 'leaving');
    const event = context.stripe.event('customer.subscription.created', subscription);
    expect((await context.send(event)).body).toEqual({ received: true, duplicate: false, outcome: 'unmatched' });
    expect(await readLedger(context.db, event.id as string)).toMatchObject({ reason: 'org_deleting', orgId: 'leaving' });
    expect(await readMirror(context.db, 'leaving')).toEqual(mirrorBefore);
    expect(await auditOf('leaving')).toEqual([]);
  });
});

describe('replay command', () => {
  it('re-processes named ledger entries from Stripe’s current truth, and reports unknown ids', async () => {
    const { subscriptionId } = await seedSubscribedOrg('replay');
    const event = context.stripe.event('customer.subscription.created', present(context.stripe.subscriptions.get(subscriptionId), 'the subscription'));
    await context.send(event);
    context.stripe.updateSubscription(subscriptionId, { quantity: 9 });

    const viewer: Caller = { uid: 'replay-u-viewer', email: null, emailVerified: false, claims: { operator: 'true' } };
    await expect(replayStripeEvents(operatorDeps(), viewer, { eventIds: [event.id] })).rejects.toMatchObject({ code: 'permission-denied' });
    // A revoked operator still holds a token with the claim until it expires: Auth is asked, and says no.
    const revoked: Caller = { uid: 'ops-revoked', email: null, emailVerified: true, claims: { operator: true } };
    const before = await readLedger(context.db, event.id as string);
    await expect(replayStripeEvents(operatorDeps(), revoked, { eventIds: [event.id] })).rejects.toMatchObject({ code: 'permission-denied' });
    await expect(linkStripeCustomer(operatorDeps(), revoked, { orgId: 'replay', customerId: 'cus_unlinked' })).rejects.toMatchObject({
      code: 'permission-denied',
    });
    expect(await readLedger(context.db, event.id as string)).toEqual(before);
    await expect(replayStripeEvents(operatorDeps(), operator, { eventIds: ['not-an-event'] })).rejects.toMatchObject({ code: 'invalid-argument' });

    const report = await replayStripeEvents(operatorDeps(), operator, { eventIds: [event.id, 'evt_missing'] });
    expect(report.results).toEqual([
      { eventId: event.id, outcome: 'applied', reason: null, error: null },
      { eventId: 'evt_missing', outcome: null, reason: null, error: 'no ledger entry for evt_missing' },
    ]);
    expect((await readMirror(context.db, 'replay'))?.seats).toBe(9);
    expect(await readLedger(context.db, event.id as string)).toMatchObject({ replayCount: 1, outcome: 'applied' });
  });

  it('replays the unmatched entries of one customer on request', async () => {
    await seedOrg(context.db, 'later', [{ uid: 'later-owner', role: 'owner' }]);
    const customer = context.stripe.addCustomer({});
    const subscription = context.stripe.addSubscription({ customer: customer.id as string, price: 'price_team', quantity: 2, status: 'active' });
    const event = context.stripe.event('customer.subscription.created', subscription);
    await context.send(event);
    const idle = await replayStripeEvents(operatorDeps(), operator, { outcome: 'unmatched', customerId: customer.id });
    expect(idle.results).toEqual([{ eventId: event.id, outcome: 'unmatched', reason: 'unknown_customer', error: null }]);
  });
});

describe('customer.deleted', () => {
  it('marks the mirror and keeps the link as a tombstone', async () => {
    const { customerId } = await seedSubscribedOrg('erased');
    const deleted = context.stripe.deleteCustomer(customerId);
    const event = context.stripe.event('customer.deleted', deleted);
    expect((await context.send(event)).body).toMatchObject({ outcome: 'applied' });
    expect(await readMirror(context.db, 'erased')).toMatchObject({ customerId, customerDeleted: true });
    const link = await context.db.doc(paths.stripeCustomer(customerId)).get();
    expect(link.get('orgId')).toBe('erased');
    expect(link.get('deletedAt')).toBeDefined();
  });
});

describe('Stripe is never called inside a transaction', () => {
  /** The same Firestore, counting the Stripe requests made while one of its transactions runs. */
  function watchTransactions(db: Firestore, during: { requests: number; transactions: number }): Firestore {
    return new Proxy(db, {
      get(target, property) {
        if (property === 'runTransaction') {
          return async <T>(update: (tx: Transaction) => Promise<T>) => {
            const before = context.stripe.requests.length;
            try {
              return await target.runTransaction(update);
            } finally {
              during.transactions += 1;
              during.requests += context.stripe.requests.length - before;
            }
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  it('subscription, invoice and refund events fetch first, then hold the organization’s documents without calling Stripe', async () => {
    const { customerId, subscription, subscriptionId } = await seedSubscribedOrg('nolock');
    const invoice = context.stripe.addInvoice({ customer: customerId, subscription: subscriptionId, total: 1200, status: 'paid' });
    const charge = context.stripe.chargeOfInvoice(invoice.id as string) as Record<string, unknown>;
    const during = { requests: 0, transactions: 0 };
    const watched = await startWebhookEndpoint(() => ({ ...context.deps(), db: watchTransactions(context.db, during) }));
    try {
      context.stripe.requests.length = 0;
      for (const event of [
        context.stripe.event('customer.subscription.created', subscription),
        context.stripe.event('invoice.paid', invoice),
        context.stripe.event('charge.refunded', context.stripe.refundCharge(charge.id as string, 200)),
      ]) {
        expect((await deliver(watched.url, event, { timestamp: context.clock.seconds })).body).toMatchObject({ outcome: 'applied' });
      }
    } finally {
      await watched.stop();
    }
    expect(during.transactions).toBe(3);
    expect(context.stripe.requests.length).toBeGreaterThanOrEqual(6);
    expect(during.requests).toBe(0);
  });
});

describe('failures leave nothing behind and Stripe’s retry succeeds', () => {
  /** Nothing changed since `before` but the ledger entry of `eventId`, which records the failure for operators. */
  async function expectOnlyRetryingEntry(before: Map<string, unknown>, eventId: string, detail: string) {
    const after = await dumpProject(context.db);
    const ledgerPath = paths.stripeEvent(eventId);
    expect(before.has(ledgerPath)).toBe(false);
    expect(new Map([...after].filter(([path]) => path !== ledgerPath))).toEqual(before);
    expect(await readLedger(context.db, eventId)).toMatchObject({ outcome: 'failed', reason: 'retrying', detail: expect.stringContaining(detail) });
  }

  it('a failing re-fetch answers 500 and writes nothing; the retry applies once', async () => {
    const { subscription, subscriptionId } = await seedSubscribedOrg('flaky');
    const event = context.stripe.event('customer.subscription.created', subscription);
    const before = await dumpProject(context.db);
    context.stripe.failNext({ method: 'GET', pathPrefix: `/v1/subscriptions/${subscriptionId}`, status: 500 });
    expect(await context.send(event)).toEqual({ status: 500, body: { error: 'processing failed; Stripe will retry' } });
    await expectOnlyRetryingEntry(before, event.id as string, 'injected failure');
    expect(context.logged.at(-1)).toEqual({
      level: 'warn',
      message: 'stripe event failed',
      context: { eventId: event.id, type: 'customer.subscription.created', reason: 'retrying', orgId: null },
    });

    expect((await context.send(event)).body).toEqual({ received: true, duplicate: false, outcome: 'applied' });
    expect((await readMirror(context.db, 'flaky'))?.status).toBe('active');
    expect(await auditOf('flaky')).toHaveLength(1);
  });

  /** The same Firestore, except that right after the ledger entry is staged in a transaction, `fault` runs. */
  function faultAfterLedger(db: Firestore, fault: (tx: Transaction) => void): Firestore {
    const wrapTransaction = (tx: Transaction): Transaction =>
      new Proxy(tx, {
        get(target, property) {
          const value = Reflect.get(target, property, target) as unknown;
          if (property === 'create') {
            return (ref: DocumentReference, data: DocumentData) => {
              const result = target.create(ref, data);
              if (ref.path.startsWith('stripeEvents/')) fault(target);
              return result;
            };
          }
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    return new Proxy(db, {
      get(target, property) {
        if (property === 'runTransaction') {
          return <T>(update: (tx: Transaction) => Promise<T>) => target.runTransaction((tx) => update(wrapTransaction(tx)));
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  it.each([
    [
      'a crash in the handler between ledger and effect',
      () => {
        throw new Error('injected crash between ledger and effect');
      },
    ],
    [
      'a write in the same commit that Firestore refuses',
      (tx: Transaction) => {
        tx.update(context.db.doc(paths.member('crash', 'nobody')), { access: 'full' });
      },
    ],
  ])('%s leaves neither the ledger entry nor any effect', async (_name, fault) => {
    advance(1);
    if (!(await context.db.doc(paths.org('crash')).get()).exists) await seedOrg(context.db, 'crash');
    const customerId = (await readMirror(context.db, 'crash'))?.customerId ?? (await linkNewCustomer(context, 'crash'));
    const subscription = context.stripe.addSubscription({ customer: customerId, price: 'price_team', quantity: 4, status: 'active' });
    const event = context.stripe.event('customer.subscription.created', subscription);
    const faulty = await startWebhookEndpoint(() => ({ ...context.deps(), db: faultAfterLedger(context.db, fault) }));
    try {
      const before = await dumpProject(context.db);
      const response = await deliver(faulty.url, event, { timestamp: context.clock.seconds });
      expect(response).toEqual({ status: 500, body: { error: 'processing failed; Stripe will retry' } });
      expect(context.logged.at(-1)).toMatchObject({ level: 'error', message: 'stripe event failed; Stripe will retry', context: { eventId: event.id } });
      // The transaction left nothing; only the failure's own ledger entry, for the operator, was written after it.
      await expectOnlyRetryingEntry(before, event.id as string, '');
    } finally {
      await faulty.stop();
    }
    expect((await context.send(event)).body).toEqual({ received: true, duplicate: false, outcome: 'applied' });
    expect(await readMirror(context.db, 'crash')).toMatchObject({ subscriptionId: subscription.id, seats: 4 });
  });
});
