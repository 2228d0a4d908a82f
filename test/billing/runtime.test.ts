/** The billing runtime's pure parts: where the Stripe client points, which signing secrets the webhook tries. */
import { describe, expect, it } from 'vitest';
import { stripeHostOf, webhookSecretsOf } from '../../functions/src/billing/runtime';

describe('STRIPE_API_URL', () => {
  it('points the client at Stripe or at the local Stripe, and refuses anything but an origin', () => {
    expect(stripeHostOf('https://api.stripe.com')).toEqual({ host: 'api.stripe.com', port: 443, protocol: 'https' });
    expect(stripeHostOf('http://127.0.0.1:12111')).toEqual({ host: '127.0.0.1', port: 12111, protocol: 'http' });
    for (const bad of ['https://api.stripe.com/v1', 'ftp://api.stripe.com', 'https://api.stripe.com?x=1']) {
      expect(() => stripeHostOf(bad), bad).toThrow(/^STRIPE_API_URL must be an origin/);
    }
  });
});

describe('STRIPE_WEBHOOK_SECRET_PREVIOUS', () => {
  it('adds the second secret only when it is one', () => {
    expect(webhookSecretsOf('whsec_new', 'whsec_old')).toEqual(['whsec_new', 'whsec_old']);
    expect(webhookSecretsOf('whsec_new', 'none')).toEqual(['whsec_new']);
    expect(webhookSecretsOf('whsec_new', '')).toEqual(['whsec_new']);
  });
});
