/**
 * A local HTTP server that answers the Stripe API calls LeadPulse makes, so tests run the real `stripe` client
 * (pointed here with its host/port/protocol options) with no network. It keeps Stripe's side of the truth
 * (customers, subscriptions, invoices, sessions), honours idempotency keys as Stripe documents them (same key and
 * same parameters: the saved response; same key, other parameters: an idempotency_error), records every request
 * so tests can inspect what left for Stripe (P13), and builds the events Stripe would send. Any endpoint it does
 * not know answers 404 like Stripe does for an unrecognized URL, so a new API call fails loudly.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

type Json = Record<string, unknown>;

export interface RecordedStripeRequest {
  method: string;
  path: string;
  /** Query string (GET) or form body (POST), decoded from Stripe's bracket notation. */
  params: Json;
  idempotencyKey: string | null;
  /** The exact bytes sent, for checks that nothing else left. */
  raw: string;
}

export interface InjectedFailure {
  method: string;
  /** Requests whose path starts with this fail. */
  pathPrefix: string;
  status: number;
  /** How many requests fail before the endpoint works again. */
  times: number;
}

/** Decodes `a[b][0][c]=v` pairs (Stripe's encoding, see stripe-node's stringifyRequestData) into nested values. */
export function decodeStripeParams(encoded: string): Json {
  const root: Json = {};
  if (encoded === '') return root;
  for (const pair of encoded.split('&')) {
    const [rawKey, rawValue = ''] = pair.split('=');
    const key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
    const value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    const segments = key.replace(/\]/g, '').split('[');
    let node: Record<string, unknown> | unknown[] = root;
    segments.forEach((segment, index) => {
      const last = index === segments.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(segments[index + 1]);
      const slot = Array.isArray(node) ? Number(segment) : segment;
      const container = node as Record<string | number, unknown>;
      if (last) container[slot] = value;
      else {
        container[slot] ??= nextIsIndex ? [] : {};
        node = container[slot] as Record<string, unknown> | unknown[];
      }
    });
  }
  return root;
}

const newId = (prefix: string) => `${prefix}_${randomBytes(10).toString('hex')}`;
const clone = <T>(value: T): T => structuredClone(value);

export interface SubscriptionSpec {
  customer: string;
  price: string;
  quantity: number;
  status: Stripe.Subscription.Status;
  created?: number;
  trialEnd?: number | null;
  periodStart?: number;
  periodEnd?: number;
}

export class LocalStripe {
  readonly requests: RecordedStripeRequest[] = [];
  readonly customers = new Map<string, Json>();
  readonly subscriptions = new Map<string, Json>();
  readonly invoices = new Map<string, Json>();
  readonly checkoutSessions = new Map<string, Json>();
  readonly prices = new Set<string>();
  /** Stripe's clock (seconds): `created` of everything this server makes. Tests may replace it. */
  now: () => number = () => Math.floor(Date.now() / 1000);
  private readonly failures: InjectedFailure[] = [];
  private readonly idempotency = new Map<string, { fingerprint: string; status: number; body: Json }>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<LocalStripe> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const local = new LocalStripe(server, (server.address() as AddressInfo).port);
    server.on('request', (req, res) => {
      local.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'api_error', message: `local Stripe server failed: ${(error as Error).message}` } }));
      });
    });
    return local;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  /** The real stripe-node client, talking to this server. */
  client(): Stripe {
    return new Stripe('sk_test_local', {
      host: '127.0.0.1',
      port: this.port,
      protocol: 'http',
      maxNetworkRetries: 0,
      telemetry: false,
    });
  }

  /** Forgets state and recorded requests (prices stay). */
  reset(): void {
    for (const map of [this.customers, this.subscriptions, this.invoices, this.checkoutSessions, this.idempotency]) map.clear();
    this.requests.length = 0;
    this.failures.length = 0;
  }

  failNext(failure: Omit<InjectedFailure, 'times'> & { times?: number }): void {
    this.failures.push({ times: 1, ...failure });
  }

  // --- Stripe's side of the world, driven by tests -------------------------------------------------------

  addCustomer(fields: { email?: string; metadata?: Json; id?: string } = {}): Json {
    const customer = {
      id: fields.id ?? newId('cus'),
      object: 'customer',
      created: this.now(),
      email: fields.email ?? null,
      metadata: fields.metadata ?? {},
      livemode: false,
    };
    this.customers.set(customer.id, customer);
    return clone(customer);
  }

  deleteCustomer(id: string): Json {
    this.customers.set(id, { id, object: 'customer', deleted: true });
    for (const subscription of this.subscriptions.values()) {
      if (subscription.customer === id && subscription.status !== 'canceled') {
        Object.assign(subscription, { status: 'canceled', canceled_at: this.now(), ended_at: this.now() });
      }
    }
    return { id, object: 'customer', deleted: true };
  }

  addSubscription(spec: SubscriptionSpec & { id?: string }): Json {
    const created = spec.created ?? this.now();
    const periodStart = spec.periodStart ?? created;
    const id = spec.id ?? newId('sub');
    const subscription: Json = {
      id,
      object: 'subscription',
      customer: spec.customer,
      status: spec.status,
      created,
      start_date: created,
      cancel_at_period_end: false,
      cancel_at: null,
      canceled_at: null,
      ended_at: null,
      trial_start: spec.trialEnd ? created : null,
      trial_end: spec.trialEnd ?? null,
      collection_method: 'charge_automatically',
      currency: 'usd',
      livemode: false,
      metadata: {},
      latest_invoice: null,
      items: {
        object: 'list',
        has_more: false,
        url: `/v1/subscription_items?subscription=${id}`,
        data: [
          {
            id: newId('si'),
            object: 'subscription_item',
            subscription: id,
            created,
            quantity: spec.quantity,
            current_period_start: periodStart,
            current_period_end: spec.periodEnd ?? periodStart + 30 * 86400,
            price: { id: spec.price, object: 'price', currency: 'usd', unit_amount: 1200, recurring: { interval: 'month' } },
          },
        ],
      },
    };
    this.subscriptions.set(id, subscription);
    return clone(subscription);
  }

  /** Changes a subscription as Stripe would; `quantity`/`price` change its one item. */
  updateSubscription(
    id: string,
    patch: Partial<{
      status: Stripe.Subscription.Status;
      quantity: number;
      price: string;
      cancel_at_period_end: boolean;
      ended_at: number | null;
      canceled_at: number | null;
      trial_end: number | null;
      period: { start: number; end: number };
    }>,
  ): Json {
    const subscription = this.subscriptions.get(id);
    if (!subscription) throw new Error(`no subscription ${id}`);
    const item = (subscription.items as { data: Json[] }).data[0];
    const { quantity, price, period, ...fields } = patch;
    Object.assign(subscription, fields);
    if (quantity !== undefined) item.quantity = quantity;
    if (price !== undefined) item.price = { ...(item.price as Json), id: price };
    if (period) Object.assign(item, { current_period_start: period.start, current_period_end: period.end });
    return clone(subscription);
  }

  addInvoice(fields: {
    customer: string;
    subscription: string | null;
    total: number;
    tax?: number | null;
    status: 'open' | 'paid' | 'void' | 'uncollectible' | 'draft';
    created?: number;
    id?: string;
    /** Personal data Stripe keeps on the invoice; LeadPulse must not copy it anywhere. */
    customerName?: string;
    customerEmail?: string;
  }): Json {
    const created = fields.created ?? this.now();
    const tax = fields.tax ?? null;
    const invoice: Json = {
      id: fields.id ?? newId('in'),
      object: 'invoice',
      customer: fields.customer,
      customer_name: fields.customerName ?? null,
      customer_email: fields.customerEmail ?? null,
      customer_address: fields.customerName ? { line1: '1 Main St', city: 'Springfield', country: 'US' } : null,
      number: `LP-${String(this.invoices.size + 1).padStart(4, '0')}`,
      currency: 'usd',
      subtotal: fields.total - (tax ?? 0),
      total: fields.total,
      amount_due: fields.total,
      amount_paid: fields.status === 'paid' ? fields.total : 0,
      total_taxes: tax === null ? null : [{ amount: tax, tax_behavior: 'exclusive' }],
      status: fields.status,
      created,
      livemode: false,
      lines: { object: 'list', data: [{ id: newId('il'), description: 'Team plan × 3 seats', amount: fields.total - (tax ?? 0) }] },
      status_transitions: {
        finalized_at: fields.status === 'draft' ? null : created,
        paid_at: fields.status === 'paid' ? created : null,
        voided_at: null,
        marked_uncollectible_at: null,
      },
      parent: fields.subscription
        ? { type: 'subscription_details', quote_details: null, subscription_details: { subscription: fields.subscription, metadata: {} } }
        : null,
    };
    this.invoices.set(invoice.id as string, invoice);
    return clone(invoice);
  }

  updateInvoice(id: string, status: 'paid' | 'void' | 'uncollectible' | 'open', at = this.now()): Json {
    const invoice = this.invoices.get(id);
    if (!invoice) throw new Error(`no invoice ${id}`);
    invoice.status = status;
    const transitions = invoice.status_transitions as Json;
    if (status === 'paid') {
      invoice.amount_paid = invoice.amount_due;
      transitions.paid_at = at;
    }
    if (status === 'void') transitions.voided_at = at;
    if (status === 'uncollectible') transitions.marked_uncollectible_at = at;
    return clone(invoice);
  }

  /** The customer finishes Checkout: Stripe creates the subscription and completes the session. */
  completeCheckout(sessionId: string, status: Stripe.Subscription.Status = 'active'): { session: Json; subscription: Json } {
    const session = this.checkoutSessions.get(sessionId);
    if (!session) throw new Error(`no checkout session ${sessionId}`);
    const lineItems = session.line_items as Array<{ price: string; quantity: number }>;
    const trialDays = session.trial_period_days as number | null;
    const subscription = this.addSubscription({
      customer: session.customer as string,
      price: lineItems[0].price,
      quantity: lineItems[0].quantity,
      status: trialDays ? 'trialing' : status,
      trialEnd: trialDays ? this.now() + trialDays * 86400 : null,
    });
    Object.assign(session, { status: 'complete', payment_status: 'paid', subscription: subscription.id });
    return { session: clone(session), subscription };
  }

  /** An event as Stripe would send it: a snapshot of `object` at the time of the event. */
  event(type: string, object: Json, options: { created?: number; id?: string } = {}): Json {
    return {
      id: options.id ?? newId('evt'),
      object: 'event',
      api_version: Stripe.API_VERSION,
      created: options.created ?? this.now(),
      data: { object: clone(object) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
  }

  // --- the HTTP side ---------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const encoded = method === 'GET' || method === 'DELETE' ? url.search.replace(/^\?/, '') : raw;
    const idempotencyKey = (req.headers['idempotency-key'] as string | undefined) ?? null;
    this.requests.push({ method, path: url.pathname, params: decodeStripeParams(encoded), idempotencyKey, raw: encoded });

    const send = (status: number, body: Json) => {
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req') });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== 'Bearer sk_test_local') {
      return send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
    }
    const failure = this.failures.find((entry) => entry.method === method && url.pathname.startsWith(entry.pathPrefix));
    if (failure) {
      failure.times -= 1;
      if (failure.times <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
      return send(failure.status, { error: { type: 'api_error', message: 'injected failure' } });
    }
    if (idempotencyKey !== null && method === 'POST') {
      const fingerprint = `${method} ${url.pathname} ${encoded}`;
      const saved = this.idempotency.get(idempotencyKey);
      if (saved && saved.fingerprint !== fingerprint) {
        return send(400, {
          error: {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
          },
        });
      }
      if (saved) return send(saved.status, saved.body);
      const [status, body] = this.route(method, url.pathname, decodeStripeParams(encoded));
      this.idempotency.set(idempotencyKey, { fingerprint, status, body });
      return send(status, body);
    }
    const [status, body] = this.route(method, url.pathname, decodeStripeParams(encoded));
    send(status, body);
  }

  private route(method: string, path: string, params: Json): [number, Json] {
    const missing = (kind: string, id: string): [number, Json] => [
      404,
      { error: { type: 'invalid_request_error', code: 'resource_missing', param: 'id', message: `No such ${kind}: '${id}'` } },
    ];
    const invalid = (param: string, message: string): [number, Json] => [
      400,
      { error: { type: 'invalid_request_error', param, message } },
    ];
    let match: RegExpExecArray | null;

    if (method === 'POST' && path === '/v1/customers') {
      return [200, this.addCustomer({ email: params.email as string | undefined, metadata: (params.metadata as Json) ?? {} })];
    }
    if ((match = /^\/v1\/customers\/([^/]+)$/.exec(path))) {
      const customer = this.customers.get(match[1]);
      if (!customer) return missing('customer', match[1]);
      if (method === 'GET') return [200, clone(customer)];
      if (method === 'DELETE') {
        // Stripe answers the deleted stub and cancels the customer's subscriptions; deleting again is a 404.
        if (customer.deleted) return missing('customer', match[1]);
        return [200, this.deleteCustomer(match[1])];
      }
      if (method === 'POST') {
        if (customer.deleted) return invalid('id', 'Cannot update a deleted customer');
        if (params.metadata) customer.metadata = { ...(customer.metadata as Json), ...(params.metadata as Json) };
        if (typeof params.email === 'string') customer.email = params.email;
        return [200, clone(customer)];
      }
    }
    if (method === 'GET' && (match = /^\/v1\/subscriptions\/([^/]+)$/.exec(path))) {
      const subscription = this.subscriptions.get(match[1]);
      return subscription ? [200, clone(subscription)] : missing('subscription', match[1]);
    }
    if (method === 'GET' && path === '/v1/subscriptions') {
      // Without `status`, Stripe lists every subscription that is not canceled; `status=all` lists them all.
      const data = [...this.subscriptions.values()].filter(
        (subscription) =>
          (params.customer === undefined || subscription.customer === params.customer) &&
          (params.status === 'all' || (params.status === undefined ? subscription.status !== 'canceled' : subscription.status === params.status)),
      );
      return [200, { object: 'list', url: '/v1/subscriptions', has_more: false, data: clone(data) }];
    }
    if (method === 'DELETE' && (match = /^\/v1\/subscriptions\/([^/]+)$/.exec(path))) {
      const subscription = this.subscriptions.get(match[1]);
      if (!subscription) return missing('subscription', match[1]);
      if (subscription.status === 'canceled') return invalid('id', `No such subscription: '${match[1]}' is already canceled`);
      Object.assign(subscription, { status: 'canceled', canceled_at: this.now(), ended_at: this.now() });
      return [200, clone(subscription)];
    }
    if (method === 'GET' && path === '/v1/invoices') {
      const data = [...this.invoices.values()].filter(
        (invoice) =>
          (params.subscription === undefined ||
            (invoice.parent as { subscription_details?: { subscription: string } } | null)?.subscription_details?.subscription ===
              params.subscription) &&
          (params.status === undefined || invoice.status === params.status) &&
          (params.customer === undefined || invoice.customer === params.customer),
      );
      return [200, { object: 'list', url: '/v1/invoices', has_more: false, data: clone(data) }];
    }
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const lineItems = (params.line_items as Array<{ price: string; quantity: string }> | undefined) ?? [];
      if (params.mode !== 'subscription') return invalid('mode', 'this local server only knows subscription mode');
      if (typeof params.customer !== 'string' || !this.customers.has(params.customer)) {
        return missing('customer', String(params.customer));
      }
      for (const [index, item] of lineItems.entries()) {
        if (!this.prices.has(item.price)) return missing('price', item.price);
        if (!/^\d+$/.test(item.quantity)) return invalid(`line_items[${index}][quantity]`, 'Invalid integer');
      }
      if (params.discounts && params.allow_promotion_codes) {
        return invalid('discounts', 'You may only specify one of these parameters: allow_promotion_codes, discounts.');
      }
      const subscriptionData = (params.subscription_data as Json | undefined) ?? {};
      const id = newId('cs');
      const session: Json = {
        id,
        object: 'checkout.session',
        mode: 'subscription',
        status: 'open',
        payment_status: 'unpaid',
        customer: params.customer,
        subscription: null,
        client_reference_id: params.client_reference_id ?? null,
        metadata: params.metadata ?? {},
        success_url: params.success_url,
        cancel_url: params.cancel_url,
        url: `https://checkout.stripe.com/c/pay/${id}`,
        created: this.now(),
        livemode: false,
        // Kept so completeCheckout can create the subscription Stripe would create.
        line_items: lineItems.map((item) => ({ price: item.price, quantity: Number(item.quantity) })),
        trial_period_days: subscriptionData.trial_period_days ? Number(subscriptionData.trial_period_days) : null,
      };
      this.checkoutSessions.set(id, session);
      return [200, clone(session)];
    }
    if (method === 'POST' && path === '/v1/billing_portal/sessions') {
      if (typeof params.customer !== 'string' || !this.customers.has(params.customer)) {
        return missing('customer', String(params.customer));
      }
      const id = newId('bps');
      return [
        200,
        {
          id,
          object: 'billing_portal.session',
          customer: params.customer,
          return_url: params.return_url ?? null,
          configuration: params.configuration ?? 'bpc_default',
          url: `https://billing.stripe.com/p/session/${id}`,
          created: this.now(),
          livemode: false,
        },
      ];
    }
    return [
      404,
      { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}) on the local Stripe server` } },
    ];
  }
}
