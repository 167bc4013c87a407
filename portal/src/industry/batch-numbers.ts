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

/** Numbers for a batch send (批量发送): the first cell of each row; invalid and duplicate rows reported. */
export function batchNumbers(rows: readonly TableRow[]): BatchNumbers {
  const seen = new Set<string>();
  const numbers: string[] = [];
  const rejected: RejectedLine[] = [];
  rows.forEach((row, i) => {
    const first = row.cells[0] ?? '';
    if (i === 0 && HEADER.test(first)) return;
    const n = normalizeMobile(first);
    if (!n) rejected.push({ line: row.line, text: first, reason: 'invalid', message: `第 ${row.line} 行：“${first}”不是有效的手机号码` });
    else if (seen.has(n)) rejected.push({ line: row.line, text: first, reason: 'duplicate', message: `第 ${row.line} 行：号码 ${n} 重复，只发送一次` });
    else {
      seen.add(n);
      numbers.push(n);
    }
  });
  return { numbers, rejected };
}
