import type { Logger } from '@geo/infra';
import { AppError } from '../../errors.ts';
import type { Deps } from '../../http/context.ts';
import { z } from '../../http/openapi.ts';
import { UploadResult } from './schemas.ts';
import { newId } from './scope.ts';
import { uploadFailure } from './xlsx.ts';

/**
 * Address-book imports, and the batch / mail-merge uploads of 发短信, run as background jobs: the
 * upload request answers at once with a job id,
 * the page polls the job for a progress bar, and the server keeps answering other requests while
 * the file is read (on a worker thread) and written (in small transactions with yields between).
 *
 * Jobs live in the portal process's memory for an hour after they finish: a restart loses the
 * progress of a running import (the rows written so far stay), and with several portal instances
 * the poll must reach the instance that took the upload (sticky sessions).
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

export function createImportJob(deps: Deps, owner: { enterpriseId: string; accountId: string }, fileName: string, kind: ImportKind = 'contacts'): ImportJob {
  const job: ImportJob = { id: newId(), kind, ...owner, fileName, phase: 'reading', rows: 0, processed: 0, imported: 0, rejectedTotal: 0, rejected: [], startedAt: Date.now() };
  registry(deps).set(job.id, job);
  return job;
}

/** The job, only for the account (of the enterprise) that started it. */
export function importJob(deps: Deps, id: string, owner: { enterpriseId: string; accountId: string }): ImportJob | undefined {
  const j = registry(deps).get(id);
  return j && j.accountId === owner.accountId && j.enterpriseId === owner.enterpriseId ? j : undefined;
}

export function reject(job: ImportJob, r: ImportRejection): void {
  job.rejectedTotal++;
  if (job.rejected.length < MAX_REJECTED) job.rejected.push(r);
}

/** What the poll (GET /api/industry/imports/{id}) and an address-book import's start answer: {@link jobView}. */
export const ImportView = z
  .object({
    jobId: z.string(),
    kind: z.enum(['contacts', 'batch', 'merge']).describe('contacts：通讯录导入；batch / merge：批量发送 / 定制发送的文件检查'),
    fileName: z.string(),
    phase: z.enum(['reading', 'importing', 'done', 'failed']),
    rows: z.number(),
    processed: z.number(),
    percent: z.number(),
    imported: z.number(),
    rejectedTotal: z.number(),
    rejected: z.array(z.object({ line: z.number(), text: z.string(), reason: z.string(), message: z.string() })),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    upload: UploadResult.nullable().describe('批量发送 / 定制发送文件完成后的逐行报告与预览（与 POST /api/industry/uploads 的结果相同）'),
    elapsedMs: z.number(),
  })
  .openapi('ContactImport');

/**
 * What starting a batch / mail-merge upload job answers: the same view without `rejected`, whose
 * lines are in `upload.rejected` once the job is done.
 */
export const UploadJobView = ImportView.omit({ rejected: true }).openapi('IndustryUploadJob');

/** What the poll returns: progress as a fraction for the bar, and the report once done. */
export function jobView(j: ImportJob) {
  const percent = j.phase === 'done' ? 100 : j.phase === 'importing' && j.rows > 0 ? Math.min(99, Math.floor((j.processed / j.rows) * 100)) : 0;
  return {
    jobId: j.id,
    kind: j.kind,
    fileName: j.fileName,
    phase: j.phase,
    rows: j.rows,
    processed: j.processed,
    percent,
    imported: j.imported,
    rejectedTotal: j.rejectedTotal,
    rejected: j.phase === 'done' || j.phase === 'failed' ? j.rejected : [],
    error: j.error ?? null,
    upload: j.phase === 'done' ? (j.upload ?? null) : null,
    elapsedMs: (j.finishedAt ?? Date.now()) - j.startedAt,
  };
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
