import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
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

describe('npm start orchestrator (real servers and services)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'geo-alert-up-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts servers and services, then stops every one of them on Ctrl-C (SIGINT)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'infra/src/up/main.ts')], {
      cwd: ROOT,
      env: { ...withoutServerUrls(process.env), DATA_DIR: dataDir, PORT: String(await freePort()), LOG_LEVEL: 'warn', SIM_SUBSCRIBERS: '5000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const deadline = Date.now() + 150_000;
    while (!out.includes('Ctrl-C stops everything') && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(out).toContain('Ctrl-C stops everything');
    expect(out).toMatch(/✓ NATS JetStream/);
    expect(out).toMatch(/✓ ClickHouse/);
    expect(out).toMatch(/✓ alerting/);
    const natsPid = Number(readFileSync(join(dataDir, 'nats', 'nats.pid'), 'utf8'));
    const chPid = Number(readFileSync(join(dataDir, 'clickhouse', 'clickhouse.pid'), 'utf8'));
    expect(alive(natsPid) && alive(chPid)).toBe(true);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('stopped.');
    expect(alive(natsPid)).toBe(false);
    expect(alive(chPid)).toBe(false);
  }, 240_000);
});
