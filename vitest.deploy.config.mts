import { defineConfig } from 'vitest/config';

// `npm run test:deploy`: the deploy rehearsal end to end. It installs from the npm registry, so it is not part
// of `npm test` (which is offline); `npm run check` runs both.
export default defineConfig({
  test: {
    include: ['test/deploy/**/*.e2e.ts'],
    testTimeout: 180_000,
    pool: 'forks',
  },
});
