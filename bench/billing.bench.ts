/**
 * Stripe webhook handler cost on the offline emulator: time per event (signature check, ledger, re-fetch from the
 * local Stripe server, transaction) for new events and for duplicates, and document reads per event. Reads are
 * counted by instrumenting the Admin SDK's read paths (test/billing/read-counter.ts): the offline emulator exposes
 * no read counter.
 */
import { randomUUID } from 'node:crypto';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getFirestore } from 'firebase-admin/firestore';
import Stripe from 'stripe';
import { startEmulator } from '@leadpulse/firestore-emulator';
import { linkCustomerToOrg } from '../functions/src/billing/customers';
import { handleStripeWebhook, type WebhookDeps } from '../functions/src/billing/webhook';
import { seedOrg, testCatalog } from '../test/billing/fixtures';
import { countReads, installReadCounter } from '../test/billing/read-counter';
import { LocalStripe } from '@leadpulse/stripe-local';

const ORGS = 5;
const MEMBERS_PER_ORG = 10;
const WARMUP = 30;
const EVENTS = 400;
const SECRET = 'whsec_bench';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(label: string, millis: number[], reads: number[]): string {
  const sorted = [...millis].sort((a, b) => a - b);
  const readRange = `${Math.min(...reads)}–${Math.max(...reads)}`;
  return `${label.padEnd(24)} n=${String(millis.length).padStart(4)}  p50 ${percentile(sorted, 50).toFixed(2)} ms  p99 ${percentile(sorted, 99).toFixed(2)} ms  max ${(sorted.at(-1) ?? 0).toFixed(2)} ms  reads/event ${readRange}`;
}

export async function run(): Promise<void> {
  const previousHost = process.env.FIRESTORE_EMULATOR_HOST;
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0 });
  process.env.FIRESTORE_EMULATOR_HOST = `${emulator.host}:${emulator.port}`;
  const app = initializeApp({ projectId: `demo-bench-billing-${randomUUID().slice(0, 8)}` }, `bench-billing-${randomUUID()}`);
  const stripe = await LocalStripe.start();
  installReadCounter();
  try {
    const db = getFirestore(app);
    let seconds = Math.floor(Date.parse('2031-03-01T12:00:00Z') / 1000);
    stripe.now = () => seconds;
    const deps: WebhookDeps = {
      db,
      stripe: stripe.client(),
      clock: () => new Date(seconds * 1000),
      catalog: testCatalog,
      webhookSecrets: [SECRET],
      // Every benchmarked event applies: nothing for an operator to see.
      log: { warn: () => undefined, error: () => undefined },
    };

    const subscriptions: string[] = [];
    for (let index = 0; index < ORGS; index++) {
      const orgId = `bench${index}`;
      await seedOrg(
        db,
        orgId,
        Array.from({ length: MEMBERS_PER_ORG }, (_, member) => ({ uid: `${orgId}-u${member}`, role: member === 0 ? 'owner' : 'member' })),
      );
      const customer = stripe.addCustomer({ metadata: { orgId } });
      await linkCustomerToOrg(deps, { orgId, customerId: customer.id as string, auditActorUid: null });
      subscriptions.push(stripe.addSubscription({ customer: customer.id as string, price: 'price_team', quantity: 3, status: 'active' }).id as string);
    }

    /** A new Stripe change and its event. */
    const nextEvent = (index: number) => {
      seconds += 1;
      const subscriptionId = subscriptions[index % subscriptions.length];
      const subscription = stripe.updateSubscription(subscriptionId, { quantity: 1 + (index % 30) });
      return JSON.stringify(stripe.event('customer.subscription.updated', subscription));
    };
    /** Delivers like Stripe: each attempt signed at its own time (signing is not timed). */
    const handle = async (payload: string) => {
      const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET, timestamp: seconds });
      const started = performance.now();
      const { result, reads } = await countReads(() => handleStripeWebhook(deps, { method: 'POST', rawBody: Buffer.from(payload), signature }));
      const elapsed = performance.now() - started;
      if (result.status !== 200) throw new Error(`bench event failed: ${JSON.stringify(result.body)}`);
      return { elapsed, reads, body: result.body };
    };

    for (let index = 0; index < WARMUP; index++) await handle(nextEvent(index));

    const delivered: string[] = [];
    const fresh = { millis: [] as number[], reads: [] as number[] };
    for (let index = 0; index < EVENTS; index++) {
      const event = nextEvent(index);
      const { elapsed, reads, body } = await handle(event);
      if (!('outcome' in body) || body.outcome !== 'applied') throw new Error(`expected applied, got ${JSON.stringify(body)}`);
      fresh.millis.push(elapsed);
      fresh.reads.push(reads);
      delivered.push(event);
    }

    // Worst case: every event flips the organization's access (unpaid for 30 days ↔ paid), so the handler also
    // lists the subscription's open invoices, reads every member and rewrites their access.
    for (const subscriptionId of subscriptions) {
      const customer = stripe.subscriptions.get(subscriptionId)?.customer as string;
      stripe.addInvoice({ customer, subscription: subscriptionId, total: 3600, status: 'open', created: seconds - 30 * 86_400 });
    }
    const flips = { millis: [] as number[], reads: [] as number[] };
    for (let index = 0; index < EVENTS / 2; index++) {
      seconds += 1;
      const round = Math.floor(index / subscriptions.length);
      const subscription = stripe.updateSubscription(subscriptions[index % subscriptions.length], { status: round % 2 === 0 ? 'unpaid' : 'active' });
      const { elapsed, reads, body } = await handle(JSON.stringify(stripe.event('customer.subscription.updated', subscription)));
      if (!('outcome' in body) || body.outcome !== 'applied') throw new Error(`expected applied, got ${JSON.stringify(body)}`);
      flips.millis.push(elapsed);
      flips.reads.push(reads);
    }

    const duplicates = { millis: [] as number[], reads: [] as number[] };
    for (const event of delivered) {
      const { elapsed, reads, body } = await handle(event);
      if (!('duplicate' in body) || !body.duplicate) throw new Error(`expected a duplicate, got ${JSON.stringify(body)}`);
      duplicates.millis.push(elapsed);
      duplicates.reads.push(reads);
    }

    console.log(`stripeWebhook handler on the offline emulator (${ORGS} orgs × ${MEMBERS_PER_ORG} members, re-fetch from a local Stripe server)`);
    console.log(summary('new event (applied)', fresh.millis, fresh.reads));
    console.log(summary('new event, access flip', flips.millis, flips.reads));
    console.log(summary('duplicate event', duplicates.millis, duplicates.reads));
    console.log('reads: counted by instrumenting the Admin SDK (the offline emulator exposes no read counter)');
  } finally {
    await stripe.stop();
    await deleteApp(app);
    await emulator.stop();
    if (previousHost === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
    else process.env.FIRESTORE_EMULATOR_HOST = previousHost;
  }
}
