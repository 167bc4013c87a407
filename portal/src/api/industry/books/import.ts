import type { Deps } from '../../../http/context.ts';
import { normalizeMobile } from '../../../industry/recipients.ts';
import { failJob, reject, type ImportJob } from '../imports/jobs.ts';
import { parseUpload } from '../uploads/xlsx.ts';
import { GENDER_IN, inBook, setGroups, type Who } from './queries.ts';
import type { Book } from './schemas.ts';

/** Rows checked and written per transaction; the event loop gets a turn between chunks. */
const IMPORT_CHUNK = 1000;

/**
 * The background part of an import: reads the file on a worker thread, then checks and writes the
 * rows a chunk at a time, updating the job for the progress bar. Never throws: a failure is the
 * job's `error`.
 */
export async function runImport(deps: Deps, job: ImportJob, book: Book, who: Who, groups: string[], bytes: Uint8Array): Promise<void> {
  const { db } = deps;
  try {
    const table = await parseUpload(bytes, (n) => (job.processed = n));
    job.rows = table.rows.length;
    job.processed = 0;
    job.phase = 'importing';
    const existing = new Set(
      (
        await db.query<{ phone: string }>(`SELECT c.phone FROM contacts c WHERE ${inBook(book)}`, [who.enterpriseId, who.accountId])
      ).rows.map((r) => r.phone),
    );
    const seen = new Set<string>();
    for (let i = 0; i < table.rows.length; i += IMPORT_CHUNK) {
      await new Promise((r) => setImmediate(r));
      const good: { name: string; phone: string; cells: string[] }[] = [];
      table.rows.slice(i, i + IMPORT_CHUNK).forEach((row, k) => {
        let cells = row.cells;
        if (i + k === 0 && /姓名|名字|name/i.test(cells[0] ?? '') && !normalizeMobile(cells[1] ?? '')) return; // header row
        if (cells.length === 1) cells = [cells[0]!, cells[0]!]; // a bare number: the number is the name too
        const [nm = '', ph = ''] = cells;
        const phone = normalizeMobile(ph);
        const text = cells.join(' ').slice(0, 100);
        if (!nm.trim()) reject(job, { line: row.line, text, reason: 'no_name', message: `第 ${row.line} 行：缺少姓名` });
        else if (!phone) reject(job, { line: row.line, text, reason: 'invalid', message: `第 ${row.line} 行：“${ph}”不是有效的手机号码` });
        else if (seen.has(phone))
          reject(job, { line: row.line, text, reason: 'duplicate', message: `第 ${row.line} 行：号码 ${phone} 在文件中重复` });
        else if (existing.has(phone))
          reject(job, { line: row.line, text, reason: 'exists', message: `第 ${row.line} 行：号码 ${phone} 已在通讯录中` });
        else {
          seen.add(phone);
          good.push({ name: nm.trim().slice(0, 50), phone, cells });
        }
      });
      if (good.length) {
        const col = (k: number, max: number) => good.map((g) => (g.cells[k] ?? '').slice(0, max));
        await db.transaction(async (tx) => {
          const { rows } = await tx.query<{ id: string }>(
            `INSERT INTO contacts (id, enterprise_id, book, account_id, name, phone, gender, birthday, email, company, title, address, remark)
             SELECT gen_random_uuid()::text, $1, $2, $3, * FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
             ON CONFLICT DO NOTHING RETURNING id`,
            [
              who.enterpriseId,
              book,
              book === 'personal' ? who.accountId : null,
              good.map((g) => g.name),
              good.map((g) => g.phone),
              good.map((g) => GENDER_IN[(g.cells[2] ?? '').trim().toLowerCase()] ?? ''),
              col(3, 20),
              col(4, 100),
              col(5, 100),
              col(6, 50),
              col(7, 200),
              col(8, 500),
            ],
          );
          await setGroups(
            tx,
            book,
            rows.map((r) => r.id),
            groups,
            false,
          );
          job.imported += rows.length;
        });
      }
      job.processed = Math.min(table.rows.length, i + IMPORT_CHUNK);
    }
    job.phase = 'done';
    deps.log.info({ jobId: job.id, rows: job.rows, imported: job.imported, rejected: job.rejectedTotal }, 'address-book import finished');
  } catch (err) {
    failJob(job, err, deps.log, 'address-book import failed', `导入失败（已导入 ${job.imported} 个联系人），请稍后重试`);
  } finally {
    job.finishedAt = Date.now();
  }
}
