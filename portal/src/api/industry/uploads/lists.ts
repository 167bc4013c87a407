import type { Queryable } from '@geo/infra';
import type { RejectedLine } from '../../../industry/batch-numbers.ts';

/**
 * Upload lists (`sms_upload_lists`): a checked 批量发送 / 定制发送 file's good rows and rejected
 * lines, kept a day for the send that uses them.
 *
 * A list is written in parts of at most ~{@link PART_CHARS} characters of JSON, one small INSERT
 * each, with the event loop free between them: PGlite runs in the portal's process, and one INSERT
 * of 100,000 numbers as a single JSON value held it for half a second (a 100,000-row mail merge for
 * several seconds). A list that fits in one part is one row, as before. A longer one is parts rows
 * `<id>~1 … <id>~n` (the same account, kind and day, so the daily clean-up removes them too) and then
 * its head row `<id>`, whose `items` is `{"parts": n}`: the head is written last, so an upload id
 * never names a half-written list.
 */

/** A batch item is the number; a mail-merge item is [number, content, line]. */
export type UploadItem = string | [msisdn: string, content: string, line: number];

/** Characters of JSON per part: a few milliseconds of PGlite work each. */
export const PART_CHARS = 100_000;

const partId = (id: string, n: number) => `${id}~${n}`;
const json = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);
const turn = () => new Promise<void>((r) => setImmediate(r));

function itemChars(it: UploadItem): number {
  return typeof it === 'string' ? it.length + 3 : it[0].length + it[1].length + 16;
}
const rejectedChars = (r: RejectedLine) => r.text.length + r.message.length + 60;

export interface UploadListHead {
  id: string;
  enterpriseId: string;
  accountId: string;
  kind: 'batch' | 'merge';
}

/**
 * Writes one upload list as its rows are checked: `add` the items and rejections of each slice,
 * then `finish`. Parts go out as they fill up.
 */
export class UploadListWriter {
  private items: UploadItem[] = [];
  private rejected: RejectedLine[] = [];
  private chars = 0;
  private parts = 0;

  constructor(
    private readonly db: Queryable,
    private readonly head: UploadListHead,
  ) {}

  /** Buffers a slice's results and writes the parts that are full. */
  async add(items: readonly UploadItem[], rejected: readonly RejectedLine[]): Promise<void> {
    for (const it of items) {
      this.items.push(it);
      this.chars += itemChars(it);
      if (this.chars >= PART_CHARS) await this.flush();
    }
    for (const r of rejected) {
      this.rejected.push(r);
      this.chars += rejectedChars(r);
      if (this.chars >= PART_CHARS) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    const { id, enterpriseId, accountId, kind } = this.head;
    const items = JSON.stringify(this.items);
    const rejected = JSON.stringify(this.rejected);
    this.items = [];
    this.rejected = [];
    this.chars = 0;
    await this.db.query(
      `INSERT INTO sms_upload_lists (id, enterprise_id, account_id, kind, file_name, total_rows, items, rejected, duplicates) VALUES ($1, $2, $3, $4, '', 0, $5, $6, 0)`,
      [partId(id, ++this.parts), enterpriseId, accountId, kind, items, rejected],
    );
    await turn();
  }

  /** Writes what is left and the head row; the list can be used from then on. */
  async finish(meta: { fileName: string; totalRows: number; duplicates: number }): Promise<void> {
    const { id, enterpriseId, accountId, kind } = this.head;
    let items: string;
    let rejected: string;
    if (this.parts === 0) {
      items = JSON.stringify(this.items);
      rejected = JSON.stringify(this.rejected);
    } else {
      if (this.items.length || this.rejected.length) await this.flush();
      items = JSON.stringify({ parts: this.parts });
      rejected = '[]';
    }
    await this.db.query(
      'INSERT INTO sms_upload_lists (id, enterprise_id, account_id, kind, file_name, total_rows, items, rejected, duplicates) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
      [id, enterpriseId, accountId, kind, meta.fileName.slice(0, 200), meta.totalRows, items, rejected, meta.duplicates],
    );
  }
}

export interface UploadList {
  kind: 'batch' | 'merge';
  fileName: string;
  items: UploadItem[];
  rejected: RejectedLine[];
  duplicates: number;
}

/**
 * The account's upload list, reading a long one a part at a time (the event loop turns between
 * parts); `undefined` when it has expired or is not the account's. `items: false` leaves the items
 * out (the rejected-lines report).
 */
export async function readUploadList(
  db: Queryable,
  id: string,
  accountId: string,
  opts: { items?: boolean } = {},
): Promise<UploadList | undefined> {
  const withItems = opts.items !== false;
  const { rows } = await db.query<{ kind: 'batch' | 'merge'; file_name: string; items: unknown; rejected: unknown; duplicates: number }>(
    'SELECT kind, file_name, items, rejected, duplicates FROM sms_upload_lists WHERE id = $1 AND account_id = $2',
    [id, accountId],
  );
  const head = rows[0];
  if (!head) return undefined;
  const first = json(head.items) as UploadItem[] | { parts: number };
  const list: UploadList = {
    kind: head.kind,
    fileName: head.file_name,
    items: [],
    rejected: json(head.rejected) as RejectedLine[],
    duplicates: Number(head.duplicates),
  };
  if (Array.isArray(first)) {
    if (withItems) list.items = first;
    return list;
  }
  for (let n = 1; n <= first.parts; n++) {
    await turn();
    const part = await db.query<{ items?: unknown; rejected: unknown }>(
      `SELECT ${withItems ? 'items, ' : ''}rejected FROM sms_upload_lists WHERE id = $1 AND account_id = $2`,
      [partId(id, n), accountId],
    );
    const p = part.rows[0];
    if (!p) return undefined;
    if (withItems) for (const it of json(p.items) as UploadItem[]) list.items.push(it);
    for (const r of json(p.rejected) as RejectedLine[]) list.rejected.push(r);
  }
  return list;
}
