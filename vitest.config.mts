import { defineConfig } from 'vitest/config';

// One suite, two drivers: when FIRESTORE_EMULATOR_HOST already points at an emulator (Google's, started by
// `firebase emulators:exec`), the tests use it; otherwise the global setup starts the offline emulator.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Expected errors (denied writes, failing webhooks) log by design; only a failing test's logs are shown.
    silent: 'passed-only',
  },
});
