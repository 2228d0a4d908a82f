/**
 * The local Stripe's contract check against Stripe's published references (run by CI: `npm run
 * check:stripe-reference`; `npm test` does not need them). It reads them where they are, never copies them:
 * - `fixtures3.json` (stripe/openapi): every field of Stripe's example object of each kind the local Stripe
 *   returns must be present in its answer, at every depth where both are objects (a missing field fails; a field
 *   the example lacks is listed: the `stripe` package's types, which the builders are compiled against, have it);
 * - `triggers/` (stripe/stripe-cli): every `stripe trigger` fixture for an event LeadPulse handles must be
 *   playable by `npm run stripe:trigger`.
 *
 *   npm run check:stripe-reference [-- <reference dir>]   (default: ../shared/reference/stripe beside the repo)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type Stripe from 'stripe';
import { handledEventTypes } from '../../../functions/src/billing/stripe-objects';
import { LocalStripe, type Json } from './server';
import { triggerEvents } from './triggers';

const repoRoot = resolve(__dirname, '..', '..', '..');

/**
 * Fields whose keys are not Stripe's schema: metadata (the user's own keys), and an event's `data.object` (the
 * object of the event's type, compared as that kind on its own).
 */
const freeForm = (key: string, path: string) => key === 'metadata' || path === 'data.object';

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Paths of `reference`'s keys that `ours` lacks, and of ours that `reference` lacks, where both are objects. */
export function compareShapes(reference: unknown, ours: unknown, path = ''): { missing: string[]; extra: string[] } {
  const result = { missing: [] as string[], extra: [] as string[] };
  if (Array.isArray(reference) && Array.isArray(ours)) {
    if (reference.length > 0 && ours.length > 0) return compareShapes(reference[0], ours[0], `${path}[]`);
    return result;
  }
  if (!isObject(reference) || !isObject(ours)) return result;
  for (const key of Object.keys(reference)) {
    const at = path ? `${path}.${key}` : key;
    if (!(key in ours)) result.missing.push(at);
    else if (!freeForm(key, at)) {
      const nested = compareShapes(reference[key], ours[key], at);
      result.missing.push(...nested.missing);
      result.extra.push(...nested.extra);
    }
  }
  for (const key of Object.keys(ours)) if (!(key in reference)) result.extra.push(path ? `${path}.${key}` : key);
  return result;
}

const asJson = (value: object): Json => JSON.parse(JSON.stringify(value)) as Json;

/** One object of every kind the local Stripe returns, fetched through the real client. */
async function samples(local: LocalStripe, client: Stripe): Promise<Record<string, Json>> {
  local.prices.add('price_reference');
  local.portalConfigurations.add('bpc_1Reference');
  const customer = await client.customers.create({ email: 'reference@example.com', metadata: { orgId: 'reference' } });
  const session = await client.checkout.sessions.create({
    mode: 'subscription',
    customer: customer.id,
    line_items: [{ price: 'price_reference', quantity: 2 }],
    success_url: 'https://example.com/done',
  });
  const { subscription, invoice } = local.completeCheckout(session.id);
  const fetchedSubscription = await client.subscriptions.retrieve(subscription.id as string);
  const fetchedInvoice = await client.invoices.retrieve(invoice.id as string);
  const charge = local.chargeOfInvoice(invoice.id as string) as Json;
  const note = local.addCreditNote(invoice.id as string, 100);
  const event = local.emit('invoice.paid', invoice);
  const deletable = await client.customers.create({});
  const item = fetchedSubscription.items.data[0];
  return {
    customer: asJson(await client.customers.retrieve(customer.id)),
    deleted_customer: asJson(await client.customers.del(deletable.id)),
    'checkout.session': asJson(await client.checkout.sessions.retrieve(session.id)),
    subscription: asJson(fetchedSubscription),
    subscription_item: asJson(item),
    price: asJson(item.price),
    plan: asJson(item.plan),
    invoice: asJson(fetchedInvoice),
    line_item: asJson(fetchedInvoice.lines.data[0]),
    invoice_payment: asJson((await client.invoicePayments.list({ invoice: invoice.id as string })).data[0]),
    charge: asJson(await client.charges.retrieve(charge.id as string)),
    credit_note: asJson(await client.creditNotes.retrieve(note.id as string)),
    'billing_portal.session': asJson(await client.billingPortal.sessions.create({ customer: customer.id, configuration: 'bpc_1Reference' })),
    event: asJson(await client.events.retrieve(event.id as string)),
  };
}

async function main(): Promise<void> {
  const dir = process.argv[2] ?? process.env.LEADPULSE_STRIPE_REFERENCE ?? join(repoRoot, '..', 'shared', 'reference', 'stripe');
  const fixtures = (JSON.parse(readFileSync(join(dir, 'fixtures3.json'), 'utf8')) as { resources: Record<string, unknown> }).resources;
  const local = await LocalStripe.start();
  let failures = 0;
  try {
    for (const [kind, ours] of Object.entries(await samples(local, local.client()))) {
      const reference = fixtures[kind];
      if (reference === undefined) throw new Error(`fixtures3.json has no ${kind}`);
      const { missing, extra } = compareShapes(reference, ours);
      failures += missing.length;
      console.log(`${missing.length === 0 ? 'ok  ' : 'FAIL'} ${kind}: ${Object.keys(reference as Json).length} fields in Stripe's example`);
      for (const field of missing) console.log(`       missing ${field}`);
      if (extra.length > 0) console.log(`       beyond the example (in the stripe package's types): ${extra.join(', ')}`);
    }
  } finally {
    await local.stop();
  }

  const triggers = readdirSync(join(dir, 'triggers'))
    .filter((file) => file.endsWith('.json'))
    .map((file) => basename(file, '.json'));
  for (const name of triggers.sort()) {
    const handled = (handledEventTypes as readonly string[]).includes(name);
    const playable = triggerEvents.includes(name);
    if (handled && !playable) failures += 1;
    console.log(
      `${handled && !playable ? 'FAIL' : 'ok  '} stripe trigger ${name}: ${handled ? (playable ? 'npm run stripe:trigger plays it' : 'handled but not playable') : 'not an event LeadPulse acts on'}`,
    );
  }
  if (failures > 0) {
    console.error(`${failures} difference(s) from Stripe's published references`);
    process.exit(1);
  }
  console.log("The local Stripe matches Stripe's published references.");
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
