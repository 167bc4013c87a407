import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../servers/free-port.ts';
import { checksOk, startService, type ServiceProcess } from './service.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

describe('startService', () => {
  let s: ServiceProcess | undefined;
  afterEach(async () => {
    await s?.stop(1000);
    s = undefined;
  });

  const start = async (opts: { ready?: ReturnType<typeof checksOk>; timeoutMs?: number; workAfterMs?: number } = {}) => {
    const port = await freePort();
    s = startService('fixture', 'service.fixture.ts', {
      cwd: here,
      env: { HEALTH_PORT: String(port), WORK_AFTER_MS: String(opts.workAfterMs ?? 500) },
      healthUrl: `http://127.0.0.1:${port}/healthz`,
      ready: opts.ready,
      timeoutMs: opts.timeoutMs,
    });
    return s;
  };

  it('is ready only once the named healthz checks are ok, not when the health server first answers', async () => {
    const p = await start({ ready: checksOk('work'), workAfterMs: 1500 });
    await p.ready;
    expect((await p.healthz())?.checks.work).toEqual({ ok: true });
    expect(p.output()).toContain('work ready');
    expect(await p.healthy()).toBe(true);
  });

  it('with no predicate, is ready once healthz answers 200', async () => {
    const p = await start({ workAfterMs: 600_000 });
    await p.ready;
    const answer = await p.healthz();
    expect(answer).toMatchObject({ status: 200, ok: true, checks: {} });
  });

  it('stops the process and fails with its output and its last healthz answer when the checks never come', async () => {
    // Long enough for a tsx start on busy cores, so that the health server has answered by then.
    const p = await start({ ready: checksOk('never'), timeoutMs: 30_000 });
    const err = await p.ready.catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      /waiting for fixture: ready at http:\/\/127\.0\.0\.1:\d+\/healthz; its output:\nhealth server up/,
    );
    expect((err as Error).message).toMatch(/its last healthz answer: \{"status":200/);
    expect(p.alive()).toBe(false);
  }, 90_000);

  it('fails at once when the process exits before it is ready', async () => {
    s = startService('fixture', 'tsx-process.fixture.ts', {
      cwd: here,
      env: { FIXTURE_MODE: 'crash' },
      healthUrl: 'http://127.0.0.1:9/healthz',
    });
    const err = await s.ready.catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      /^fixture exited before ready at http:\/\/127\.0\.0\.1:9\/healthz; its output:\nfixture: cannot start/,
    );
  });
});
