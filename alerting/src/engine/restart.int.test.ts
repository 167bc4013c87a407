import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CARRIERS } from '@geo/ingest';
import { smsJobSubject } from '@geo/messaging';
import { engineFixture } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsIn, jobsOf, numbers, offset, publishEvents, sleep, until } from '../testing/engine-kit.ts';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));
// Its own nats-server: with the shared one, another test file's engine (same durable consumers,
// same task bucket) may send everyone before the kill, and the run has no middle to kill it in.
const t = engineFixture('restart', { engine: false });
let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill('SIGKILL');
});

/** Starts `alerting/src/main.ts` as its own process and resolves once it says it is ready. */
function startProcess(instance: string): Promise<ChildProcess> {
  const p = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, NATS_URL: t.nats.url, HEALTH_PORT: '0', INSTANCE_ID: instance, LOG_LEVEL: 'info', JOB_BATCH_SIZE: '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('alerting ready')) resolve(p);
    });
    p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => reject(new Error(`alerting exited (${code}) before it was ready:\n${out.slice(-2000)}`)));
  });
}

describe('kill -9 in the middle of a run, then restart', () => {
  it('loses no job and duplicates none; presence and what was sent are restored', async () => {
    const centre: [number, number] = [85, 45];
    const present = numbers(6_000);
    await publishEvents(
      t.nc,
      present.map((m, i) => event(m, CARRIERS[i % 3], offset(centre, (i % 100) * 20, Math.floor(i / 100) * 20))),
      300,
    );
    child = await startProcess('victim');
    let seen = 0;
    let killedAt = -1;
    const sub = t.nc.subscribe('sms.jobs.>', {
      callback: (_e, m) => {
        const mine = jobsIn(m.data).filter((j) => j.sendId === 't-crash').length;
        if (mine === 0) return;
        seen += mine;
        if (seen >= 100 && killedAt < 0 && child) {
          child.kill('SIGKILL');
          killedAt = seen;
        }
      },
    });
    const store = await t.taskStore();
    await store.submit('t-crash', circleTask(centre, 10_000));
    await until('the victim was killed mid-run', () => killedAt > 0, 60_000);
    await new Promise<void>((r) => (child!.exitCode !== null || child!.signalCode ? r() : child!.once('exit', () => r())));
    child = undefined;
    const sentBeforeRestart = (await jobsOf(t.nc, 't-crash')).length;
    expect(sentBeforeRestart).toBeLessThan(present.length);
    // While it is down, some people walk in; they must be sent after the restart too.
    const walkIns = numbers(50);
    await publishEvents(
      t.nc,
      walkIns.map((m) => event(m, 'cmcc', offset(centre, 30, 30))),
    );
    const second = await t.startEngine('successor', { tickMs: 500 });
    // Core subscribers see every publish (also copies the stream drops by Msg-Id): a cheap progress signal.
    // (Republished copies are seen too: the stream is read once the count says it may be complete.)
    await until(
      'everyone sent',
      async () => seen >= present.length + walkIns.length && (await jobsOf(t.nc, 't-crash')).length >= present.length + walkIns.length,
      90_000,
    );
    await sleep(1_500);
    sub.unsubscribe();
    const jobs = await jobsOf(t.nc, 't-crash');
    const byNumber = new Map<string, number>();
    for (const j of jobs) byNumber.set(j.msisdn, (byNumber.get(j.msisdn) ?? 0) + 1);
    expect([...byNumber.values()].every((n) => n === 1)).toBe(true);
    expect([...byNumber.keys()].sort()).toEqual([...present, ...walkIns].sort());
    expect(second.engine.membersOf('t-crash')).toBe(present.length + walkIns.length);
    void smsJobSubject;
  });
});
