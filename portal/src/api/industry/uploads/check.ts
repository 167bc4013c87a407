import { BatchNumberCheck, type RejectedLine } from '../../../industry/batch-numbers.ts';
import { MailMergeCheck } from '../../../industry/mail-merge.ts';
import type { UploadedTable } from '../../../industry/upload-table.ts';
import type { Deps } from '../../../http/context.ts';
import type { z } from '../../../http/openapi.ts';
import { failJob, type ImportJob } from '../imports/jobs.ts';
import type { UploadResult } from '../schemas.ts';
import { newId } from '../scope.ts';
import { UploadListWriter, type UploadItem } from './lists.ts';
import { parseUpload } from './xlsx.ts';
import { AppError } from '../../../errors.ts';

export type UploadReport = z.infer<typeof UploadResult>;

/**
 * Rows checked between two turns of the event loop: checking 2,000 numbers (normalise, de-duplicate)
 * is a few milliseconds, where 100,000 at once held the loop for a quarter of a second.
 */
const SLICE = 2000;

const turn = () => new Promise<void>((r) => setImmediate(r));

/** The checks of one kind of file behind one face: feed rows, take the new results since the last take. */
function checker(kind: 'batch' | 'merge') {
  let items = 0;
  let rejected = 0;
  if (kind === 'batch') {
    const c = new BatchNumberCheck();
    return {
      add: (rows: UploadedTable['rows']) => c.add(rows),
      take: (): [UploadItem[], RejectedLine[]] => [
        c.numbers.slice(items, (items = c.numbers.length)),
        c.rejected.slice(rejected, (rejected = c.rejected.length)),
      ],
      accepted: () => c.numbers.length,
      rejected: () => c.rejected,
      duplicates: () => c.rejected.filter((r) => r.reason === 'duplicate').length,
      preview: () => c.numbers.slice(0, 10).map((n, i) => ({ line: i + 1, msisdn: n })),
    };
  }
  const c = new MailMergeCheck();
  return {
    add: (rows: UploadedTable['rows']) => c.add(rows),
    take: (): [UploadItem[], RejectedLine[]] => [
      c.messages.slice(items, (items = c.messages.length)).map((x): UploadItem => [x.msisdn, x.content, x.line]),
      c.rejected.slice(rejected, (rejected = c.rejected.length)),
    ],
    accepted: () => c.messages.length,
    rejected: () => c.rejected,
    duplicates: () => c.duplicates,
    preview: () => c.messages.slice(0, 10).map((x) => ({ line: x.line, msisdn: x.msisdn, content: x.content })),
  };
}

/**
 * Checks a read batch / mail-merge file (numbers, duplicates, merged texts) a slice of rows at a
 * time, keeps its good rows for the send (upload-lists.ts) as it goes, and returns the row-level
 * report with a preview. `onProgress` gets the rows checked and kept so far.
 */
export async function checkUpload(
  deps: Deps,
  who: { enterpriseId: string; accountId: string },
  name: string,
  kind: 'batch' | 'merge',
  table: UploadedTable,
  onProgress?: (rows: number) => void,
): Promise<UploadReport> {
  const id = newId();
  const list = new UploadListWriter(deps.db, { id, enterpriseId: who.enterpriseId, accountId: who.accountId, kind });
  const check = checker(kind);
  const { rows } = table;
  for (let i = 0; i < rows.length; i += SLICE) {
    check.add(rows.slice(i, i + SLICE));
    const [items, rejected] = check.take();
    await list.add(items, rejected);
    onProgress?.(Math.min(rows.length, i + SLICE));
    await turn();
  }
  const rejected = check.rejected();
  if (check.accepted() === 0 && rejected.length === 0) throw new AppError('UPLOAD_EMPTY', '文件中没有数据');
  const duplicates = check.duplicates();
  await list.finish({ fileName: name, totalRows: rows.length, duplicates });
  return {
    uploadId: id,
    kind,
    fileName: name,
    format: table.format,
    encoding: table.encoding ?? null,
    rows: rows.length,
    accepted: check.accepted(),
    duplicates,
    rejectedTotal: rejected.length,
    rejected: rejected.slice(0, 1000),
    preview: check.preview(),
  };
}

/** The background part of an upload job: read (worker thread, progress), check and keep (slices, progress). Never throws. */
export async function runUploadJob(deps: Deps, job: ImportJob, name: string, kind: 'batch' | 'merge', bytes: Uint8Array): Promise<void> {
  try {
    const table = await parseUpload(bytes, (n) => (job.processed = n));
    job.rows = table.rows.length;
    job.processed = 0;
    job.phase = 'importing';
    const report = await checkUpload(deps, job, name, kind, table, (n) => (job.processed = n));
    job.processed = table.rows.length;
    job.imported = report.accepted;
    job.rejectedTotal = report.rejectedTotal;
    job.rejected = report.rejected;
    job.upload = report;
    job.phase = 'done';
  } catch (err) {
    failJob(job, err, deps.log, 'upload check failed', '文件检查失败，请稍后重试');
  } finally {
    job.finishedAt = Date.now();
  }
}
