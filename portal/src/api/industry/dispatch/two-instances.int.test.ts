import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import { connectNats, type NatsConnection } from '@geo/infra';
import { startTsxProcess, untilReady, untilValue } from '@geo/infra/testing';
import { SMS_JOBS_STREAM, SmsJob } from '@geo/messaging';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { instanceId } from '../../../jobs/instance.ts';
import { freshDatabase } from '../../../jobs/test-database.ts';
import { loginAdmin, START_TIMEOUT, type Client } from '../../../test/harness.ts';
import { industryTestApp, type IndustryTestApp, type Requester } from '../test-app.ts';

/**
 * Two portal instances on one PostgreSQL server (#19): what one process did alone (the dispatcher,
 * jobs in memory) must hold when a load balancer spreads the work over two. PGlite cannot be shared
 * between instances, so these run only with a PostgreSQL server (CI has one: TEST_DATABASE_URL).
 */
const pgUrl = inject('postgresUrl');
const numbers = (n: number, prefix = '1380013') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A publisher that records what it was given and takes a while per window, as NATS under load
 * does: two dispatchers working on one send would both get through it.
 */
function slowRecorder(jobs: SmsJob[]) {
  return {
    async publish(js: readonly SmsJob[]) {
      await sleep(20);
      jobs.push(...js);
    },
  };
}

/** Polls an import's progress (answered 200 each time) until its phase is one of `phases`. */
const untilImport = (who: Client, id: string, phases: string[], timeoutMs: number) =>
  untilValue(
    `import ${id} ${phases.join(' or ')}`,
    async () => {
      const r = await who.req('GET', `/api/industry/imports/${id}`);
      expect(r.status).toBe(200);
      return phases.includes(r.body.phase) ? r : undefined;
    },
    timeoutMs,
    250,
  );

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));

/** A portal in its own process on the same database (portal/src/jobs/portal-process.ts), to be killed. */
async function portalProcess(
  databaseUrl: string,
  leaseMs: number,
  extra: Record<string, unknown> = {},
): Promise<{ url: string; child: ChildProcess }> {
  const cfg = { port: 0, databaseUrl, demo: true, captchaTestMode: true, scryptLogN: 10, trustProxy: true, ...extra };
  let url: string | undefined;
  const p = startTsxProcess('portal process', 'portal/src/jobs/portal-process.ts', {
    cwd: ROOT,
    env: { PORTAL_CONFIG: JSON.stringify(cfg), JOB_LEASE_MS: String(leaseMs) },
    onLine: (l) => {
      if (l.startsWith('READY ')) url = l.slice(6);
    },
  });
  await untilReady(p, 'READY <url> printed', () => url !== undefined, 120_000, 50);
  return { url: url!, child: p.child };
}

/** A request to the instance at `url` with a session taken on the other one (sessions live in the database). */
async function over(url: string, who: Client, method: string, path: string, body?: BodyInit): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, { method, body, headers: { cookie: who.cookie, 'x-csrf-token': who.csrf } });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

function mergeFile(rows: number): FormData {
  const lines = Array.from({ length: rows }, (_, i) => `13${String(500000000 + i)},尊敬的客户${i}，您好,本月账单已出`);
  const fd = new FormData();
  fd.set('kind', 'merge');
  fd.set('file', new File([lines.join('\n')], '定制.csv', { type: 'text/csv' }));
  return fd;
}

describe.skipIf(!pgUrl)('two portal instances on one PostgreSQL server (needs TEST_DATABASE_URL)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let a: IndustryTestApp;
  let b: IndustryTestApp;
  let adminA: Requester;
  const jobsA: SmsJob[] = [];
  const jobsB: SmsJob[] = [];

  beforeAll(async () => {
    db = await freshDatabase(pgUrl, `portal_two_${process.pid}`);
    // One after the other: the first applies the migrations and seeds the demo.
    a = await industryTestApp({ portal: { databaseUrl: db.url }, publisher: slowRecorder(jobsA) });
    b = await industryTestApp({ portal: { databaseUrl: db.url }, publisher: slowRecorder(jobsB) });
    adminA = a.as(await loginAdmin(a.portal));
  }, START_TIMEOUT);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  it('fires a scheduled send exactly once when both dispatchers pass at the same time', async () => {
    const n = 6000; // three chunks of 2,000: long enough for both dispatchers to be at it together
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const r = await adminA('POST', '/api/industry/sends', {
      recipients: numbers(n).join('\n'),
      content: '两个实例定时发送',
      action: 'schedule',
      scheduledAt: at,
    });
    expect(r.status).toBe(200);
    expect(r.body.state).toBe('scheduled');
    const id: string = r.body.id;
    await a.portal.deps.db.query(`UPDATE sms_sends SET scheduled_at = now() - interval '1 minute' WHERE id = $1`, [id]);

    await Promise.all([a.industry.tick(), b.industry.tick(), a.industry.tick(), b.industry.tick()]);
    await Promise.all([a.industry.tick(), b.industry.tick()]);

    const published = [...jobsA, ...jobsB].filter((j) => j.sendId === id);
    const ids = published.map((j) => j.jobId);
    expect(new Set(ids).size).toBe(n);
    expect(ids.length).toBe(n);
    const { rows } = await b.portal.deps.db.query<{ state: string; published: number }>(
      'SELECT state, published FROM sms_sends WHERE id = $1',
      [id],
    );
    expect(rows[0]).toMatchObject({ state: 'sent', published: n });
  });

  it('takes over a send whose publishing instance was killed, from where it stopped, once its claim expired', async () => {
    const r = await adminA('POST', '/api/industry/sends', {
      recipients: numbers(5000, '1390013').join('\n'),
      content: '接手发送',
      action: 'schedule',
      scheduledAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(r.status).toBe(200);
    const id: string = r.body.id;
    // What a portal killed after its first chunk leaves: queued, 2,000 published, its claim still on.
    await a.portal.deps.db.query(
      `UPDATE sms_sends SET state = 'queued', published = 2000, dispatch_owner = 'killed-instance', dispatch_until = now() + interval '1 hour' WHERE id = $1`,
      [id],
    );
    await Promise.all([a.industry.tick(), b.industry.tick()]);
    expect([...jobsA, ...jobsB].filter((j) => j.sendId === id)).toHaveLength(0);

    await a.portal.deps.db.query(`UPDATE sms_sends SET dispatch_until = now() - interval '1 second' WHERE id = $1`, [id]);
    await Promise.all([a.industry.tick(), b.industry.tick()]);
    const seqs = [...jobsA, ...jobsB].filter((j) => j.sendId === id).map((j) => Number(j.jobId.split(':')[1]));
    expect(seqs).toHaveLength(3000);
    expect(Math.min(...seqs)).toBe(2001);
    expect(new Set(seqs).size).toBe(3000);
  });

  /** A small send of `n` recipients, queued as a dispatcher finds it (scheduled far ahead, then made due by hand). */
  async function queuedSend(tag: string, n = 3): Promise<string> {
    const r = await adminA('POST', '/api/industry/sends', {
      recipients: numbers(n, tag).join('\n'),
      content: '认领测试',
      action: 'schedule',
      scheduledAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(r.status).toBe(200);
    await a.portal.deps.db.query(`UPDATE sms_sends SET state = 'queued' WHERE id = $1`, [r.body.id]);
    return r.body.id as string;
  }

  it('a dispatcher pass selects only sends nobody holds: a live claim of another instance is left alone, an expired one is taken', async () => {
    const held = await queuedSend('1370013');
    const expired = await queuedSend('1370014');
    const free = await queuedSend('1370015');
    // A is publishing `held` (its claim is live); the owner of `expired` was killed an hour ago.
    await a.portal.deps.db.query(`UPDATE sms_sends SET dispatch_owner = $2, dispatch_until = now() + interval '1 hour' WHERE id = $1`, [
      held,
      instanceId(a.portal.deps),
    ]);
    await a.portal.deps.db.query(
      `UPDATE sms_sends SET dispatch_owner = 'killed-instance', dispatch_until = now() - interval '1 hour' WHERE id = $1`,
      [expired],
    );
    const pass = await b.industry.tick();
    const mine = (ids: string[]) => ids.filter((id) => [held, expired, free].includes(id));
    expect(mine(pass.selected).sort()).toEqual([expired, free].sort());
    const { rows } = await b.portal.deps.db.query<{ id: string; state: string }>('SELECT id, state FROM sms_sends WHERE id = ANY($1)', [
      [held, expired, free],
    ]);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.state]))).toEqual({ [held]: 'queued', [expired]: 'sent', [free]: 'sent' });
    await a.portal.deps.db.query(`UPDATE sms_sends SET dispatch_until = NULL WHERE id = $1`, [held]);
  });

  it('two passes at the same time select disjoint sends, together all of them', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await queuedSend(`13600${10 + i}`, 400));
    const [pa, pb] = await Promise.all([a.industry.tick(), b.industry.tick()]);
    const selA = pa.selected.filter((id) => ids.includes(id));
    const selB = pb.selected.filter((id) => ids.includes(id));
    expect(selA.filter((id) => selB.includes(id))).toEqual([]);
    expect([...selA, ...selB].sort()).toEqual([...ids].sort());
    const published = [...jobsA, ...jobsB].filter((j) => ids.includes(j.sendId!));
    expect(published).toHaveLength(8 * 400);
  });

  describe('an upload job on an instance that is killed', () => {
    let killed: { url: string; child: ChildProcess } | undefined;
    let who: Client;
    beforeAll(async () => {
      killed = await portalProcess(db.url, 1500);
      who = await loginAdmin(b.portal);
    }, START_TIMEOUT);
    afterAll(() => {
      killed?.child.kill('SIGKILL');
    });

    it('is answered by the other instance while it runs and once it is done', async () => {
      const start = await over(killed!.url, who, 'POST', '/api/industry/upload-jobs', mergeFile(300));
      expect(start.status).toBe(202);
      const r = await untilImport(who, start.body.jobId, ['done', 'failed'], 50_000);
      expect(r.body).toMatchObject({ phase: 'done', kind: 'merge', rows: 300, percent: 100, upload: { accepted: 300, rows: 300 } });
    }, 60_000);

    it('is failed with a message saying so, never left running, when that instance is killed mid-check', async () => {
      const start = await over(killed!.url, who, 'POST', '/api/industry/upload-jobs', mergeFile(100_000));
      expect(start.status).toBe(202);
      const id: string = start.body.jobId;
      const seen = await who.req('GET', `/api/industry/imports/${id}`);
      expect(seen.status).toBe(200);
      expect(['reading', 'importing']).toContain(seen.body.phase);
      killed!.child.kill('SIGKILL');
      await new Promise((r) => killed!.child.once('exit', r));

      const r = await untilImport(who, id, ['failed'], 30_000);
      expect(r.body.phase).toBe('failed');
      expect(r.body.error).toEqual({ code: 'JOB_INTERRUPTED', message: '处理此文件的服务实例已停止，文件检查未完成，请重新上传文件。' });
      // The instance that noticed wrote it down: it stays failed for every instance.
      const { rows } = await b.portal.deps.db.query<{ phase: string }>('SELECT phase FROM portal_jobs WHERE id = $1', [id]);
      expect(rows[0]?.phase).toBe('failed');
    }, 60_000);
  });

  it('fails at once the jobs of an instance that is stopped (SIGTERM), without waiting for their lease', async () => {
    const stopping = await portalProcess(db.url, 600_000);
    try {
      const who = await loginAdmin(b.portal);
      const start = await over(stopping.url, who, 'POST', '/api/industry/upload-jobs', mergeFile(100_000));
      expect(start.status).toBe(202);
      const exited = new Promise((r) => stopping.child.once('exit', r));
      stopping.child.kill('SIGTERM');
      await exited;
      const r = await who.req('GET', `/api/industry/imports/${start.body.jobId}`);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        phase: 'failed',
        error: { code: 'JOB_INTERRUPTED', message: '处理此文件的服务实例已停止，文件检查未完成，请重新上传文件。' },
      });
    } finally {
      stopping.child.kill('SIGKILL');
    }
  }, 120_000);

  it('gives up a job another instance failed while this one was paused past its lease, and answers that failure', async () => {
    const who = await loginAdmin(a.portal);
    const start = await who.reqRaw('POST', '/api/industry/upload-jobs', mergeFile(100_000));
    expect(start.status).toBe(202);
    const id: string = start.body.jobId;
    // What another instance does to a job whose lease expired (failExpiredJobs), done at once here.
    const taken = await b.portal.deps.db.query(
      `UPDATE portal_jobs SET phase = 'failed', owner = 'the-other-instance', finished_at = now(), error = '{"code":"JOB_INTERRUPTED","message":"处理此文件的服务实例已停止，文件检查未完成，请重新上传文件。"}'
       WHERE id = $1 AND phase IN ('reading', 'importing')`,
      [id],
    );
    expect(taken.rowCount).toBe(1);
    const r = await untilImport(who, id, ['failed'], 30_000);
    expect(r.body).toMatchObject({ phase: 'failed', error: { code: 'JOB_INTERRUPTED' } });
    // Its own progress writes stopped too: the row is still the other instance's failure.
    await sleep(1500);
    const { rows } = await b.portal.deps.db.query<{ owner: string; phase: string }>('SELECT owner, phase FROM portal_jobs WHERE id = $1', [
      id,
    ]);
    expect(rows[0]).toEqual({ owner: 'the-other-instance', phase: 'failed' });
  }, 60_000);

  it('publishes every job of a send once when the instance publishing it is killed mid-send (real processes, real NATS)', async () => {
    const nc: NatsConnection = await connectNats(inject('natsUrl'), 'portal-two-dispatch');
    const killed = await portalProcess(db.url, 2000, { natsUrl: inject('natsUrl') });
    let survivor: IndustryTestApp | undefined;
    try {
      const who = await loginAdmin(b.portal);
      const n = 40_000;
      const recipients = Array.from({ length: n }, (_, i) => `13${String(600000000 + i)}`).join('\n');
      const at = new Date(Date.now() + 3_600_000).toISOString();
      const r = await who.req('POST', '/api/industry/sends', {
        recipients,
        content: '实例被杀时的发送',
        action: 'schedule',
        scheduledAt: at,
      });
      expect(r.status).toBe(200);
      const id: string = r.body.id;
      // Due now: the killed instance's dispatcher (a pass a second) takes it.
      await b.portal.deps.db.query(`UPDATE sms_sends SET scheduled_at = now() - interval '1 minute' WHERE id = $1`, [id]);
      let row: { state: string; published: number; dispatch_owner: string | null } | undefined;
      for (let i = 0; i < 600; i++) {
        row = (
          await b.portal.deps.db.query<typeof row & object>('SELECT state, published, dispatch_owner FROM sms_sends WHERE id = $1', [id])
        ).rows[0];
        if (row && row.published > 0) break;
        await sleep(50);
      }
      expect(row).toMatchObject({ state: 'queued' });
      expect(row!.published).toBeGreaterThan(0);
      expect(row!.published).toBeLessThan(n);
      killed.child.kill('SIGKILL');
      await new Promise((res) => killed.child.once('exit', res));
      const leftAt = (await b.portal.deps.db.query<{ published: number }>('SELECT published FROM sms_sends WHERE id = $1', [id])).rows[0]!
        .published;

      survivor = await industryTestApp({ portal: { databaseUrl: db.url }, nc, replyConsumer: `portal-two-${process.pid}` });
      for (let i = 0; i < 100; i++) {
        await survivor.industry.tick();
        if ((await b.portal.deps.db.query<{ state: string }>('SELECT state FROM sms_sends WHERE id = $1', [id])).rows[0]!.state === 'sent')
          break;
        await sleep(500);
      }
      const { rows } = await b.portal.deps.db.query<{ state: string; published: number; dispatch_owner: string }>(
        'SELECT state, published, dispatch_owner FROM sms_sends WHERE id = $1',
        [id],
      );
      expect(rows[0]).toMatchObject({ state: 'sent', published: n });
      expect(rows[0]!.dispatch_owner).not.toBe(row!.dispatch_owner);

      // On SMS_JOBS: every recipient's job, once (NATS drops a re-published chunk by its Nats-Msg-Id).
      const c = await jetstream(nc).consumers.get(SMS_JOBS_STREAM, { filter_subjects: 'sms.jobs.>' });
      const seqs = new Map<number, number>();
      for (let round = 0; round < 200 && seqs.size < n; round++) {
        const batch = await c.fetch({ max_messages: 5000, expires: 2000 });
        for await (const m of batch) {
          let job: ReturnType<typeof SmsJob.safeParse>;
          try {
            job = SmsJob.safeParse(m.json());
          } catch {
            continue;
          }
          if (job.success && job.data.sendId === id) {
            const seq = Number(job.data.jobId.split(':')[1]);
            seqs.set(seq, (seqs.get(seq) ?? 0) + 1);
          }
        }
      }
      expect(seqs.size).toBe(n);
      expect([...seqs.values()].every((x) => x === 1)).toBe(true);
      console.info(`two-instances: killed after ${leftAt} of ${n} published; the survivor published the rest`);
    } finally {
      killed.child.kill('SIGKILL');
      await survivor?.stop();
      await nc.close();
    }
  }, 300_000);
});
