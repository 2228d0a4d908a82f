/**
 * Property: whatever order, duplication and interleaving the webhooks arrive in, the organizations end in exactly
 * the state that in-order delivery gives, which is Stripe's final truth. Each run plays one random timeline of
 * Stripe changes for several organizations (200+ events) twice against the local Stripe server: once delivering
 * every event in order right after it happens, once delivering each event late (or only at the end), duplicated,
 * shuffled and several at a time, into a fresh Firestore project.
 */
import fc from 'fast-check';
import type { Firestore } from 'firebase-admin/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeEventRecordSchema } from '@leadpulse/model';
import { linkCustomerToOrg } from '../../functions/src/billing/customers';
import { sweepLapsedGrace } from '../../functions/src/billing/grace-sweep';
import type { LocalStripe } from '@leadpulse/stripe-local';
import { dumpProject } from '../support/snapshot';
import { readMirror, seedOrg, startBillingTest, type BillingTestContext } from './fixtures';
import { present } from '../support/present';

const ORGS = ['o0', 'o1', 'o2'];
const MIN_EVENTS = 200;
/** Each run delivers ~700 requests (two plays of the timeline): 2 by default keeps the suite fast; raise it locally. */
const RUNS = Number(process.env.LEADPULSE_PROPERTY_RUNS ?? 2);

type OpKind = 'start' | 'seats' | 'plan' | 'cancelAtEnd' | 'fail' | 'pay' | 'unpaid' | 'cancel' | 'trialEnds';
interface Op {
  org: number;
  kind: OpKind;
  value: number;
  /** Seconds the clock moves before the change; 0 often, so several events share a `created` second. */
  advance: number;
}

const opArbitrary: fc.Arbitrary<Op> = fc.record({
  org: fc.integer({ min: 0, max: ORGS.length - 1 }),
  kind: fc.constantFrom<OpKind>('start', 'seats', 'seats', 'plan', 'cancelAtEnd', 'fail', 'pay', 'unpaid', 'cancel', 'trialEnds'),
  value: fc.nat(1000),
  advance: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 120 }), fc.integer({ min: 3600, max: 3 * 86_400 })),
});

/** When and how often one event is delivered in the disordered run. */
interface DeliveryPlan {
  /** Ops to wait after the event happened; null: only in the final flush. */
  delay: number | null;
  copies: number;
  /** Sort keys that shuffle deliveries released together. */
  keys: number[];
}
const deliveryArbitrary: fc.Arbitrary<DeliveryPlan> = fc.record({
  delay: fc.option(fc.integer({ min: 0, max: 25 }), { freq: 4 }),
  copies: fc.integer({ min: 1, max: 3 }),
  keys: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
});

let context: BillingTestContext;
const START = Math.floor(Date.parse('2031-06-01T00:00:00Z') / 1000);

beforeAll(async () => {
  context = await startBillingTest('billing-reliability');
});
afterAll(async () => context.close(), 60_000);

/** Plays ops against the local Stripe server, like Stripe would, and returns the events each op produced. */
class Timeline {
  private readonly live = new Map<string, string>();
  private readonly openInvoices = new Map<string, string[]>();
  private counter = 0;
  readonly customers = new Map<string, string>();

  constructor(private readonly stripe = context.stripe) {}

  private id(prefix: string, org: string): string {
    this.counter += 1;
    return `${prefix}_${org}n${this.counter}`;
  }

  private event(type: string, object: Record<string, unknown>): Record<string, unknown> {
    return this.stripe.event(type, object, { id: this.id('evt', 'x') });
  }

  private subscription(id: string): Record<string, unknown> {
    return present(this.stripe.subscriptions.get(id), `subscription ${id}`);
  }

  apply(op: Op): Record<string, unknown>[] {
    context.clock.seconds += op.advance;
    const org = ORGS[op.org];
    const customer = present(this.customers.get(org), `customer of ${org}`);
    const current = this.live.get(org);
    const status = current ? (this.subscription(current).status as string) : null;
    if (!current || status === 'canceled' || op.kind === 'start') {
      if (current && status !== 'canceled') return this.apply({ ...op, kind: 'seats', advance: 0 });
      return this.start(org, customer, op.value);
    }
    const events: Record<string, unknown>[] = [];
    const update = (patch: Parameters<LocalStripe['updateSubscription']>[1], type = 'customer.subscription.updated') =>
      events.push(this.event(type, this.stripe.updateSubscription(current, patch)));
    switch (op.kind) {
      case 'seats':
        update({ quantity: 1 + (op.value % 40) });
        break;
      case 'plan': {
        const item = (this.subscription(current).items as { data: Array<{ price: { id: string } }> }).data[0];
        update({ price: item.price.id === 'price_team' ? 'price_business' : 'price_team' });
        break;
      }
      case 'cancelAtEnd':
        update({ cancel_at_period_end: !this.subscription(current).cancel_at_period_end });
        break;
      case 'fail': {
        const invoice = this.stripe.addInvoice({
          id: this.id('in', org),
          customer,
          subscription: current,
          total: 1000 + op.value,
          tax: op.value % 200,
          status: 'open',
        });
        this.openInvoices.set(current, [...(this.openInvoices.get(current) ?? []), invoice.id as string]);
        events.push(this.event('invoice.finalized', invoice), this.event('invoice.payment_failed', invoice));
        if (status !== 'unpaid') update({ status: 'past_due' });
        break;
      }
      case 'pay': {
        for (const invoiceId of this.openInvoices.get(current) ?? []) {
          events.push(this.event('invoice.paid', this.stripe.updateInvoice(invoiceId, 'paid')));
        }
        this.openInvoices.set(current, []);
        update({ status: 'active' });
        break;
      }
      case 'unpaid':
        update({ status: status === 'past_due' ? 'unpaid' : (status as 'active') });
        break;
      case 'cancel':
        update({ status: 'canceled', ended_at: context.clock.seconds, canceled_at: context.clock.seconds }, 'customer.subscription.deleted');
        break;
      case 'trialEnds':
        events.push(this.event(status === 'trialing' ? 'customer.subscription.trial_will_end' : 'customer.subscription.updated', this.subscription(current)));
        break;
    }
    return events;
  }

  private start(org: string, customer: string, value: number): Record<string, unknown>[] {
    // A new subscription is created after the one it replaces (the newest of equal standing is mirrored).
    const previous = this.live.get(org);
    if (previous && (this.subscription(previous).created as number) >= context.clock.seconds) context.clock.seconds += 1;
    const trialing = value % 2 === 1;
    const subscription = this.stripe.addSubscription({
      id: this.id('sub', org),
      customer,
      price: value % 3 === 0 ? 'price_business' : 'price_team',
      quantity: 1 + (value % 12),
      status: trialing ? 'trialing' : 'active',
      trialEnd: trialing ? context.clock.seconds + 14 * 86_400 : null,
    });
    this.live.set(org, subscription.id as string);
    const session = this.stripe.addCheckoutSession({
      id: this.id('cs', org),
      customer,
      price: 'price_team',
      quantity: 1,
      subscription: subscription.id as string,
    });
    const events = [this.event('customer.subscription.created', subscription), this.event('checkout.session.completed', session)];
    if (!trialing) {
      const invoice = this.stripe.addInvoice({
        id: this.id('in', org),
        customer,
        subscription: subscription.id as string,
        total: 1200,
        tax: 200,
        status: 'paid',
      });
      events.push(this.event('invoice.finalized', invoice), this.event('invoice.paid', invoice));
    }
    return events;
  }
}

async function prepareRun(topic: string): Promise<Timeline> {
  await context.switchProject(topic);
  context.stripe.reset();
  context.clock.seconds = START;
  const timeline = new Timeline();
  for (const org of ORGS) {
    await seedOrg(context.db, org, [
      { uid: `${org}-owner`, role: 'owner' },
      { uid: `${org}-member`, role: 'member' },
    ]);
    context.stripe.addCustomer({ id: `cus_${org}`, metadata: { orgId: org } });
    timeline.customers.set(org, `cus_${org}`);
  }
  for (const org of ORGS) await linkCustomerToOrg(context.deps(), { orgId: org, customerId: `cus_${org}`, auditActorUid: null });
  return timeline;
}

/** Plays `ops` (topped up to MIN_EVENTS events), handing each op's events to `afterOp`. */
async function play(timeline: Timeline, ops: Op[], afterOp: (index: number, events: Record<string, unknown>[]) => Promise<void>) {
  let total = 0;
  let index = 0;
  const next = (i: number): Op => (i < ops.length ? ops[i] : { org: i % ORGS.length, kind: 'seats', value: i, advance: i % 2 });
  while (index < ops.length || total < MIN_EVENTS) {
    const events = timeline.apply(next(index));
    total += events.length;
    await afterOp(index, events);
    index += 1;
  }
  return total;
}

async function expectDelivered(events: Array<Record<string, unknown>>) {
  const responses = await Promise.all(events.map((event) => context.send(event)));
  for (const response of responses) expect(response.status, JSON.stringify(response.body)).toBe(200);
}

/** The documents the property compares: organizations, members, mirrors, customer links, billing records. */
async function observableState(db: Firestore) {
  const dump = await dumpProject(db);
  const state: Record<string, unknown> = {};
  for (const [path, { data }] of dump) {
    if (/^orgs\/[^/]+(\/members\/[^/]+)?$/.test(path) || path.startsWith('stripeCustomers/')) {
      state[path] = data;
    } else if (path.startsWith('billingRecords/')) {
      // When the invoice was fetched depends on when its event was delivered.
      const { fetchedAt: _fetched, ...record } = data;
      state[path] = record;
    } else if (/^orgs\/[^/]+\/billing\/subscription$/.test(path)) {
      const { updatedAt: _updated, fetchedAt: _fetched, ...mirror } = data;
      state[path] = mirror;
    }
  }
  return state;
}

async function ledgerIds(db: Firestore): Promise<string[]> {
  const snapshot = await db.collection('stripeEvents').get();
  for (const doc of snapshot.docs) stripeEventRecordSchema.parse(doc.data());
  return snapshot.docs.map((doc) => doc.id).sort();
}

describe('webhook reliability (property-based)', () => {
  it(
    `${RUNS} random timelines of ${MIN_EVENTS}+ events: disordered delivery ends in the in-order state`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(opArbitrary, { minLength: 90, maxLength: 120 }),
          fc.array(deliveryArbitrary, { minLength: 64, maxLength: 64 }),
          fc.integer({ min: 1, max: 6 }),
          async (ops, plans, concurrency) => {
            // 1. In order, each event right after its change.
            const inOrder = await prepareRun('billing-inorder');
            const allEvents: Array<Record<string, unknown>> = [];
            const eventCount = await play(inOrder, ops, async (_index, events) => {
              allEvents.push(...events);
              for (const event of events) await expectDelivered([event]);
            });
            expect(eventCount).toBeGreaterThanOrEqual(MIN_EVENTS);
            await sweepLapsedGrace({ db: context.db, clock: () => new Date(context.clock.seconds * 1000) });
            const expected = await observableState(context.db);
            const expectedLedger = await ledgerIds(context.db);
            const truth = ORGS.map((org) => {
              const subscriptions = [...context.stripe.subscriptions.values()].filter((sub) => sub.customer === `cus_${org}`);
              const latest = subscriptions.sort((a, b) => String(a.id).localeCompare(String(b.id), 'en', { numeric: true })).at(-1);
              if (!latest) throw new Error(`no subscription for ${org}`);
              const item = (latest.items as { data: Array<{ quantity: number; price: { id: string } }> }).data[0];
              return {
                org,
                subscriptionId: latest.id,
                status: latest.status,
                seats: item.quantity,
                priceId: item.price.id,
                cancelAtPeriodEnd: latest.cancel_at_period_end,
              };
            });

            // 2. The same timeline, delivered late, duplicated, shuffled and concurrently.
            const disordered = await prepareRun('billing-disordered');
            const pending: Array<{ release: number; key: number; event: Record<string, unknown> }> = [];
            let seen = 0;
            /** Delivers what is due, `concurrency` at a time; a 500 (e.g. transaction contention) is retried later, as Stripe does. */
            const flush = async (upTo: number, retryAt: number) => {
              const due = pending.filter((entry) => entry.release <= upTo).sort((a, b) => a.key - b.key);
              for (const entry of due) pending.splice(pending.indexOf(entry), 1);
              for (let i = 0; i < due.length; i += concurrency) {
                const batch = due.slice(i, i + concurrency);
                const responses = await Promise.all(batch.map((entry) => context.send(entry.event)));
                responses.forEach((response, j) => {
                  expect([200, 500], JSON.stringify(response.body)).toContain(response.status);
                  if (response.status === 500) pending.push({ ...batch[j], release: retryAt });
                });
              }
            };
            await play(disordered, ops, async (index, events) => {
              for (const event of events) {
                const plan = plans[seen++ % plans.length];
                for (let copy = 0; copy < plan.copies; copy++) {
                  pending.push({ release: plan.delay === null ? Number.MAX_SAFE_INTEGER : index + plan.delay + copy, key: plan.keys[copy], event });
                }
              }
              await flush(index, index + 1);
            });
            for (let attempt = 0; attempt < 5 && pending.length > 0; attempt++) await flush(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
            expect(pending).toEqual([]);
            await sweepLapsedGrace({ db: context.db, clock: () => new Date(context.clock.seconds * 1000) });

            expect(await observableState(context.db)).toEqual(expected);
            expect(await ledgerIds(context.db)).toEqual(expectedLedger);
            expect(expectedLedger).toHaveLength(new Set(allEvents.map((event) => event.id)).size);
            for (const { org, ...subscription } of truth) {
              expect(await readMirror(context.db, org)).toMatchObject(subscription);
            }
          },
        ),
        // A run takes seconds: report the first counterexample (with its seed) instead of shrinking it.
        { numRuns: RUNS, endOnFailure: true },
      );
    },
    RUNS * 90_000,
  );
});
