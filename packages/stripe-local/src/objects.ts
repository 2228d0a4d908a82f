/**
 * Stripe's objects as the local Stripe returns them, at the pinned API version. Each builder is typed with the
 * `stripe` package's own type for that version, so the compiler checks that every field the package declares is
 * present with its type (one half of the contract check; the other compares with Stripe's published example
 * objects: `npm run check:stripe-reference`). Values are what a fresh test-mode object holds.
 */
import { randomInt } from 'node:crypto';
import type Stripe from 'stripe';

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const randomChars = (length: number) => Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');

/**
 * Ids in Stripe's test-mode formats: a prefix, `_`, then letters and digits (`cs_test_…` for Checkout sessions,
 * whose ids carry the mode; a leading `1`/`3` as Stripe's own ids have).
 */
export const newId = {
  customer: () => `cus_${randomChars(14)}`,
  subscription: () => `sub_1${randomChars(23)}`,
  subscriptionItem: () => `si_${randomChars(14)}`,
  invoice: () => `in_1${randomChars(23)}`,
  invoiceLine: () => `il_1${randomChars(23)}`,
  invoicePayment: () => `inpay_1${randomChars(23)}`,
  checkoutSession: () => `cs_test_${randomChars(58)}`,
  portalSession: () => `bps_1${randomChars(23)}`,
  charge: () => `ch_3${randomChars(23)}`,
  paymentIntent: () => `pi_3${randomChars(23)}`,
  creditNote: () => `cn_1${randomChars(23)}`,
  refund: () => `re_3${randomChars(23)}`,
  event: () => `evt_1${randomChars(23)}`,
  request: () => `req_${randomChars(14)}`,
  product: () => `prod_${randomChars(14)}`,
};

/** A decimal amount as it travels in JSON (a string); the `stripe` package types it as its Decimal class. */
const decimal = (text: string) => text as unknown as NonNullable<Stripe.Price['unit_amount_decimal']>;

export function customerObject(fields: { id: string; created: number; email: string | null; metadata: Stripe.Metadata }): Stripe.Customer {
  return {
    id: fields.id,
    object: 'customer',
    address: null,
    balance: 0,
    created: fields.created,
    currency: null,
    default_source: null,
    delinquent: false,
    description: null,
    discount: null,
    email: fields.email,
    invoice_prefix: randomChars(8).toUpperCase(),
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: false,
    metadata: fields.metadata,
    name: null,
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
}

export function deletedCustomerObject(id: string): Stripe.DeletedCustomer {
  return { id, object: 'customer', deleted: true };
}

export function priceObject(id: string, created: number): Stripe.Price {
  return {
    id,
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created,
    currency: 'usd',
    custom_unit_amount: null,
    livemode: false,
    lookup_key: null,
    metadata: {},
    nickname: null,
    product: `prod_${id.replace(/[^A-Za-z0-9]/g, '').slice(0, 14)}`,
    recurring: { interval: 'month', interval_count: 1, meter: null, trial_period_days: null, usage_type: 'licensed' },
    tax_behavior: 'unspecified',
    tiers_mode: null,
    transform_quantity: null,
    type: 'recurring',
    unit_amount: 1200,
    unit_amount_decimal: decimal('1200'),
  };
}

export function subscriptionItemObject(fields: {
  subscription: string;
  created: number;
  price: Stripe.Price;
  quantity: number;
  periodStart: number;
  periodEnd: number;
}): Stripe.SubscriptionItem {
  return {
    id: newId.subscriptionItem(),
    object: 'subscription_item',
    billing_thresholds: null,
    created: fields.created,
    current_period_end: fields.periodEnd,
    current_period_start: fields.periodStart,
    current_trial: null,
    discounts: [],
    metadata: {},
    plan: planOf(fields.price),
    price: fields.price,
    quantity: fields.quantity,
    subscription: fields.subscription,
    tax_rates: [],
  };
}

/** The legacy plan view of a price that every subscription item still carries. */
function planOf(price: Stripe.Price): Stripe.Plan {
  return {
    id: price.id,
    object: 'plan',
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: price.billing_scheme,
    created: price.created,
    currency: price.currency,
    interval: price.recurring?.interval ?? 'month',
    interval_count: price.recurring?.interval_count ?? 1,
    livemode: false,
    metadata: {},
    meter: null,
    nickname: null,
    product: price.product,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: 'licensed',
  };
}

export function subscriptionObject(fields: {
  id: string;
  customer: string;
  status: Stripe.Subscription.Status;
  created: number;
  trialEnd: number | null;
  metadata: Stripe.Metadata;
  item: Stripe.SubscriptionItem;
}): Stripe.Subscription {
  return {
    id: fields.id,
    object: 'subscription',
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: fields.item.current_period_start,
    billing_cycle_anchor_config: null,
    billing_mode: { flexible: null, type: 'classic' },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
    collection_method: 'charge_automatically',
    created: fields.created,
    currency: 'usd',
    customer: fields.customer,
    customer_account: null,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    ended_at: null,
    invoice_settings: { account_tax_ids: null, custom_fields: null, description: null, footer: null, issuer: { type: 'self' } },
    items: { object: 'list', data: [fields.item], has_more: false, url: `/v1/subscription_items?subscription=${fields.id}` },
    latest_invoice: null,
    livemode: false,
    managed_payments: null,
    metadata: fields.metadata,
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: 'off' },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: fields.created,
    status: fields.status,
    test_clock: null,
    transfer_data: null,
    trial_end: fields.trialEnd,
    trial_settings: { end_behavior: { billing_cycle_anchor: 'unchanged', missing_payment_method: 'create_invoice' } },
    trial_start: fields.trialEnd === null ? null : fields.created,
  };
}

export interface InvoiceFields {
  id: string;
  customer: string;
  subscription: string | null;
  number: string;
  created: number;
  subtotal: number;
  tax: number | null;
  status: NonNullable<Stripe.Invoice.Status>;
  lineDescription: string;
  customerName: string | null;
  customerEmail: string | null;
}

export function invoiceObject(fields: InvoiceFields): Stripe.Invoice {
  const total = fields.subtotal + (fields.tax ?? 0);
  const finalized = fields.status === 'draft' ? null : fields.created;
  return {
    id: fields.id,
    object: 'invoice',
    account_country: 'US',
    account_name: 'LeadPulse (local Stripe)',
    account_tax_ids: null,
    amount_due: total,
    amount_overpaid: 0,
    amount_paid: 0,
    amount_paid_off_stripe: 0,
    amount_remaining: total,
    amount_shipping: 0,
    application: null,
    attempt_count: 0,
    attempted: false,
    auto_advance: fields.status === 'draft',
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: null,
    billing_reason: fields.subscription ? 'subscription_cycle' : 'manual',
    collection_method: 'charge_automatically',
    confirmation_secret: null,
    created: fields.created,
    currency: 'usd',
    custom_fields: null,
    customer: fields.customer,
    customer_account: null,
    customer_address: fields.customerName ? { city: 'Springfield', country: 'US', line1: '1 Main St', line2: null, postal_code: null, state: null } : null,
    customer_email: fields.customerEmail,
    customer_name: fields.customerName,
    customer_phone: null,
    customer_shipping: null,
    customer_tax_exempt: 'none',
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    due_date: null,
    effective_at: finalized,
    ending_balance: finalized === null ? null : 0,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: 'self' },
    last_finalization_error: null,
    latest_revision: null,
    lines: {
      object: 'list',
      data: [invoiceLineObject(fields)],
      has_more: false,
      url: `/v1/invoices/${fields.id}/lines`,
    },
    livemode: false,
    metadata: {},
    next_payment_attempt: null,
    number: fields.status === 'draft' ? null : fields.number,
    on_behalf_of: null,
    parent: fields.subscription
      ? {
          quote_details: null,
          subscription_details: { metadata: {}, subscription: fields.subscription },
          type: 'subscription_details',
        }
      : null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: fields.created,
    period_start: fields.created,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: fields.status,
    status_transitions: { finalized_at: finalized, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    subtotal: fields.subtotal,
    subtotal_excluding_tax: fields.subtotal,
    test_clock: null,
    total: total,
    total_discount_amounts: [],
    total_excluding_tax: fields.subtotal,
    total_pretax_credit_amounts: [],
    total_taxes:
      fields.tax === null
        ? []
        : [
            {
              amount: fields.tax,
              tax_behavior: 'exclusive',
              tax_rate_details: null,
              taxability_reason: 'standard_rated',
              taxable_amount: fields.subtotal,
              type: 'tax_rate_details',
            },
          ],
    webhooks_delivered_at: fields.created,
  };
}

function invoiceLineObject(fields: InvoiceFields): Stripe.InvoiceLineItem {
  return {
    id: newId.invoiceLine(),
    object: 'line_item',
    amount: fields.subtotal,
    currency: 'usd',
    description: fields.lineDescription,
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: fields.id,
    livemode: false,
    metadata: {},
    parent: null,
    period: { end: fields.created, start: fields.created },
    pretax_credit_amounts: [],
    pricing: null,
    quantity: 1,
    quantity_decimal: decimal('1'),
    subscription: fields.subscription,
    subtotal: fields.subtotal,
    taxes: [],
  };
}

export function checkoutSessionObject(fields: {
  id: string;
  created: number;
  customer: string;
  clientReferenceId: string | null;
  metadata: Stripe.Metadata;
  successUrl: string;
  cancelUrl: string | null;
  url: string;
  amountSubtotal: number;
}): Stripe.Checkout.Session {
  return {
    id: fields.id,
    object: 'checkout.session',
    adaptive_pricing: null,
    after_expiration: null,
    allow_promotion_codes: null,
    allowed_payment_method_types: null,
    amount_subtotal: fields.amountSubtotal,
    amount_total: fields.amountSubtotal,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    billing_address_collection: null,
    cancel_url: fields.cancelUrl,
    client_reference_id: fields.clientReferenceId,
    client_secret: null,
    collected_information: null,
    consent: null,
    consent_collection: null,
    created: fields.created,
    currency: 'usd',
    currency_conversion: null,
    custom_fields: [],
    custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
    customer: fields.customer,
    customer_account: null,
    customer_creation: null,
    customer_details: null,
    customer_email: null,
    discounts: [],
    expires_at: fields.created + 86_400,
    integration_identifier: null,
    invoice: null,
    invoice_creation: null,
    livemode: false,
    locale: null,
    managed_payments: null,
    metadata: fields.metadata,
    mode: 'subscription',
    origin_context: null,
    payment_intent: null,
    payment_link: null,
    payment_method_collection: 'always',
    payment_method_configuration_details: null,
    payment_method_options: null,
    payment_method_types: ['card'],
    payment_status: 'unpaid',
    permissions: null,
    phone_number_collection: { enabled: false },
    recovered_from: null,
    saved_payment_method_options: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: 'open',
    submit_type: null,
    subscription: null,
    success_url: fields.successUrl,
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: 'hosted_page',
    url: fields.url,
    wallet_options: null,
  };
}

export function portalSessionObject(fields: {
  id: string;
  created: number;
  customer: string;
  configuration: string;
  returnUrl: string | null;
  url: string;
}): Stripe.BillingPortal.Session {
  return {
    id: fields.id,
    object: 'billing_portal.session',
    configuration: fields.configuration,
    created: fields.created,
    customer: fields.customer,
    customer_account: null,
    flow: null,
    livemode: false,
    locale: null,
    on_behalf_of: null,
    return_url: fields.returnUrl,
    url: fields.url,
  };
}

export function chargeObject(fields: { id: string; created: number; customer: string; amount: number; paymentIntent: string }): Stripe.Charge {
  return {
    id: fields.id,
    object: 'charge',
    amount: fields.amount,
    amount_captured: fields.amount,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: null,
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    calculated_statement_descriptor: 'LEADPULSE',
    captured: true,
    created: fields.created,
    currency: 'usd',
    customer: fields.customer,
    description: null,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    fraud_details: {},
    livemode: false,
    metadata: {},
    on_behalf_of: null,
    outcome: null,
    paid: true,
    payment_intent: fields.paymentIntent,
    payment_method: null,
    payment_method_details: null,
    receipt_email: null,
    receipt_number: null,
    receipt_url: null,
    refunded: false,
    refunds: { object: 'list', data: [], has_more: false, url: `/v1/charges/${fields.id}/refunds` },
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: 'succeeded',
    transfer_data: null,
    transfer_group: null,
  };
}

export function invoicePaymentObject(fields: { created: number; invoice: string; amount: number; paymentIntent: string }): Stripe.InvoicePayment {
  return {
    id: newId.invoicePayment(),
    object: 'invoice_payment',
    amount_paid: fields.amount,
    amount_requested: fields.amount,
    created: fields.created,
    currency: 'usd',
    invoice: fields.invoice,
    is_default: true,
    livemode: false,
    payment: { payment_intent: fields.paymentIntent, type: 'payment_intent' },
    status: 'paid',
    status_transitions: { canceled_at: null, paid_at: fields.created },
  };
}

export function creditNoteObject(fields: {
  id: string;
  created: number;
  customer: string;
  invoice: string;
  number: string;
  amount: number;
  /** Whether the invoice was paid when the note was issued (the amount is then a post-payment credit). */
  postPayment: boolean;
}): Stripe.CreditNote {
  return {
    id: fields.id,
    object: 'credit_note',
    amount: fields.amount,
    amount_shipping: 0,
    created: fields.created,
    currency: 'usd',
    customer: fields.customer,
    customer_account: null,
    customer_balance_transaction: null,
    discount_amount: 0,
    discount_amounts: [],
    effective_at: fields.created,
    invoice: fields.invoice,
    lines: { object: 'list', data: [], has_more: false, url: `/v1/credit_notes/${fields.id}/lines` },
    livemode: false,
    memo: null,
    metadata: {},
    number: fields.number,
    out_of_band_amount: null,
    pdf: `https://local.stripe.invalid/credit_notes/${fields.id}/pdf`,
    post_payment_amount: fields.postPayment ? fields.amount : 0,
    pre_payment_amount: fields.postPayment ? 0 : fields.amount,
    pretax_credit_amounts: [],
    reason: null,
    refunds: [],
    shipping_cost: null,
    status: 'issued',
    subtotal: fields.amount,
    subtotal_excluding_tax: fields.amount,
    total: fields.amount,
    total_excluding_tax: fields.amount,
    total_taxes: [],
    type: fields.postPayment ? 'post_payment' : 'pre_payment',
    voided_at: null,
  };
}
