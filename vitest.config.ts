import { defineConfig } from 'vitest/config';

/**
 * One config, two projects: `unit` (pure, fast, no servers) and `int` (`*.int.test.ts`, against
 * the real nats-server and clickhouse-server that the global setup starts once per run).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['*/src/**/*.test.ts', '*/web/**/*.test.ts', '*/bench/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          environment: 'node',
          // A safety limit, not a performance check: CI's two cores may be busy.
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'int',
          include: ['*/src/**/*.int.test.ts', '*/web/**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['infra/src/test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two cores: keep the integration files from fighting over them.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
