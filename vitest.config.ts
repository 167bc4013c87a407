import { defineConfig } from 'vitest/config';

/**
 * One config, three projects: `unit` (pure, fast, no servers), `int` (`*.int.test.ts`, against
 * the real nats-server and clickhouse-server that the global setup starts once per run) and `chaos`
 * (`proof/src/chaos/*.chaos.test.ts`, each owning a whole system it may break).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['*/src/**/*.test.ts', '*/web/**/*.test.ts', '*/bench/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/*.chaos.test.ts', '**/node_modules/**'],
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
      {
        test: {
          // Faults during a running alert (issue 10): each file starts and owns its whole system, so
          // that it may kill and restart servers; run after everything else, one file at a time.
          name: 'chaos',
          include: ['proof/src/chaos/**/*.chaos.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
