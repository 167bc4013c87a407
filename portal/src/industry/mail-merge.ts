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
 * per content. Rows are fed a slice at a time, in file order, so that a 100,000-row file can be
 * checked with other requests answered between the slices.
 */
export class MailMergeCheck implements MailMerge {
  readonly messages: MergedMessage[] = [];
  readonly rejected: RejectedLine[] = [];
  duplicates = 0;
  private readonly seen = new Set<string>();
  private fed = 0;

  /** Checks the next rows of the file. */
  add(rows: readonly TableRow[]): void {
    for (const row of rows) {
      const [first = '', ...rest] = row.cells;
      if (this.fed++ === 0 && HEADER.test(first)) continue; // 手机号码,内容1,… as in the downloadable template
      const n = normalizeMobile(first);
      const content = rest.join('');
      if (!n) {
        this.rejected.push({ line: row.line, text: first, reason: 'invalid', message: `第 ${row.line} 行：“${first}”不是有效的手机号码` });
        continue;
      }
      if (!content.trim()) {
        this.rejected.push({ line: row.line, text: first, reason: 'empty_content', message: `第 ${row.line} 行：号码 ${n} 没有短信内容` });
        continue;
      }
      const key = `${n}\u0000${content}`;
      if (this.seen.has(key)) {
        this.duplicates++;
        continue;
      }
      this.seen.add(key);
      this.messages.push({ line: row.line, msisdn: n, content });
    }
  }
}

/** A mail-merge send's rows, all at once: see {@link MailMergeCheck}. */
export function mailMerge(rows: readonly TableRow[]): MailMerge {
  const check = new MailMergeCheck();
  check.add(rows);
  return { messages: check.messages, rejected: check.rejected, duplicates: check.duplicates };
}
