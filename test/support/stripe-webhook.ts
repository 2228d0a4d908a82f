/**
 * Serves the real webhook handler on a local port (the same adapter the onRequest trigger uses, fed the raw body
 * as Cloud Functions would) and sends it events signed the way Stripe signs them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { serveStripeWebhook, type WebhookDeps } from '../../functions/src/billing/webhook';

export const TEST_WEBHOOK_SECRET = 'whsec_local_test_secret';

export interface WebhookEndpoint {
  url: string;
  stop(): Promise<void>;
}

/** `deps()` is called per request, so a test can switch the Firestore project or the clock between deliveries. */
export async function startWebhookEndpoint(deps: () => WebhookDeps): Promise<WebhookEndpoint> {
  const server: Server = createServer((req, res) => {
    // A handler that throws answers 500, as Cloud Functions would, rather than leaving the request open.
    serveRequest(deps(), req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(error instanceof Error ? error.message : 'the webhook handler failed');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/stripeWebhook`,
    stop: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

/** The onRequest adapter: the raw body and headers in, the handler's status and JSON out. */
async function serveRequest(deps: WebhookDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const rawBody = Buffer.concat(chunks);
  await serveStripeWebhook(
    deps,
    {
      method: req.method ?? 'GET',
      rawBody,
      header: (name) => {
        const value = req.headers[name.toLowerCase()];
        return Array.isArray(value) ? value.join(',') : value;
      },
    },
    {
      status: (code) => ({
        json: (body) => {
          res.writeHead(code, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        },
      }),
    },
  );
}

export interface Delivery {
  status: number;
  body: Record<string, unknown>;
}

/**
 * POSTs `payload` (an event object, or raw text for malformed bodies) signed with
 * `stripe.webhooks.generateTestHeaderString`. `signature: null` sends no Stripe-Signature header.
 */
export async function deliver(
  url: string,
  payload: Record<string, unknown> | string,
  options: { secret?: string; timestamp?: number; signature?: string | null } = {},
): Promise<Delivery> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload, null, 2);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.signature !== null) {
    headers['stripe-signature'] =
      options.signature ??
      Stripe.webhooks.generateTestHeaderString({
        payload: body,
        secret: options.secret ?? TEST_WEBHOOK_SECRET,
        ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
      });
  }
  const response = await fetch(url, { method: 'POST', headers, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
