import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { connectNats } from '../nats/connect.ts';
import { ensureStream, jetstreamManager } from '../nats/streams.ts';
import { freePort } from '../servers/free-port.ts';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The test run's own servers are in NATS_URL etc.; the orchestrator under test must start its own. */
function withoutServerUrls(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NATS_URL: _n, CLICKHOUSE_URL: _c, DATABASE_URL: _d, ...rest } = env;
  return rest;
}

interface Up {
  out: () => string;
  natsUrl: string;
  stop(): Promise<number | null>;
}

const children = new Set<ReturnType<typeof spawn>>();

async function up(dataDir: string): Promise<Up> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'infra/src/up/main.ts')], {
    cwd: ROOT,
    env: {
      ...withoutServerUrls(process.env),
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      SIM_SUBSCRIBERS: '5000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const deadline = Date.now() + 300_000;
  while (!out.includes('Ctrl-C stops everything') && Date.now() < deadline && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(out).toContain('Ctrl-C stops everything');
  const natsUrl = /NATS JetStream\s+(nats:\/\/\S+)/.exec(out)?.[1] ?? '';
  return {
    out: () => out,
    natsUrl,
    stop: async () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

describe('npm start orchestrator (real servers and services)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'geo-alert-up-'));
  afterAll(async () => {
    // A failed assertion must not leave an orchestrator (and its servers) running.
    for (const c of children) {
      c.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 5000));
      c.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts servers and services, stops every one of them on Ctrl-C, and a second start reuses the data', async () => {
    const first = await up(dataDir);
    expect(first.out()).toMatch(/✓ NATS JetStream/);
    expect(first.out()).toMatch(/✓ ClickHouse/);
    expect(first.out()).toMatch(/✓ alerting/);
    const natsPid = Number(readFileSync(join(dataDir, 'nats', 'nats.pid'), 'utf8'));
    const chPid = Number(readFileSync(join(dataDir, 'clickhouse', 'clickhouse.pid'), 'utf8'));
    expect(alive(natsPid) && alive(chPid)).toBe(true);

    let nc = await connectNats(first.natsUrl, 'up-test');
    await ensureStream(await jetstreamManager(nc), { name: 'UP_PERSIST', subjects: ['up.persist'] });
    await jetstream(nc).publish('up.persist', 'kept across restarts');
    await nc.close();

    expect(await first.stop()).toBe(0);
    expect(first.out()).toContain('stopped.');
    expect(alive(natsPid)).toBe(false);
    expect(alive(chPid)).toBe(false);

    const second = await up(dataDir);
    nc = await connectNats(second.natsUrl, 'up-test');
    const info = await (await jetstreamManager(nc)).streams.info('UP_PERSIST');
    expect(info.state.messages).toBe(1);
    await nc.close();
    expect(await second.stop()).toBe(0);
  }, 900_000);
});
