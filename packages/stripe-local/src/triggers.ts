/**
 * `stripe trigger <event>` for the local Stripe: each flow changes the local Stripe's objects the way the Stripe
 * CLI's fixture for that event drives Stripe, and emits the events Stripe would send on the way (forwarded to the
 * configured webhook). Like the CLI, a flow makes a new customer unless one is named: naming the customer of an
 * organization (`--customer cus_…`) makes the events reach that organization.
 */
import type { Json } from './params';
import type { LocalStripe } from './server';

export interface TriggerOptions {
  /** An existing customer of the local Stripe; a new one otherwise. */
  customer?: string;
  /** The price of subscriptions the flow creates; the first known price otherwise. */
  price?: string;
}

type Flow = (local: LocalStripe, customer: string, price: string) => void;

function subscribe(local: LocalStripe, customer: string, price: string, status: 'active' | 'trialing' = 'active'): string {
  const subscription = local.addSubscription({ customer, price, quantity: 1, status, trialEnd: status === 'trialing' ? local.now() + 3 * 86_400 : null });
  local.emit('customer.subscription.created', subscription);
  return subscription.id as string;
}

function openInvoice(local: LocalStripe, customer: string, subscription: string | null): string {
  const invoice = local.addInvoice({ customer, subscription, total: 2000, status: 'open' });
  local.emit('invoice.finalized', invoice);
  return invoice.id as string;
}

function paidInvoice(local: LocalStripe, customer: string, subscription: string | null): string {
  const id = openInvoice(local, customer, subscription);
  local.emit('invoice.paid', local.updateInvoice(id, 'paid'));
  return id;
}

function checkout(local: LocalStripe, customer: string, price: string): Json {
  const session = local.addCheckoutSession({ customer, price, quantity: 1 });
  return local.payCheckout(session.id as string).session;
}

const flows: Record<string, Flow> = {
  'checkout.session.completed': (local, customer, price) => void checkout(local, customer, price),
  'checkout.session.async_payment_succeeded': (local, customer, price) => {
    local.emit('checkout.session.async_payment_succeeded', checkout(local, customer, price));
  },
  'checkout.session.async_payment_failed': (local, customer, price) => {
    local.emit('checkout.session.async_payment_failed', checkout(local, customer, price));
  },
  'customer.subscription.created': (local, customer, price) => void subscribe(local, customer, price),
  'customer.subscription.updated': (local, customer, price) => {
    const id = subscribe(local, customer, price);
    local.emit('customer.subscription.updated', local.updateSubscription(id, { quantity: 2 }));
  },
  'customer.subscription.deleted': (local, customer, price) => {
    const id = subscribe(local, customer, price);
    local.emit('customer.subscription.deleted', local.updateSubscription(id, { status: 'canceled', canceled_at: local.now(), ended_at: local.now() }));
  },
  'customer.subscription.trial_will_end': (local, customer, price) => {
    const id = subscribe(local, customer, price, 'trialing');
    local.emit('customer.subscription.trial_will_end', local.subscriptions.get(id) as Json);
  },
  'customer.subscription.paused': (local, customer, price) => {
    const id = subscribe(local, customer, price, 'trialing');
    local.emit('customer.subscription.paused', local.updateSubscription(id, { status: 'paused' }));
  },
  'customer.subscription.resumed': (local, customer, price) => {
    const id = subscribe(local, customer, price, 'trialing');
    local.emit('customer.subscription.paused', local.updateSubscription(id, { status: 'paused' }));
    local.emit('customer.subscription.resumed', local.updateSubscription(id, { status: 'active' }));
  },
  'invoice.finalized': (local, customer) => void openInvoice(local, customer, null),
  'invoice.paid': (local, customer) => void paidInvoice(local, customer, null),
  'invoice.payment_failed': (local, customer, price) => {
    const subscription = subscribe(local, customer, price);
    const id = openInvoice(local, customer, subscription);
    local.emit('customer.subscription.updated', local.updateSubscription(subscription, { status: 'past_due' }));
    local.emit('invoice.payment_failed', local.invoices.get(id) as Json);
  },
  'invoice.payment_action_required': (local, customer) => {
    const id = openInvoice(local, customer, null);
    local.emit('invoice.payment_action_required', local.invoices.get(id) as Json);
  },
  'invoice.voided': (local, customer) => {
    const id = openInvoice(local, customer, null);
    local.emit('invoice.voided', local.updateInvoice(id, 'void'));
  },
  'invoice.marked_uncollectible': (local, customer) => {
    const id = openInvoice(local, customer, null);
    local.emit('invoice.marked_uncollectible', local.updateInvoice(id, 'uncollectible'));
  },
  'charge.refunded': (local, customer) => {
    const charge = local.chargeOfInvoice(paidInvoice(local, customer, null)) as Json;
    local.emit('charge.refunded', local.refundCharge(charge.id as string, charge.amount as number));
  },
  'credit_note.created': (local, customer) => {
    local.emit('credit_note.created', local.addCreditNote(paidInvoice(local, customer, null), 500));
  },
  'credit_note.updated': (local, customer) => {
    const note = local.addCreditNote(paidInvoice(local, customer, null), 500);
    local.emit('credit_note.created', note);
    local.emit('credit_note.updated', local.updateCreditNote(note.id as string, { memo: 'Updated by stripe:trigger' }));
  },
  'credit_note.voided': (local, customer) => {
    const note = local.addCreditNote(paidInvoice(local, customer, null), 500);
    local.emit('credit_note.created', note);
    local.emit('credit_note.voided', local.voidCreditNote(note.id as string));
  },
  'customer.deleted': (local, customer) => {
    local.emit('customer.deleted', local.deleteCustomer(customer));
  },
};

/** The events `trigger` can play. */
export const triggerEvents = Object.keys(flows).sort();

/** Plays `event`'s flow; returns the ids of the events it emitted. */
export function trigger(local: LocalStripe, event: string, options: TriggerOptions = {}): string[] {
  if (!Object.prototype.hasOwnProperty.call(flows, event)) {
    throw new Error(`no trigger for ${event}; available: ${triggerEvents.join(', ')}`);
  }
  const before = new Set(local.events.keys());
  let customer = options.customer;
  if (customer === undefined) customer = local.addCustomer({}).id as string;
  else if (!local.customers.has(customer) || local.customers.get(customer)?.deleted) throw new Error(`no customer ${customer} in the local Stripe`);
  const price = options.price ?? [...local.prices][0];
  if (price === undefined) throw new Error('the local Stripe knows no price: start it with --price');
  flows[event](local, customer, price);
  return [...local.events.keys()].filter((id) => !before.has(id));
}
