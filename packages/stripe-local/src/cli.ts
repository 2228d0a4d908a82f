#!/usr/bin/env -S npx tsx
/**
 * The local Stripe from the command line.
 *
 *   leadpulse-stripe-local start [--port 12111] [--forward-to URL --secret whsec_… [--api-version V]]
 *                                [--price ID]... [--promotion-code promo_…]... [--portal-configuration bpc_…]...
 *   leadpulse-stripe-local trigger EVENT [--customer cus_…] [--price ID] [--url http://127.0.0.1:12111]
 *
 * `start` serves the API and forwards signed events like `stripe listen --forward-to`; `trigger` asks a running
 * local Stripe to play an event like `stripe trigger` (`npm run stripe:trigger -- EVENT`).
 */
import { parseArgs } from 'node:util';
import { LOCAL_STRIPE_PORT, LocalStripe } from './server';
import { triggerEvents } from './triggers';

async function start(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: String(LOCAL_STRIPE_PORT) },
      'forward-to': { type: 'string' },
      secret: { type: 'string' },
      'api-version': { type: 'string' },
      price: { type: 'string', multiple: true, default: [] },
      'promotion-code': { type: 'string', multiple: true, default: [] },
      'portal-configuration': { type: 'string', multiple: true, default: [] },
    },
  });
  const forwardTo = values['forward-to'];
  if (forwardTo !== undefined && values.secret === undefined) throw new Error('--forward-to needs --secret (the whsec_… the webhook verifies)');
  const local = await LocalStripe.start({
    port: Number(values.port),
    ...(forwardTo === undefined
      ? {}
      : { forward: { url: forwardTo, secret: values.secret as string, ...(values['api-version'] ? { apiVersion: values['api-version'] } : {}) } }),
  });
  for (const price of values.price) local.prices.add(price);
  for (const code of values['promotion-code']) local.promotionCodes.add(code);
  for (const configuration of values['portal-configuration']) local.portalConfigurations.add(configuration);
  console.log(`Local Stripe at ${local.url}${forwardTo ? `, forwarding events to ${forwardTo}` : ''} (Ctrl-C to stop)`);
  const stop = () => void local.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function triggerCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { customer: { type: 'string' }, price: { type: 'string' }, url: { type: 'string', default: `http://127.0.0.1:${LOCAL_STRIPE_PORT}` } },
  });
  const event = positionals[0];
  if (event === undefined) throw new Error(`name an event: ${triggerEvents.join(', ')}`);
  const response = await fetch(`${values.url}/_local/trigger`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ event, customer: values.customer, price: values.price }),
  });
  const body = (await response.json()) as { events?: Array<{ id: string; type: string }>; error?: string };
  if (!response.ok) throw new Error(body.error ?? `the local Stripe answered ${response.status}`);
  for (const played of body.events ?? []) console.log(`${played.type.padEnd(45)} ${played.id}`);
}

const [command, ...rest] = process.argv.slice(2);
const run = command === 'start' ? start : command === 'trigger' ? triggerCommand : null;
if (run === null) {
  console.error('usage: leadpulse-stripe-local start [options] | trigger EVENT [--customer cus_…]');
  process.exit(2);
}
run(rest).catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
