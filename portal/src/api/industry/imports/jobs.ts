import type { Logger, Queryable } from '@geo/infra';
import type { MiddlewareHandler } from 'hono';
import { instanceId, leaseMs } from '../../../jobs/instance.ts';
import type { AppEnv } from '../../../http/context.ts';
import { AppError } from '../../../errors.ts';
import type { Deps } from '../../../http/context.ts';
import { newId } from '../scope.ts';
import { uploadFailure } from '../uploads/xlsx.ts';

export { ImportView, jobView, UploadJobView } from './job-view.ts';

/**
 * Address-book imports, and the batch / mail-merge uploads of 发短信, run as background jobs: the
 * upload request answers at once with a job id,
 * the page polls the job for a progress bar, and the server keeps answering other requests while
 * the file is read (on a worker thread) and written (in small transactions with yields between).
 *
 * The instance running a job keeps it in memory and writes it to `portal_jobs` (migration 0070)
 * every second with a lease, so that any instance behind a load balancer answers the poll (#19): a
 * job of another instance is read from the table for the request ({@link importJobsAcrossInstances}).
 * A job whose instance was killed renews nothing; once its lease has expired, the next poll or the
 * sweep ({@link startImportJobs}) fails it with a message saying so. It is not resumed: the file
 * is not kept (the rows already written stay). Finished jobs can be read for an hour.
 *
 * Why the registry and the table stay in one file (~390 lines): the in-memory registry and its copy
 * in `portal_jobs` are one state machine (a job's phase, lease and failure move in both together,
 * and the sweep, the poll and the owner's sync race on the same rows); apart, each half would export
 * its internals to the other. What the poll answers is `job-view.ts`.
 */

export type ImportPhase = 'reading' | 'importing' | 'done' | 'failed';
/** contacts: an address-book import; batch / merge: a 批量发送 / 定制发送 file checked for a send. */
export type ImportKind = 'contacts' | 'batch' | 'merge';

export interface ImportRejection {
  line: number;
  text: string;
  reason: string;
  message: string;
}

export interface ImportJob {
  id: string;
  kind: ImportKind;
  enterpriseId: string;
  accountId: string;
  fileName: string;
  phase: ImportPhase;
  /** Rows in the file (known once read). */
  rows: number;
  /** Rows read (while reading) or checked and written (while importing). */
  processed: number;
  imported: number;
  rejectedTotal: number;
  /** The first 1,000 rejected rows. */
  rejected: ImportRejection[];
  error?: { code: string; message: string };
  /** A batch / merge upload's report once done (what POST /api/industry/uploads answers). */
  upload?: unknown;
  startedAt: number;
  finishedAt?: number;
}

/** How long a finished job can still be read. */
const KEEP_MS = 3_600_000;
const MAX_REJECTED = 1000;

const registries = new WeakMap<Deps, Map<string, ImportJob>>();

function registry(deps: Deps): Map<string, ImportJob> {
  let r = registries.get(deps);
  if (!r) registries.set(deps, (r = new Map()));
  const now = Date.now();
  for (const [id, j] of r) if (j.finishedAt && now - j.finishedAt > KEEP_MS) r.delete(id);
  return r;
}

export function createImportJob(
  deps: Deps,
  owner: { enterpriseId: string; accountId: string },
  fileName: string,
  kind: ImportKind = 'contacts',
): ImportJob {
  const job: ImportJob = {
    id: newId(),
    kind,
    ...owner,
    fileName,
    phase: 'reading',
    rows: 0,
    processed: 0,
    imported: 0,
    rejectedTotal: 0,
    rejected: [],
    startedAt: Date.now(),
  };
  registry(deps).set(job.id, job);
  shared(deps).insert(job);
  return job;
}

/** The job, only for the account (of the enterprise) that started it; also one another instance runs (read for this request). */
export function importJob(deps: Deps, id: string, owner: { enterpriseId: string; accountId: string }): ImportJob | undefined {
  const j = registry(deps).get(id) ?? stores.get(deps)?.elsewhere.get(id)?.job;
  return j && j.accountId === owner.accountId && j.enterpriseId === owner.enterpriseId ? j : undefined;
}

export function reject(job: ImportJob, r: ImportRejection): void {
  job.rejectedTotal++;
  if (job.rejected.length < MAX_REJECTED) job.rejected.push(r);
}

/**
 * Marks a job failed: an upload or portal error keeps its code and message for the page; anything
 * else is logged (`what`) and shown as INTERNAL with `internalMessage`.
 */
export function failJob(job: ImportJob, err: unknown, log: Logger, what: string, internalMessage: string): void {
  const e = uploadFailure(err);
  job.phase = 'failed';
  if (e instanceof AppError) job.error = { code: e.code, message: e.message };
  else {
    log.error({ err, jobId: job.id }, what);
    job.error = { code: 'INTERNAL', message: internalMessage };
  }
}

/** How often a running job's progress and lease are written. */
const SYNC_MS = 1000;

/** Why a job whose instance stopped was failed: the file is gone with it, so it is uploaded again. */
export const JOB_INTERRUPTED = 'JOB_INTERRUPTED';
const INTERRUPTED_SQL = `jsonb_build_object('code', '${JOB_INTERRUPTED}', 'message', CASE kind
  WHEN 'contacts' THEN format('处理此导入的服务实例已停止，导入未完成（已导入 %s 个联系人）。请重新上传文件，已在通讯录中的号码会被跳过。', imported)
  ELSE '处理此文件的服务实例已停止，文件检查未完成，请重新上传文件。' END)`;

/** The message of {@link INTERRUPTED_SQL}, for a job this instance gives up itself. */
function interruptedMessage(job: ImportJob): string {
  return job.kind === 'contacts'
    ? `处理此导入的服务实例已停止，导入未完成（已导入 ${job.imported} 个联系人）。请重新上传文件，已在通讯录中的号码会被跳过。`
    : '处理此文件的服务实例已停止，文件检查未完成，请重新上传文件。';
}

const RUNNING = `phase IN ('reading', 'importing')`;
const JOB_COLUMNS =
  'id, kind, enterprise_id, account_id, file_name, phase, rows, processed, imported, rejected_total, rejected, error, upload, started_at, finished_at';

interface JobRow {
  id: string;
  kind: ImportKind;
  enterprise_id: string;
  account_id: string;
  file_name: string;
  phase: ImportPhase;
  rows: number;
  processed: number;
  imported: number;
  rejected_total: number;
  rejected: unknown;
  error: unknown;
  upload: unknown;
  started_at: Date | string;
  finished_at: Date | string | null;
}

const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
const time = (v: Date | string) => new Date(v).getTime();

function fromRow(r: JobRow): ImportJob {
  const error = json<ImportJob['error'] | null>(r.error);
  return {
    id: r.id,
    kind: r.kind,
    enterpriseId: r.enterprise_id,
    accountId: r.account_id,
    fileName: r.file_name,
    phase: r.phase,
    rows: Number(r.rows),
    processed: Number(r.processed),
    imported: Number(r.imported),
    rejectedTotal: Number(r.rejected_total),
    rejected: json<ImportRejection[]>(r.rejected) ?? [],
    ...(error ? { error } : {}),
    ...(r.upload != null ? { upload: json<unknown>(r.upload) } : {}),
    startedAt: time(r.started_at),
    ...(r.finished_at ? { finishedAt: time(r.finished_at) } : {}),
  };
}

/**
 * Fails running jobs whose lease has expired (their instance stopped renewing it: killed, or
 * paused longer than the lease), all of them or the one `id`, taking them over as `me` so that a
 * paused owner that wakes up cannot write over the failure.
 * @returns the ids failed.
 */
export async function failExpiredJobs(db: Queryable, me: string, id?: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE portal_jobs SET phase = 'failed', error = ${INTERRUPTED_SQL}, owner = $1, finished_at = now()
     WHERE ${RUNNING} AND lease_until < now() ${id ? 'AND id = $2' : ''} RETURNING id`,
    id ? [me, id] : [me],
  );
  return rows.map((r) => r.id);
}

/** What this instance shares of its jobs: their rows, written as they run. */
class SharedJobs {
  /** Jobs of other instances as last read for a poll (kept a minute: two polls at once both find it). */
  readonly elsewhere = new Map<string, { job: ImportJob; at: number }>();
  private readonly pending = new Set<Promise<unknown>>();
  /** Local jobs whose last state is not yet written. */
  private readonly running = new Map<string, ImportJob>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private syncing: Promise<void> | undefined;

  constructor(private readonly deps: Deps) {}

  private get me() {
    return instanceId(this.deps);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p)).catch(() => undefined);
    return p;
  }

  insert(job: ImportJob): void {
    const { db, log } = this.deps;
    this.running.set(job.id, job);
    this.track(
      db.query(
        `INSERT INTO portal_jobs (id, kind, enterprise_id, account_id, file_name, phase, owner, lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8::integer * interval '1 millisecond')`,
        [job.id, job.kind, job.enterpriseId, job.accountId, job.fileName, job.phase, this.me, leaseMs(this.deps)],
      ),
    ).catch((err) => log.error({ err, jobId: job.id }, 'import job not recorded; only this instance can answer its poll'));
    this.timer ??= setInterval(() => void this.sync(), SYNC_MS);
    this.timer.unref?.();
  }

  /** Waits until the rows of the jobs created so far are written (before the start is answered). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** Writes each local job's progress and renews its lease; a finished job's result once. */
  sync(): Promise<void> {
    this.syncing ??= (async () => {
      await this.settled();
      for (const job of [...this.running.values()]) {
        try {
          await this.write(job);
        } catch (err) {
          this.deps.log.warn({ err, jobId: job.id }, 'import job progress not written; retried next second');
        }
      }
      if (this.running.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    })().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async write(job: ImportJob): Promise<void> {
    const final = job.phase === 'done' || job.phase === 'failed';
    const { rowCount } = await this.deps.db.query(
      `UPDATE portal_jobs SET phase = $2, rows = $3, processed = $4, imported = $5, rejected_total = $6,
         rejected = CASE WHEN $7 THEN $8::jsonb ELSE rejected END, error = $9::jsonb, upload = $10::jsonb,
         finished_at = CASE WHEN $7 THEN now() END, lease_until = now() + $11::integer * interval '1 millisecond'
       WHERE id = $1 AND owner = $12 AND ${RUNNING}`,
      [
        job.id,
        job.phase,
        job.rows,
        job.processed,
        job.imported,
        job.rejectedTotal,
        final,
        JSON.stringify(final ? job.rejected : []),
        job.error ? JSON.stringify(job.error) : null,
        final && job.upload !== undefined ? JSON.stringify(job.upload) : null,
        leaseMs(this.deps),
        this.me,
      ],
    );
    if (rowCount === 0) {
      const { rows } = await this.deps.db.query<{ owner: string }>('SELECT owner FROM portal_jobs WHERE id = $1', [job.id]);
      // Never recorded (the insert failed): only this instance answers for it, from memory.
      if (!rows[0] || rows[0].owner === this.me) {
        if (final) this.running.delete(job.id);
        return;
      }
      // Another instance failed it after our lease expired (this one was paused): the page shows
      // that failure, and this instance stops answering for the job.
      this.deps.log.warn({ jobId: job.id }, 'import job taken over by another portal instance after its lease expired');
      this.running.delete(job.id);
      registry(this.deps).delete(job.id);
      return;
    }
    if (final) this.running.delete(job.id);
  }

  /**
   * This instance is stopping: its running jobs cannot finish (their work ends with the process),
   * so they are failed now, with the message another instance would give after the lease.
   */
  async abandon(): Promise<void> {
    for (const job of this.running.values()) {
      if (job.phase === 'done' || job.phase === 'failed') continue;
      job.phase = 'failed';
      job.error = { code: JOB_INTERRUPTED, message: interruptedMessage(job) };
      job.finishedAt = Date.now();
    }
    await this.sync();
  }

  /** Reads another instance's job for this request, failing it first when its lease has expired. */
  async load(id: string): Promise<void> {
    const { db } = this.deps;
    await failExpiredJobs(db, this.me, id);
    const { rows } = await db.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM portal_jobs WHERE id = $1 AND (finished_at IS NULL OR finished_at > now() - interval '1 hour')`,
      [id],
    );
    const now = Date.now();
    for (const [k, v] of this.elsewhere) if (now - v.at > 60_000) this.elsewhere.delete(k);
    if (rows[0]) this.elsewhere.set(id, { job: fromRow(rows[0]), at: now });
    else this.elsewhere.delete(id);
  }
}

const stores = new WeakMap<Deps, SharedJobs>();

function shared(deps: Deps): SharedJobs {
  let s = stores.get(deps);
  if (!s) stores.set(deps, (s = new SharedJobs(deps)));
  return s;
}

/**
 * Middleware for the industry routes (mounted in app.ts before them): a poll of a job another
 * instance runs reads it from the table, and a request that started a job is answered once the
 * job's row is written, so that the next poll may go to any instance.
 */
export function importJobsAcrossInstances(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const deps = c.get('deps');
    const m = /^\/api\/industry\/imports\/([^/]{1,64})$/.exec(c.req.path);
    const id = m?.[1];
    const elsewhere = id && c.req.method === 'GET' && !registry(deps).has(id) ? shared(deps) : undefined;
    if (elsewhere && id) await elsewhere.load(id);
    try {
      await next();
    } finally {
      await stores.get(deps)?.settled();
    }
  };
}

export interface RunningImportJobs {
  /** One sweep now: fails jobs whose instance stopped, forgets finished ones after an hour. */
  sweep(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * The sweep of a portal: jobs left running by a killed instance are failed even when nobody polls
 * them. `stop()` fails this instance's own running jobs at once (a graceful stop or restart).
 */
export function startImportJobs(deps: Deps): RunningImportJobs {
  let running: Promise<string[]> | undefined;
  const sweep = () =>
    (running ??= (async () => {
      try {
        const failed = await failExpiredJobs(deps.db, instanceId(deps));
        if (failed.length) deps.log.warn({ jobs: failed }, 'import jobs of a stopped portal instance failed');
        await deps.db.query(`DELETE FROM portal_jobs WHERE finished_at < now() - interval '1 hour'`);
        return failed;
      } catch (err) {
        deps.log.warn({ err }, 'import job sweep failed; next time');
        return [];
      }
    })().finally(() => (running = undefined)));
  const timer = setInterval(() => void sweep(), Math.max(1000, Math.floor(leaseMs(deps) / 2)));
  timer.unref?.();
  return {
    sweep,
    async stop() {
      clearInterval(timer);
      await running;
      await stores.get(deps)?.abandon();
    },
  };
}
