/**
 * Stripe's request encoding (form-encoded, `a[b][0][c]=v`) and the parameters each endpoint accepts: anything
 * else is refused as Stripe refuses it (`parameter_unknown`), and a missing required one as `parameter_missing`.
 */

export type Json = Record<string, unknown>;

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
      const nextIsIndex = !last && /^\d*$/.test(segments[index + 1]);
      const container = node as Record<string | number, unknown>;
      // `expand[]=a&expand[]=b`: an empty index appends.
      const slot = Array.isArray(node) ? (segment === '' ? node.length : Number(segment)) : segment;
      if (last) container[slot] = value;
      else {
        container[slot] ??= nextIsIndex ? [] : {};
        node = container[slot] as Record<string, unknown> | unknown[];
      }
    });
  }
  return root;
}

/** What an endpoint accepts: `true` for a scalar, `'map'` for free-form keys (metadata), nested specs, `[spec]` for lists. */
export type ParamSpec = true | 'map' | { [key: string]: ParamSpec } | [ParamSpec];

export interface ParamError {
  code: 'parameter_unknown' | 'parameter_missing';
  param: string;
  message: string;
}

const name = (path: string[]) => path.map((segment, index) => (index === 0 ? segment : `[${segment}]`)).join('');

/** The first parameter `spec` does not allow, named as Stripe names it (`line_items[0][prices]`). */
export function unknownParam(value: unknown, spec: ParamSpec, path: string[] = []): ParamError | null {
  if (spec === true || spec === 'map') return null;
  if (Array.isArray(spec)) {
    if (!Array.isArray(value)) return null;
    for (const [index, item] of value.entries()) {
      const error = unknownParam(item, spec[0], [...path, String(index)]);
      if (error) return error;
    }
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  for (const [key, child] of Object.entries(value)) {
    if (!Object.prototype.hasOwnProperty.call(spec, key)) {
      const param = name([...path, key]);
      return { code: 'parameter_unknown', param, message: `Received unknown parameter: ${param}` };
    }
    const error = unknownParam(child, spec[key], [...path, key]);
    if (error) return error;
  }
  return null;
}

export function missingParam(params: Json, required: readonly string[]): ParamError | null {
  const absent = required.find((key) => params[key] === undefined || params[key] === '');
  return absent === undefined ? null : { code: 'parameter_missing', param: absent, message: `Missing required param: ${absent}.` };
}

const listParams: Record<string, ParamSpec> = { limit: true, starting_after: true, ending_before: true, expand: [true] };
const expandOnly: ParamSpec = { expand: [true] };

/** The parameters of every endpoint the local Stripe serves, keyed `METHOD /path-pattern`. */
export const endpointParams: Record<string, ParamSpec> = {
  'POST /v1/customers': { email: true, metadata: 'map', name: true, description: true, expand: [true] },
  'GET /v1/customers': { ...listParams, email: true, created: 'map' },
  'GET /v1/customers/:id': expandOnly,
  'POST /v1/customers/:id': { email: true, metadata: 'map', description: true, expand: [true] },
  'DELETE /v1/customers/:id': {},
  'GET /v1/subscriptions': { ...listParams, customer: true, status: true, price: true },
  'GET /v1/subscriptions/:id': expandOnly,
  'DELETE /v1/subscriptions/:id': { invoice_now: true, prorate: true, cancellation_details: { comment: true, feedback: true }, expand: [true] },
  'GET /v1/invoices': { ...listParams, customer: true, subscription: true, status: true },
  'GET /v1/invoices/:id': expandOnly,
  'GET /v1/invoice_payments': { ...listParams, invoice: true, payment: { type: true, payment_intent: true }, status: true },
  'GET /v1/charges/:id': expandOnly,
  'GET /v1/credit_notes/:id': expandOnly,
  'GET /v1/events/:id': expandOnly,
  'GET /v1/checkout/sessions/:id': expandOnly,
  'POST /v1/checkout/sessions': {
    mode: true,
    customer: true,
    client_reference_id: true,
    line_items: [{ price: true, quantity: true }],
    subscription_data: { metadata: 'map', trial_period_days: true },
    discounts: [{ promotion_code: true, coupon: true }],
    allow_promotion_codes: true,
    metadata: 'map',
    success_url: true,
    cancel_url: true,
    expand: [true],
  },
  'POST /v1/billing_portal/sessions': { customer: true, return_url: true, configuration: true, expand: [true] },
};
