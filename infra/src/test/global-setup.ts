import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startStack, type RunningStack } from '../servers/stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    natsUrl: string;
    clickhouseUrl: string;
    /** A PostgreSQL server for the PostgreSQL-backed tests, when the run has one (CI does). */
    postgresUrl: string;
  }
}

let stack: RunningStack | undefined;
let dir: string | undefined;

/**
 * Starts one nats-server and one clickhouse-server for the whole integration run, on free ports
 * with temporary data, and removes them afterwards. Tests reach them with `inject('natsUrl')` etc.
 */
export async function setup(project: TestProject): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'geo-alert-test-'));
  stack = await startStack({ dataDir: dir, log: () => undefined });
  project.provide('natsUrl', stack.natsUrl);
  project.provide('clickhouseUrl', stack.clickhouseUrl);
  project.provide('postgresUrl', process.env.TEST_DATABASE_URL ?? '');
  process.env.NATS_URL = stack.natsUrl;
  process.env.CLICKHOUSE_URL = stack.clickhouseUrl;
}

export async function teardown(): Promise<void> {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
