/**
 * A local Stripe: an HTTP server that answers the Stripe API calls LeadPulse makes, so the real `stripe` client
 * (pointed here with its host/port/protocol options) runs with no network, in tests and under `npm start`. It is
 * as strict as Stripe where LeadPulse could notice: test-mode id formats, unknown parameters refused
 * (`parameter_unknown`), missing ones (`parameter_missing`), unknown objects (`resource_missing`), list paging
 * (`limit`, `starting_after`, `ending_before`, `has_more`), `expand[]`, idempotency keys (a replay carries
 * `Idempotent-Replayed: true`; the same key with other parameters is an `idempotency_error`), and only the pinned
 * API version. It keeps Stripe's side of the truth, records every request (so tests can inspect what left for
 * Stripe, P13), builds the events Stripe would send, and can forward them signed to a webhook URL as
 * `stripe listen --forward-to` does. Any endpoint it does not know answers 404 like Stripe does for an
 * unrecognized URL, so a new API call fails loudly.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import {
  chargeObject,
  checkoutSessionObject,
  creditNoteObject,
  customerObject,
  deletedCustomerObject,
  invoiceObject,
  invoicePaymentObject,
  newId,
  portalSessionObject,
  priceObject,
  subscriptionItemObject,
  subscriptionObject,
} from './objects';
import { decodeStripeParams, endpointParams, missingParam, unknownParam, type Json } from './params';
import { trigger } from './triggers';
import { renderForVersion } from './versions';

export { decodeStripeParams, type Json } from './params';

/** The one API version this server speaks: the `stripe` package's, which LeadPulse pins. */
export const LOCAL_STRIPE_API_VERSION = Stripe.API_VERSION;
export const LOCAL_STRIPE_SECRET_KEY = 'sk_test_local';
/** The port `npm start` and the CLI use (stripe-mock's). */
export const LOCAL_STRIPE_PORT = 12111;

export interface RecordedStripeRequest {
  method: string;
  path: string;
  /** Query string (GET/DELETE) or form body (POST), decoded from Stripe's bracket notation. */
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

/** Where events are forwarded, signed with `secret`, rendered in `apiVersion` (the endpoint's). */
export interface ForwardTarget {
  url: string;
  secret: string;
  apiVersion?: string;
}

export interface LocalStripeOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  forward?: ForwardTarget;
}

export interface SubscriptionSpec {
  customer: string;
  price: string;
  quantity: number;
  status: Stripe.Subscription.Status;
  created?: number;
  trialEnd?: number | null;
  periodStart?: number;
  periodEnd?: number;
  metadata?: Record<string, string>;
}

type Handler = (params: Json, id: string) => [number, Json];

const toJson = (value: object): Json => JSON.parse(JSON.stringify(value)) as Json;
const clone = <T>(value: T): T => structuredClone(value);

class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly error: Json,
  ) {
    super(String(error.message));
  }
}
const invalid = (param: string, message: string, code?: string) =>
  new RequestError(400, { type: 'invalid_request_error', param, message, ...(code ? { code } : {}) });
const missing = (kind: string, id: string, param = 'id') =>
  new RequestError(404, { type: 'invalid_request_error', code: 'resource_missing', param, message: `No such ${kind}: '${id}'` });

export class LocalStripe {
  readonly requests: RecordedStripeRequest[] = [];
  readonly customers = new Map<string, Json>();
  readonly subscriptions = new Map<string, Json>();
  readonly invoices = new Map<string, Json>();
  readonly checkoutSessions = new Map<string, Json>();
  readonly charges = new Map<string, Json>();
  readonly creditNotes = new Map<string, Json>();
  readonly invoicePayments = new Map<string, Json>();
  readonly events = new Map<string, Json>();
  /** Prices (and legacy plan ids) checkouts may use; promotion codes and portal configurations that exist. */
  readonly prices = new Set<string>();
  readonly promotionCodes = new Set<string>();
  readonly portalConfigurations = new Set<string>();
  /** Stripe's clock (seconds): `created` of everything this server makes. Tests may replace it. */
  now: () => number = () => Math.floor(Date.now() / 1000);
  forward: ForwardTarget | null;
  private readonly failures: InjectedFailure[] = [];
  private readonly idempotency = new Map<string, { fingerprint: string; status: number; body: Json }>();
  /** What each checkout was created with, so completing it creates the subscription Stripe would create. */
  private readonly checkoutRequests = new Map<string, { price: string; quantity: number; trialDays: number | null; metadata: Record<string, string> }>();
  private deliveries: Promise<void> = Promise.resolve();
  private readonly routes: Array<{ method: string; pattern: RegExp; key: string; handler: Handler }> = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly host: string,
    options: LocalStripeOptions,
  ) {
    this.forward = options.forward ?? null;
    this.defineRoutes();
  }

  static async start(options: LocalStripeOptions = {}): Promise<LocalStripe> {
    const host = options.host ?? '127.0.0.1';
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
    const local = new LocalStripe(server, (server.address() as AddressInfo).port, host, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      local.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'api_error', message: `local Stripe server failed: ${(error as Error).message}` } }));
      });
    });
    return local;
  }

  async stop(): Promise<void> {
    await this.deliveries;
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  /** The server's own origin (hosted Checkout and portal pages live here). */
  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** The real stripe-node client, talking to this server at the pinned API version. */
  client(options: { maxNetworkRetries?: number } = {}): Stripe {
    return new Stripe(LOCAL_STRIPE_SECRET_KEY, {
      apiVersion: LOCAL_STRIPE_API_VERSION,
      host: this.host,
      port: this.port,
      protocol: 'http',
      maxNetworkRetries: options.maxNetworkRetries ?? 0,
      telemetry: false,
    });
  }

  /** Forgets state and recorded requests (prices, promotion codes and portal configurations stay). */
  reset(): void {
    const maps = [this.customers, this.subscriptions, this.invoices, this.checkoutSessions, this.charges, this.creditNotes, this.invoicePayments, this.events];
    for (const map of maps) map.clear();
    this.idempotency.clear();
    this.checkoutRequests.clear();
    this.requests.length = 0;
    this.failures.length = 0;
  }

  failNext(failure: Omit<InjectedFailure, 'times'> & { times?: number }): void {
    this.failures.push({ times: 1, ...failure });
  }

  /** Resolves once every forwarded event has been delivered (and answered). */
  async idle(): Promise<void> {
    await this.deliveries;
  }

  // --- Stripe's side of the world ----------------------------------------------------------------------------

  addCustomer(fields: { email?: string; metadata?: Record<string, string>; id?: string } = {}): Json {
    const customer = toJson(
      customerObject({ id: fields.id ?? newId.customer(), created: this.now(), email: fields.email ?? null, metadata: fields.metadata ?? {} }),
    );
    this.customers.set(customer.id as string, customer);
    return clone(customer);
  }

  /** Deletes the customer; Stripe cancels its subscriptions at once. */
  deleteCustomer(id: string): Json {
    this.customers.set(id, toJson(deletedCustomerObject(id)));
    for (const subscription of this.subscriptions.values()) {
      if (subscription.customer === id && subscription.status !== 'canceled') {
        Object.assign(subscription, { status: 'canceled', canceled_at: this.now(), ended_at: this.now() });
      }
    }
    return toJson(deletedCustomerObject(id));
  }

  private priceJson(id: string, created: number): Stripe.Price {
    return priceObject(id, created);
  }

  addSubscription(spec: SubscriptionSpec & { id?: string }): Json {
    const created = spec.created ?? this.now();
    const periodStart = spec.periodStart ?? created;
    const id = spec.id ?? newId.subscription();
    const item = subscriptionItemObject({
      subscription: id,
      created,
      price: this.priceJson(spec.price, created),
      quantity: spec.quantity,
      periodStart,
      periodEnd: spec.periodEnd ?? periodStart + 30 * 86400,
    });
    const subscription = toJson(
      subscriptionObject({ id, customer: spec.customer, status: spec.status, created, trialEnd: spec.trialEnd ?? null, metadata: spec.metadata ?? {}, item }),
    );
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
    if (fields.status === 'paused') subscription.pause_collection = null;
    if (quantity !== undefined) item.quantity = quantity;
    if (price !== undefined) {
      item.price = toJson(this.priceJson(price, item.created as number));
      item.plan = { ...(item.plan as Json), id: price };
    }
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
    // Stripe's published example invoice still carries `subscription` (null), which the package's types dropped.
    const invoice = toJson({
      subscription: null,
      ...invoiceObject({
        id: fields.id ?? newId.invoice(),
        customer: fields.customer,
        subscription: fields.subscription,
        number: `LP-${String(this.invoices.size + 1).padStart(4, '0')}`,
        created,
        subtotal: fields.total - (tax ?? 0),
        tax,
        status: fields.status === 'paid' ? 'open' : fields.status,
        lineDescription: 'Team plan × 3 seats',
        customerName: fields.customerName ?? null,
        customerEmail: fields.customerEmail ?? null,
      }),
    });
    this.invoices.set(invoice.id as string, invoice);
    if (fields.status === 'paid') return this.updateInvoice(invoice.id as string, 'paid', created);
    return clone(invoice);
  }

  /**
   * Moves an invoice as Stripe would. `paid` charges it in full: a PaymentIntent, its charge and the invoice
   * payment that links them (since 2025-03-31.basil the only link from a charge to its invoice).
   */
  updateInvoice(id: string, status: 'paid' | 'void' | 'uncollectible' | 'open', at = this.now()): Json {
    const invoice = this.invoices.get(id);
    if (!invoice) throw new Error(`no invoice ${id}`);
    invoice.status = status;
    const transitions = invoice.status_transitions as Json;
    transitions.finalized_at ??= at;
    if (status === 'paid') {
      const amount = invoice.amount_remaining as number;
      invoice.amount_paid = (invoice.amount_paid as number) + amount;
      invoice.amount_remaining = 0;
      transitions.paid_at = at;
      if (amount > 0) {
        const paymentIntent = newId.paymentIntent();
        const charge = toJson(chargeObject({ id: newId.charge(), created: at, customer: invoice.customer as string, amount, paymentIntent }));
        this.charges.set(charge.id as string, charge);
        const payment = toJson(invoicePaymentObject({ created: at, invoice: id, amount, paymentIntent }));
        this.invoicePayments.set(payment.id as string, payment);
      }
    }
    if (status === 'void') transitions.voided_at = at;
    if (status === 'uncollectible') transitions.marked_uncollectible_at = at;
    return clone(invoice);
  }

  /** The charge that paid `invoiceId`, if any. */
  chargeOfInvoice(invoiceId: string): Json | null {
    const payment = [...this.invoicePayments.values()].find((entry) => entry.invoice === invoiceId);
    const paymentIntent = (payment?.payment as { payment_intent?: string } | undefined)?.payment_intent;
    return [...this.charges.values()].find((charge) => charge.payment_intent === paymentIntent) ?? null;
  }

  /** Refunds `amount` more of a charge (a dashboard refund). */
  refundCharge(chargeId: string, amount: number): Json {
    const charge = this.charges.get(chargeId);
    if (!charge) throw new Error(`no charge ${chargeId}`);
    const refunded = (charge.amount_refunded as number) + amount;
    if (refunded > (charge.amount as number)) throw new Error(`cannot refund ${refunded} of ${String(charge.amount)}`);
    Object.assign(charge, { amount_refunded: refunded, refunded: refunded === charge.amount });
    return clone(charge);
  }

  /** Issues a credit note for `amount` on an invoice (post-payment once it is paid). */
  addCreditNote(invoiceId: string, amount: number): Json {
    const invoice = this.invoices.get(invoiceId);
    if (!invoice) throw new Error(`no invoice ${invoiceId}`);
    const postPayment = invoice.status === 'paid';
    const note = toJson(
      creditNoteObject({
        id: newId.creditNote(),
        created: this.now(),
        customer: invoice.customer as string,
        invoice: invoiceId,
        number: `${String(invoice.number)}-CN-${this.creditNotes.size + 1}`,
        amount,
        postPayment,
      }),
    );
    this.creditNotes.set(note.id as string, note);
    const field = postPayment ? 'post_payment_credit_notes_amount' : 'pre_payment_credit_notes_amount';
    invoice[field] = (invoice[field] as number) + amount;
    if (!postPayment) {
      invoice.amount_due = (invoice.amount_due as number) - amount;
      invoice.amount_remaining = (invoice.amount_remaining as number) - amount;
    }
    return clone(note);
  }

  /**
   * A Checkout session for one price, as `POST /v1/checkout/sessions` creates it; with `subscription`, one that
   * the customer already completed for that subscription.
   */
  addCheckoutSession(fields: {
    customer: string;
    price: string;
    quantity: number;
    trialDays?: number | null;
    subscriptionMetadata?: Record<string, string>;
    clientReferenceId?: string | null;
    metadata?: Record<string, string>;
    successUrl?: string;
    cancelUrl?: string | null;
    id?: string;
    subscription?: string;
  }): Json {
    const id = fields.id ?? newId.checkoutSession();
    const session = toJson(
      checkoutSessionObject({
        id,
        created: this.now(),
        customer: fields.customer,
        clientReferenceId: fields.clientReferenceId ?? null,
        metadata: fields.metadata ?? {},
        successUrl: fields.successUrl ?? 'https://leadpulse.invalid/done',
        cancelUrl: fields.cancelUrl ?? null,
        url: `${this.url}/c/pay/${id}`,
        amountSubtotal: 1200 * fields.quantity,
      }),
    );
    if (fields.subscription !== undefined) Object.assign(session, { status: 'complete', payment_status: 'paid', subscription: fields.subscription, url: null });
    this.checkoutSessions.set(id, session);
    this.checkoutRequests.set(id, {
      price: fields.price,
      quantity: fields.quantity,
      trialDays: fields.trialDays ?? null,
      metadata: fields.subscriptionMetadata ?? {},
    });
    return clone(session);
  }

  /** Changes a credit note's memo (what `credit_note.updated` reports). */
  updateCreditNote(id: string, fields: { memo: string }): Json {
    const note = this.creditNotes.get(id);
    if (!note) throw new Error(`no credit note ${id}`);
    note.memo = fields.memo;
    return clone(note);
  }

  /** Voids a credit note: its amount no longer counts on the invoice. */
  voidCreditNote(id: string): Json {
    const note = this.creditNotes.get(id);
    if (!note) throw new Error(`no credit note ${id}`);
    if (note.status === 'void') throw new Error(`credit note ${id} is already void`);
    Object.assign(note, { status: 'void', voided_at: this.now() });
    const invoice = this.invoices.get(note.invoice as string) as Json;
    const field = note.type === 'post_payment' ? 'post_payment_credit_notes_amount' : 'pre_payment_credit_notes_amount';
    invoice[field] = (invoice[field] as number) - (note.amount as number);
    if (note.type === 'pre_payment') {
      invoice.amount_due = (invoice.amount_due as number) + (note.amount as number);
      invoice.amount_remaining = (invoice.amount_remaining as number) + (note.amount as number);
    }
    return clone(note);
  }

  /** The customer finishes Checkout: Stripe creates the subscription (and its paid first invoice) and completes the session. */
  completeCheckout(sessionId: string, status: Stripe.Subscription.Status = 'active'): { session: Json; subscription: Json; invoice: Json } {
    const session = this.checkoutSessions.get(sessionId);
    const request = this.checkoutRequests.get(sessionId);
    if (!session || !request) throw new Error(`no checkout session ${sessionId}`);
    if (session.status !== 'open') throw new Error(`checkout session ${sessionId} is ${String(session.status)}`);
    const subscription = this.addSubscription({
      customer: session.customer as string,
      price: request.price,
      quantity: request.quantity,
      status: request.trialDays ? 'trialing' : status,
      trialEnd: request.trialDays ? this.now() + request.trialDays * 86400 : null,
      metadata: request.metadata,
    });
    const invoice = this.addInvoice({
      customer: session.customer as string,
      subscription: subscription.id as string,
      total: request.trialDays ? 0 : 1200 * request.quantity,
      status: 'paid',
    });
    (this.subscriptions.get(subscription.id as string) as Json).latest_invoice = invoice.id;
    Object.assign(session, {
      status: 'complete',
      payment_status: request.trialDays ? 'no_payment_required' : 'paid',
      subscription: subscription.id,
      invoice: invoice.id,
      url: null,
    });
    return { session: clone(session), subscription: clone(this.subscriptions.get(subscription.id as string) as Json), invoice };
  }

  /**
   * An event as Stripe would send it: a snapshot of `object` at the time of the event, rendered in `apiVersion`
   * (the receiving endpoint's; the pinned version by default).
   */
  event(type: string, object: Json, options: { created?: number; id?: string; apiVersion?: string } = {}): Json {
    const apiVersion = options.apiVersion ?? LOCAL_STRIPE_API_VERSION;
    const related =
      object.object === 'charge'
        ? { invoiceOfCharge: this.invoiceOfCharge(object.id as string) }
        : object.object === 'invoice'
          ? { chargeOfInvoice: this.chargeOfInvoice(object.id as string) }
          : {};
    return {
      id: options.id ?? newId.event(),
      object: 'event',
      api_version: apiVersion,
      created: options.created ?? this.now(),
      data: { object: renderForVersion(object, apiVersion, related) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
  }

  private invoiceOfCharge(chargeId: string): string | null {
    const paymentIntent = this.charges.get(chargeId)?.payment_intent;
    const payment = [...this.invoicePayments.values()].find((entry) => (entry.payment as Json).payment_intent === paymentIntent);
    return (payment?.invoice as string | undefined) ?? null;
  }

  /** Records an event (retrievable at /v1/events/:id) and forwards it when a target is configured. */
  emit(type: string, object: Json): Json {
    const stored = this.event(type, object);
    this.events.set(stored.id as string, stored);
    const target = this.forward;
    if (target) {
      const payload = JSON.stringify(
        target.apiVersion ? this.event(type, object, { id: stored.id as string, created: stored.created as number, apiVersion: target.apiVersion }) : stored,
        null,
        2,
      );
      this.deliveries = this.deliveries.then(() => deliverSigned(target, payload, this.now()));
    }
    return stored;
  }

  // --- the HTTP side ---------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    if (!url.pathname.startsWith('/v1/')) return this.handlePage(method, url, raw, res);

    const encoded = method === 'GET' || method === 'DELETE' ? url.search.replace(/^\?/, '') : raw;
    const idempotencyKey = (req.headers['idempotency-key'] as string | undefined) ?? null;
    const params = decodeStripeParams(encoded);
    this.requests.push({ method, path: url.pathname, params, idempotencyKey, raw: encoded });

    const send = (status: number, body: Json, replayed = false) => {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'request-id': newId.request(), 'stripe-version': LOCAL_STRIPE_API_VERSION };
      if (idempotencyKey !== null) headers['idempotency-key'] = idempotencyKey;
      if (replayed) headers['idempotent-replayed'] = 'true';
      res.writeHead(status, headers);
      res.end(JSON.stringify(body));
    };
    const fail = (error: RequestError) => send(error.status, { error: { ...error.error, request_log_url: null } });
    if (req.headers.authorization !== `Bearer ${LOCAL_STRIPE_SECRET_KEY}`) {
      return send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
    }
    const version = req.headers['stripe-version'];
    if (version !== undefined && version !== LOCAL_STRIPE_API_VERSION) {
      return fail(invalid('Stripe-Version', `The local Stripe speaks only API version ${LOCAL_STRIPE_API_VERSION}, not ${String(version)}`));
    }
    const failure = this.failures.find((entry) => entry.method === method && url.pathname.startsWith(entry.pathPrefix));
    if (failure) {
      failure.times -= 1;
      if (failure.times <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
      return send(failure.status, { error: { type: 'api_error', message: 'injected failure' } });
    }
    const run = (): [number, Json] => {
      try {
        return this.route(method, url.pathname, params);
      } catch (error) {
        if (error instanceof RequestError) return [error.status, { error: error.error }];
        throw error;
      }
    };
    // Stripe honours idempotency keys on POST; a replay answers the saved response, 4xx included.
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
      if (saved) return send(saved.status, saved.body, true);
      const [status, body] = run();
      // Stripe saves a result once the request began executing: not for 5xx or a refused (429/401) request.
      if (status < 500) this.idempotency.set(idempotencyKey, { fingerprint, status, body });
      return send(status, body);
    }
    const [status, body] = run();
    send(status, body);
  }

  private route(method: string, path: string, params: Json): [number, Json] {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const match = route.pattern.exec(path);
      if (!match) continue;
      const spec = endpointParams[route.key];
      const unknown = unknownParam(params, spec);
      if (unknown) throw invalid(unknown.param, unknown.message, unknown.code);
      const [status, body] = route.handler(params, match[1] ?? '');
      return [status, this.expand(body, params.expand)];
    }
    throw new RequestError(404, { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}).` });
  }

  private defineRoutes(): void {
    const on = (method: string, path: string, handler: Handler) => {
      const pattern = new RegExp(`^${path.replace(':id', '([^/]+)')}$`);
      this.routes.push({ method, pattern, key: `${method} ${path}`, handler });
    };
    const found = (map: Map<string, Json>, kind: string, id: string) => {
      const object = map.get(id);
      if (!object) throw missing(kind, id);
      return object;
    };

    on('POST', '/v1/customers', (params) => [
      200,
      this.addCustomer({ email: params.email as string | undefined, metadata: (params.metadata as Record<string, string> | undefined) ?? {} }),
    ]);
    on('GET', '/v1/customers', (params) => [
      200,
      this.list(
        '/v1/customers',
        [...this.customers.values()].filter((customer) => !customer.deleted && (params.email === undefined || customer.email === params.email)),
        params,
      ),
    ]);
    on('GET', '/v1/customers/:id', (_params, id) => [200, clone(found(this.customers, 'customer', id))]);
    on('POST', '/v1/customers/:id', (params, id) => {
      const customer = found(this.customers, 'customer', id);
      if (customer.deleted) throw missing('customer', id);
      if (params.metadata) customer.metadata = { ...(customer.metadata as Json), ...(params.metadata as Json) };
      if (typeof params.email === 'string') customer.email = params.email;
      return [200, clone(customer)];
    });
    on('DELETE', '/v1/customers/:id', (_params, id) => {
      const customer = found(this.customers, 'customer', id);
      if (customer.deleted) throw missing('customer', id);
      return [200, this.deleteCustomer(id)];
    });

    on('GET', '/v1/subscriptions/:id', (_params, id) => [200, clone(found(this.subscriptions, 'subscription', id))]);
    on('GET', '/v1/subscriptions', (params) => {
      const status = params.status as string | undefined;
      // Without `status`, Stripe lists every subscription that is not canceled; `status=all` lists them all.
      const data = [...this.subscriptions.values()].filter(
        (subscription) =>
          (params.customer === undefined || subscription.customer === params.customer) &&
          (status === 'all' || (status === undefined ? subscription.status !== 'canceled' : subscription.status === status)),
      );
      return [200, this.list('/v1/subscriptions', data, params)];
    });
    on('DELETE', '/v1/subscriptions/:id', (_params, id) => {
      const subscription = found(this.subscriptions, 'subscription', id);
      if (subscription.status === 'canceled') {
        throw invalid('id', `A canceled subscription can only update its cancellation_details and metadata.`);
      }
      Object.assign(subscription, { status: 'canceled', canceled_at: this.now(), ended_at: this.now() });
      return [200, clone(subscription)];
    });

    on('GET', '/v1/invoices/:id', (_params, id) => [200, clone(found(this.invoices, 'invoice', id))]);
    on('GET', '/v1/invoices', (params) => {
      const data = [...this.invoices.values()].filter(
        (invoice) =>
          (params.subscription === undefined ||
            (invoice.parent as { subscription_details?: { subscription: string } } | null)?.subscription_details?.subscription === params.subscription) &&
          (params.status === undefined || invoice.status === params.status) &&
          (params.customer === undefined || invoice.customer === params.customer),
      );
      return [200, this.list('/v1/invoices', data, params)];
    });
    on('GET', '/v1/invoice_payments', (params) => {
      const payment = params.payment as { type?: string; payment_intent?: string } | undefined;
      if (payment !== undefined && payment.type === undefined) throw invalid('payment[type]', 'Missing required param: payment[type].', 'parameter_missing');
      const data = [...this.invoicePayments.values()].filter(
        (entry) =>
          (params.invoice === undefined || entry.invoice === params.invoice) &&
          (payment?.payment_intent === undefined || (entry.payment as Json).payment_intent === payment.payment_intent),
      );
      return [200, this.list('/v1/invoice_payments', data, params)];
    });
    on('GET', '/v1/charges/:id', (_params, id) => [200, clone(found(this.charges, 'charge', id))]);
    on('GET', '/v1/credit_notes/:id', (_params, id) => [200, clone(found(this.creditNotes, 'credit note', id))]);
    on('GET', '/v1/events/:id', (_params, id) => [200, clone(found(this.events, 'event', id))]);
    on('GET', '/v1/checkout/sessions/:id', (_params, id) => [200, clone(found(this.checkoutSessions, 'checkout.session', id))]);

    on('POST', '/v1/checkout/sessions', (params) => {
      const absent = missingParam(params, ['mode', 'success_url']);
      if (absent) throw invalid(absent.param, absent.message, absent.code);
      if (params.mode !== 'subscription') throw invalid('mode', 'The local Stripe serves subscription mode only.');
      if (typeof params.customer !== 'string' || !this.customers.has(params.customer) || this.customers.get(params.customer)?.deleted) {
        throw missing('customer', String(params.customer), 'customer');
      }
      const lineItems = (params.line_items as Array<{ price?: string; quantity?: string }> | undefined) ?? [];
      if (lineItems.length !== 1) throw invalid('line_items', 'The local Stripe serves checkouts of exactly one line item.');
      for (const [index, item] of lineItems.entries()) {
        if (item.price === undefined) throw invalid(`line_items[${index}][price]`, `Missing required param: line_items[${index}][price].`, 'parameter_missing');
        if (!this.prices.has(item.price)) throw missing('price', item.price, `line_items[${index}][price]`);
        if (item.quantity === undefined || !/^\d+$/.test(item.quantity))
          throw invalid(`line_items[${index}][quantity]`, 'Invalid integer', 'parameter_invalid_integer');
      }
      if (params.discounts && params.allow_promotion_codes) {
        throw invalid('discounts', 'You may only specify one of these parameters: allow_promotion_codes, discounts.');
      }
      for (const [index, discount] of ((params.discounts as Array<{ promotion_code?: string }> | undefined) ?? []).entries()) {
        if (discount.promotion_code !== undefined && !this.promotionCodes.has(discount.promotion_code)) {
          throw missing('promotion code', discount.promotion_code, `discounts[${index}][promotion_code]`);
        }
      }
      const subscriptionData = (params.subscription_data as Json | undefined) ?? {};
      const session = this.addCheckoutSession({
        customer: params.customer,
        price: lineItems[0].price as string,
        quantity: Number(lineItems[0].quantity),
        trialDays: subscriptionData.trial_period_days ? Number(subscriptionData.trial_period_days) : null,
        subscriptionMetadata: (subscriptionData.metadata as Record<string, string> | undefined) ?? {},
        clientReferenceId: (params.client_reference_id as string | undefined) ?? null,
        metadata: (params.metadata as Record<string, string> | undefined) ?? {},
        successUrl: params.success_url as string,
        cancelUrl: (params.cancel_url as string | undefined) ?? null,
      });
      return [200, session];
    });
    on('POST', '/v1/billing_portal/sessions', (params) => {
      const absent = missingParam(params, ['customer']);
      if (absent) throw invalid(absent.param, absent.message, absent.code);
      const customer = this.customers.get(params.customer as string);
      if (!customer || customer.deleted) throw missing('customer', String(params.customer), 'customer');
      const configuration = params.configuration as string | undefined;
      if (configuration !== undefined && !this.portalConfigurations.has(configuration)) {
        throw missing('billing_portal.configuration', configuration, 'configuration');
      }
      const id = newId.portalSession();
      return [
        200,
        toJson(
          portalSessionObject({
            id,
            created: this.now(),
            customer: params.customer as string,
            configuration: configuration ?? 'bpc_default_local',
            returnUrl: (params.return_url as string | undefined) ?? null,
            url: `${this.url}/p/session/${id}`,
          }),
        ),
      ];
    });
  }

  /** A page of `data` (newest first) as Stripe lists it: `limit` 1..100 (10 by default), cursors, `has_more`. */
  private list(url: string, data: Json[], params: Json): Json {
    const limit = params.limit === undefined ? 10 : Number(params.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalid('limit', 'This value must be between 1 and 100.', 'parameter_invalid_integer');
    const newestFirst = [...data].reverse();
    let from = 0;
    let to = newestFirst.length;
    if (typeof params.starting_after === 'string') {
      const index = newestFirst.findIndex((object) => object.id === params.starting_after);
      if (index < 0) throw missing('object', params.starting_after, 'starting_after');
      from = index + 1;
    }
    if (typeof params.ending_before === 'string') {
      const index = newestFirst.findIndex((object) => object.id === params.ending_before);
      if (index < 0) throw missing('object', params.ending_before, 'ending_before');
      to = index;
      from = Math.max(from, to - limit);
    }
    const page = newestFirst.slice(from, Math.min(to, from + limit));
    return { object: 'list', data: clone(page), has_more: from + page.length < to, url };
  }

  /** Replaces ids by their objects along each `expand[]` path (`customer`, `data.subscription`, ...). */
  private expand(body: Json, paths: unknown): Json {
    if (paths === undefined) return body;
    const stores: Record<string, Map<string, Json>> = {
      cus: this.customers,
      sub: this.subscriptions,
      in: this.invoices,
      ch: this.charges,
      cn: this.creditNotes,
    };
    for (const path of paths as string[]) {
      const segments = path.split('.');
      const expandAt = (node: Json, index: number): void => {
        const key = segments[index];
        if (index === segments.length - 1) {
          const value = node[key];
          if (value === null || (typeof value === 'object' && value !== null)) return;
          const store = typeof value === 'string' ? stores[value.split('_')[0]] : undefined;
          const object = typeof value === 'string' ? store?.get(value) : undefined;
          if (!object) throw invalid('expand', `This property cannot be expanded (${path}).`);
          node[key] = clone(object);
          return;
        }
        const next = node[key];
        if (Array.isArray(next)) for (const item of next) expandAt(item as Json, index + 1);
        else if (typeof next === 'object' && next !== null) expandAt(next as Json, index + 1);
        else throw invalid('expand', `This property cannot be expanded (${path}).`);
      };
      expandAt(body, 0);
    }
    return body;
  }

  // --- hosted pages (npm start): Checkout and the billing portal ---------------------------------------------------

  private handlePage(method: string, url: URL, raw: string, res: ServerResponse): void {
    if (method === 'POST' && url.pathname === '/_local/trigger') return this.handleTrigger(raw, res);
    const checkout = /^\/c\/pay\/([^/]+)$/.exec(url.pathname);
    const page = (status: number, html: string) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>Local Stripe</title><body style="font-family:sans-serif">${html}</body>`);
    };
    if (checkout && method === 'GET') {
      const session = this.checkoutSessions.get(checkout[1]);
      if (!session) return page(404, 'No such Checkout session.');
      if (session.status !== 'open') return page(410, 'This Checkout session is no longer open.');
      return page(200, `<h1>Local Stripe Checkout</h1><p>Session ${checkout[1]}</p><form method="post"><button>Pay (test card 4242)</button></form>`);
    }
    if (checkout && method === 'POST') {
      const session = this.checkoutSessions.get(checkout[1]);
      if (!session || session.status !== 'open') return page(404, 'No such open Checkout session.');
      this.payCheckout(checkout[1]);
      const successUrl = String(session.success_url).replace('{CHECKOUT_SESSION_ID}', checkout[1]);
      res.writeHead(303, { location: successUrl });
      res.end();
      return;
    }
    page(404, 'Not a page of the local Stripe.');
  }

  /** `npm run stripe:trigger`: `{event, customer?, price?}` → the ids of the events played (and forwarded). */
  private handleTrigger(raw: string, res: ServerResponse): void {
    const answer = (status: number, body: Json) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const request = JSON.parse(raw) as { event?: unknown; customer?: unknown; price?: unknown };
      if (typeof request.event !== 'string') return answer(400, { error: 'event: expected the name of an event' });
      const events = trigger(this, request.event, {
        ...(typeof request.customer === 'string' ? { customer: request.customer } : {}),
        ...(typeof request.price === 'string' ? { price: request.price } : {}),
      });
      answer(200, { events: events.map((id) => ({ id, type: this.events.get(id)?.type })) });
    } catch (error) {
      answer(400, { error: (error as Error).message });
    }
  }

  /** What Stripe's hosted page does when the customer pays: the session completes and Stripe sends its events. */
  payCheckout(sessionId: string): { session: Json; subscription: Json; invoice: Json } {
    const result = this.completeCheckout(sessionId);
    this.emit('customer.subscription.created', result.subscription);
    this.emit('invoice.finalized', result.invoice);
    this.emit('invoice.paid', result.invoice);
    this.emit('checkout.session.completed', result.session);
    return result;
  }
}

/** POSTs one event signed as Stripe signs it (`t=…,v1=HMAC-SHA256`), as `stripe listen --forward-to` does. */
async function deliverSigned(target: ForwardTarget, payload: string, timestamp: number): Promise<void> {
  const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: target.secret, timestamp });
  try {
    const response = await fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body: payload });
    await response.text();
    if (!response.ok) process.stderr.write(`local Stripe: ${target.url} answered ${response.status}\n`);
  } catch (error) {
    process.stderr.write(`local Stripe: could not deliver to ${target.url}: ${(error as Error).message}\n`);
  }
}
