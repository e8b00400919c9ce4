import { defineConfig } from 'vitest/config';

/**
 * The fault-injection suite (test/fault, issue #15): private PostgreSQL and MariaDB servers on fixed ports
 * (18250/18251) that the tests kill and restart, a TCP proxy that breaks the network, and spawned gateways.
 * One file at a time; run by .ci/steps/fault.sh (`npx vitest run -c vitest.fault.config.ts`), not `npm test`.
 */
export default defineConfig({
  test: {
    name: 'fault',
    include: ['test/fault/**/*.test.ts'],
    // Spawned gateways run the BUILT cli (dist/src/cli.js), as deployed; `npm run build` first.
    env: { TZ: 'UTC', SQLGATE_TEST_DIST: '1' },
    testTimeout: 60_000,
    hookTimeout: 90_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
