import { defineConfig } from 'vitest/config';

/**
 * Two groups. `unit` (test/unit: no database, no fixed port) runs its files in parallel first; `db` runs
 * every other file one at a time afterwards, because those share the database servers, spawn gateways
 * and measure things (pool sizes, pg_stat_activity, event-loop delay) that other files would disturb.
 * test/fault has its own config (vitest.fault.config.ts, run by .ci/steps/fault.sh): it starts and kills
 * private database servers.
 */
const shared = {
  env: { TZ: 'UTC' },
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: { ...shared, name: 'unit', include: ['test/unit/**/*.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        test: {
          ...shared,
          name: 'db',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**', 'test/fault/**'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
