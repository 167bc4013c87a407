import { normalizeMobile } from './recipients.ts';
import type { TableRow } from './upload-table.ts';

/** A line of an uploaded file that was not used, and why (zh-CN), for the row-level report. */
export interface RejectedLine {
  line: number;
  text: string;
  reason: 'invalid' | 'duplicate' | 'empty_content';
  message: string;
}

export interface BatchNumbers {
  numbers: string[];
  rejected: RejectedLine[];
}

/** A header row such as 手机号码 / mobile is skipped, not reported. */
export const HEADER = /^(手机(号码)?|号码|电话|mobile|phone|msisdn|number)$/i;

/**
 * The checks of a batch send's (批量发送) rows: the first cell of each row is the number; invalid
 * and duplicate rows are reported. Rows are fed a slice at a time, in file order, so that a
 * 100,000-row file can be checked with other requests answered between the slices.
 */
export class BatchNumberCheck implements BatchNumbers {
  readonly numbers: string[] = [];
  readonly rejected: RejectedLine[] = [];
  private readonly seen = new Set<string>();
  private fed = 0;

  /** Checks the next rows of the file. */
  add(rows: readonly TableRow[]): void {
    for (const row of rows) {
      const first = row.cells[0] ?? '';
      if (this.fed++ === 0 && HEADER.test(first)) continue;
      const n = normalizeMobile(first);
      if (!n)
        this.rejected.push({ line: row.line, text: first, reason: 'invalid', message: `第 ${row.line} 行：“${first}”不是有效的手机号码` });
      else if (this.seen.has(n))
        this.rejected.push({ line: row.line, text: first, reason: 'duplicate', message: `第 ${row.line} 行：号码 ${n} 重复，只发送一次` });
      else {
        this.seen.add(n);
        this.numbers.push(n);
      }
    }
  }
}

/** Numbers for a batch send (批量发送), all rows at once: see {@link BatchNumberCheck}. */
export function batchNumbers(rows: readonly TableRow[]): BatchNumbers {
  const check = new BatchNumberCheck();
  check.add(rows);
  return { numbers: check.numbers, rejected: check.rejected };
}
