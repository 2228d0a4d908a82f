/**
 * The params and secrets the Functions runtime provides, for tests that load `functions/src/index.ts` and call
 * its wrappers (handlers build their dependencies from these). `overrides` replaces or adds values.
 */
export function provideFunctionParams(overrides: Record<string, string>): void {
  Object.assign(process.env, {
    FUNCTIONS_REGION: 'us-central1',
    ENFORCE_APP_CHECK: 'true',
    MAX_ORGS_PER_OWNER: '5',
    INVITE_TTL_DAYS: '7',
    MAX_PENDING_INVITES: '100',
    ORG_DELETION_GRACE_DAYS: '7',
    BILLING_CATALOG: JSON.stringify({ plans: { team: { priceId: 'price_team', minSeats: 1, maxSeats: 50, trialDays: 14 } } }),
    BILLING_APP_URL: 'https://app.leadpulse.test',
    STRIPE_SECRET_KEY: 'sk_test_function_params',
    STRIPE_WEBHOOK_SECRET: 'whsec_function_params',
    STRIPE_WEBHOOK_SECRET_PREVIOUS: 'none',
    STRIPE_API_URL: 'https://api.stripe.com',
    UNSUBSCRIBE_SIGNING_KEY: 'unsubscribe-signing-key-for-tests',
    ...overrides,
  });
}
