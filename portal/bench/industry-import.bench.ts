/**
 * Imports and upload jobs of 100,000 rows (`npm run bench:portal -- industry-import`): the portal on
 * PGlite (a fresh data directory on disk) with the demo seed, in its own process (bench-portal-process.ts), while this
 * process, as another user, asks `/healthz` and a contacts page every 100 ms. Each run is started
 * over HTTP and polled as the page does:
 *
 * - `contacts`: a header line and 100,000 TXT rows into the personal address book;
 * - `batch`: a 批量发送 file (a header and 100,000 numbers) as an upload job (`/api/industry/upload-jobs`);
 * - `merge`: a 定制发送 file (a header and 100,000 rows of number + three text columns) as an upload job;
 * - `xlsx`: 100,000 Excel rows into the enterprise book (building that file alone takes a minute on
 *   a loaded 2-core box, so it runs only when asked).
 *
 * `BENCH_IMPORTS=batch,merge` picks runs (default `contacts,batch,merge`); `BENCH_XLSX=1` adds `xlsx`;
 * `BENCH_PORTAL_CPU_PROF=<dir>` writes the portal process's CPU profile there (`--cpu-prof`), to find
 * what holds its event loop.
 * Figures per run: seconds, the worst and p99 latency of the concurrent requests, the portal's
 * longest event-loop stall (monitorEventLoopDelay inside the portal process), and how many distinct
 * progress values the poll saw (the progress bar moves).
 */
import ExcelJS from 'exceljs';
import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { login, demo } from '../src/test/harness.ts';
import type { Portal } from '../src/portal.ts';

const ROWS = 100_000;
const IP = '10.9.9.9';

type Kind = 'contacts' | 'xlsx' | 'batch' | 'merge';
const RUN: Record<Kind, { path: string; file: string; metric: string; prefix: string; book: 'personal' | 'enterprise' }> = {
  contacts: {
    path: '/api/industry/books/personal/import',
    file: 'contacts.txt',
    metric: 'import_100k_rows_s',
    prefix: 'import_txt',
    book: 'personal',
  },
  xlsx: {
    path: '/api/industry/books/enterprise/import',
    file: 'contacts.xlsx',
    metric: 'import_100k_xlsx_rows_s',
    prefix: 'import_xlsx',
    book: 'enterprise',
  },
  batch: {
    path: '/api/industry/upload-jobs',
    file: 'batch.txt',
    metric: 'batch_upload_job_100k_numbers_s',
    prefix: 'batch_upload_job',
    book: 'personal',
  },
  merge: {
    path: '/api/industry/upload-jobs',
    file: 'merge.txt',
    metric: 'merge_upload_job_100k_rows_s',
    prefix: 'merge_upload_job',
    book: 'personal',
  },
};

async function xlsxFile(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  const out = new PassThrough();
  out.on('data', (d: Buffer) => chunks.push(d));
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: true, useStyles: false });
  const ws = wb.addWorksheet('通讯录');
  ws.addRow(['姓名', '手机号码', '性别', '生日', '邮箱', '单位', '职务', '地址', '备注']).commit();
  for (let i = 0; i < ROWS; i++)
    ws.addRow([
      `联系人${i}`,
      String(13000000000 + i * 7),
      i % 2 ? '男' : '女',
      '1990-01-01',
      `u${i}@example.com`,
      '翼讯通',
      '经理',
      '杭州市西湖区',
      '',
    ]).commit();
  ws.commit();
  await wb.commit();
  return new Uint8Array(Buffer.concat(chunks));
}

function lines(header: string, row: (i: number) => string): Uint8Array {
  const out: string[] = [header]; // the 100,000-row limit counts data rows, not the header
  for (let i = 0; i < ROWS; i++) out.push(row(i));
  return new TextEncoder().encode(out.join('\n'));
}

async function file(kind: Kind): Promise<Uint8Array> {
  if (kind === 'xlsx') return xlsxFile();
  if (kind === 'contacts') return lines('姓名,手机号码,性别', (i) => `员工${i},${15000000000 + i * 3},${i % 2 ? '男' : '女'}`);
  if (kind === 'batch') return lines('手机号码', (i) => String(13900000000 + i * 7));
  // ~65 bytes a row, 6.6 MB: under the 10 MB upload limit.
  return lines('手机号码,内容1,内容2,内容3', (i) => `${13700000000 + i * 7},客户${i}您好，,快递已到，,取件码${(i % 9000) + 1000}。`);
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : 0;
};

/** The portal in its own process; resolves with its URL and a way to ask it for its event-loop stats. */
async function startPortal(): Promise<{
  url: string;
  child: ChildProcess;
  ask(t: 'reset' | 'stats'): Promise<{ maxMs: number; p99Ms: number }>;
  stop(): Promise<void>;
}> {
  const prof = process.env.BENCH_PORTAL_CPU_PROF;
  const execArgv = ['--import', 'tsx', ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, '--cpu-prof-interval=500'] : [])];
  const child = fork(fileURLToPath(new URL('./bench-portal-process.ts', import.meta.url)), [], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { t: string; url: string }) => resolve(m.url));
    child.once('exit', (code) => reject(new Error(`the portal process ended (${code}) before it listened`)));
  });
  return {
    url,
    child,
    ask: (t) =>
      new Promise((resolve) => {
        if (t === 'reset') {
          child.send({ t });
          resolve({ maxMs: 0, p99Ms: 0 });
          return;
        }
        child.once('message', (m: { maxMs: number; p99Ms: number }) => resolve(m));
        child.send({ t });
      }),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.send({ t: 'stop' });
      }),
  };
}

async function main() {
  const load0 = loadavg()[0]!;
  const picked = (process.env.BENCH_IMPORTS ?? 'contacts,batch,merge')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean) as Kind[];
  if (process.env.BENCH_XLSX === '1' && !picked.includes('xlsx')) picked.push('xlsx');
  for (const k of picked) if (!(k in RUN)) throw new Error(`unknown BENCH_IMPORTS entry "${k}" (contacts, batch, merge, xlsx)`);

  const portal = await startPortal();
  // The harness's login goes through portal.request: here that is HTTP to the other process.
  const remote = { request: (path: string, init?: RequestInit) => fetch(portal.url + path, init) } as unknown as Portal;
  const admin = await login(remote, demo.admin.name, demo.admin.password, IP);
  const headers = { cookie: admin.cookie, 'x-forwarded-for': IP };
  // A keep-alive socket the server closes just as the client reuses it ends in ECONNRESET on a
  // loaded box: try again (and count it), as a browser would.
  let resets = 0;
  const get = async (path: string): Promise<Response> => {
    for (let i = 0; ; i++) {
      try {
        return await fetch(portal.url + path, { headers });
      } catch (err) {
        if (i >= 2) throw err;
        resets++;
      }
    }
  };

  const results: Partial<
    Record<Kind, { s: number; imported: number; rejected: number; percents: number; latencies: number[]; loopMaxMs: number }>
  > = {};
  try {
    for (const kind of picked) {
      const run = RUN[kind];
      const t0 = performance.now();
      const bytes = await file(kind);
      console.log(`${kind}: ${(bytes.length / 1048576).toFixed(1)} MB file built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const latencies: number[] = [];
      let probing = true;
      await portal.ask('reset');
      const prober = (async () => {
        for (let i = 0; probing; i++) {
          const s = performance.now();
          const r = await get(i % 2 ? '/healthz' : `/api/industry/books/${run.book}/contacts?pageSize=20`);
          await r.arrayBuffer();
          latencies.push(performance.now() - s);
          await new Promise((res) => setTimeout(res, 100));
        }
      })();
      const f = new FormData();
      f.set('file', new Blob([bytes as BlobPart]), run.file);
      if (kind === 'batch' || kind === 'merge') f.set('kind', kind);
      const start = performance.now();
      let job: { jobId: string; phase: string; percent: number; imported: number; rejectedTotal: number; error: unknown };
      const percents = new Set<number>();
      try {
        const res = await fetch(`${portal.url}${run.path}`, {
          method: 'POST',
          headers: { ...headers, 'x-csrf-token': admin.csrf },
          body: f,
        });
        job = (await res.json()) as typeof job;
        if (res.status !== 202) throw new Error(`${kind} refused: ${res.status} ${JSON.stringify(job)}`);
        while (job.phase === 'reading' || job.phase === 'importing') {
          await new Promise((r) => setTimeout(r, 400));
          job = (await (await get(`/api/industry/imports/${job.jobId}`)).json()) as typeof job;
          percents.add(job.percent);
        }
      } finally {
        probing = false;
        await prober;
      }
      const s = (performance.now() - start) / 1000;
      const loop = await portal.ask('stats');
      if (job.phase !== 'done') throw new Error(`${kind} failed: ${JSON.stringify(job.error)}`);
      console.log(
        `${kind}: ${job.imported} accepted, ${job.rejectedTotal} rejected in ${s.toFixed(1)} s; ${latencies.length} concurrent requests, max ${Math.max(...latencies).toFixed(0)} ms, ` +
          `p99 ${pct(latencies, 99).toFixed(0)} ms; portal event loop held at most ${loop.maxMs.toFixed(0)} ms; ${percents.size} progress values`,
      );
      results[kind] = { s, imported: job.imported, rejected: job.rejectedTotal, percents: percents.size, latencies, loopMaxMs: loop.maxMs };
    }
  } finally {
    await portal.stop();
  }

  const load = Math.max(load0, loadavg()[0]!);
  const fig = (metric: string, value: number, unit: string, extra: Record<string, unknown> = {}) =>
    console.log(
      JSON.stringify({
        bench: 'portal',
        metric,
        value: Math.round(value * 100) / 100,
        unit,
        load_avg_1m: Math.round(load * 10) / 10,
        ...extra,
      }),
    );
  for (const kind of picked) {
    const r = results[kind]!;
    const run = RUN[kind];
    fig(run.metric, r.s, 's', { file: run.file.split('.')[1], accepted: r.imported, rejected: r.rejected, progress_values: r.percents });
    fig(`${run.prefix}_concurrent_request_max_ms`, Math.max(...r.latencies), 'ms', { requests: r.latencies.length });
    fig(`${run.prefix}_concurrent_request_p99_ms`, pct(r.latencies, 99), 'ms');
    fig(`${run.prefix}_event_loop_max_ms`, r.loopMaxMs, 'ms');
  }
  const all = Object.values(results).flatMap((r) => r.latencies);
  fig('import_concurrent_request_max_ms', Math.max(...all), 'ms', { requests: all.length, connection_resets_retried: resets });
  fig('import_concurrent_request_p99_ms', pct(all, 99), 'ms');
  fig('import_progress_values_seen', Math.min(...Object.values(results).map((r) => r.percents)), '1');
}

await main();
