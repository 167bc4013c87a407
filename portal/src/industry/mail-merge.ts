import { HEADER, type RejectedLine } from './batch-numbers.ts';
import { normalizeMobile } from './recipients.ts';
import type { TableRow } from './upload-table.ts';

export interface MergedMessage {
  line: number;
  msisdn: string;
  content: string;
}

export interface MailMerge {
  messages: MergedMessage[];
  rejected: RejectedLine[];
  /** Rows with the same number and the same content, sent once (the original product's rule). */
  duplicates: number;
}

/**
 * Mail-merge send (定制发送): column 1 is the number, the message is columns 2…N joined in order.
 * Within one batch the same number with the same content is sent once; with different content, once
 * per content.
 */
export function mailMerge(rows: readonly TableRow[]): MailMerge {
  const seen = new Set<string>();
  const messages: MergedMessage[] = [];
  const rejected: RejectedLine[] = [];
  let duplicates = 0;
  rows.forEach((row, i) => {
    const [first = '', ...rest] = row.cells;
    if (i === 0 && HEADER.test(first)) return; // 手机号码,内容1,… as in the downloadable template
    const n = normalizeMobile(first);
    const content = rest.join('');
    if (!n) {
      rejected.push({ line: row.line, text: first, reason: 'invalid', message: `第 ${row.line} 行：“${first}”不是有效的手机号码` });
      return;
    }
    if (!content.trim()) {
      rejected.push({ line: row.line, text: first, reason: 'empty_content', message: `第 ${row.line} 行：号码 ${n} 没有短信内容` });
      return;
    }
    const key = `${n}\u0000${content}`;
    if (seen.has(key)) {
      duplicates++;
      return;
    }
    seen.add(key);
    messages.push({ line: row.line, msisdn: n, content });
  });
  return { messages, rejected, duplicates };
}
