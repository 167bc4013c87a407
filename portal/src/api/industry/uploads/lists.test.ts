import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RejectedLine } from '../../../industry/batch-numbers.ts';
import type { Portal } from '../../../portal.ts';
import { START_TIMEOUT, testPortal } from '../../../test/harness.ts';
import { PART_CHARS, readUploadList, UploadListWriter, type UploadItem } from './lists.ts';

const who = { enterpriseId: 'demo-enterprise', accountId: 'demo-admin' };
const rejectedLine = (line: number): RejectedLine => ({
  line,
  text: `x${line}`,
  reason: 'invalid',
  message: `第 ${line} 行：“x${line}”不是有效的手机号码`,
});

describe('upload lists are written and read in parts', () => {
  let portal: Portal;
  beforeAll(async () => {
    portal = await testPortal();
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  async function write(id: string, kind: 'batch' | 'merge', slices: [UploadItem[], RejectedLine[]][]) {
    const w = new UploadListWriter(portal.deps.db, { id, ...who, kind });
    for (const [items, rejected] of slices) await w.add(items, rejected);
    await w.finish({ fileName: `${id}.txt`, totalRows: 123, duplicates: 4 });
  }
  const rowIds = async (id: string) =>
    (
      await portal.deps.db.query<{ id: string }>(
        `SELECT id FROM sms_upload_lists WHERE id = $1 OR id LIKE $1 || '~%' ORDER BY created_at, id`,
        [id],
      )
    ).rows.map((r) => r.id);

  it('keeps a small list in one row, as an array', async () => {
    await write('small', 'batch', [[['13800138000', '13900139000'], [rejectedLine(3)]]]);
    expect(await rowIds('small')).toEqual(['small']);
    expect(await readUploadList(portal.deps.db, 'small', who.accountId)).toEqual({
      kind: 'batch',
      fileName: 'small.txt',
      items: ['13800138000', '13900139000'],
      rejected: [rejectedLine(3)],
      duplicates: 4,
    });
  });

  it('splits a long mail-merge list into parts and reads it back whole and in order', async () => {
    const items: UploadItem[] = Array.from({ length: 30_000 }, (_, i) => [
      String(13700000000 + i),
      `客户${i}您好，快递已到，请今天领取。`,
      i + 2,
    ]);
    const rejected = Array.from({ length: 3000 }, (_, i) => rejectedLine(40_000 + i));
    // Fed as a file is checked: slices of items and rejections, interleaved.
    const slices: [UploadItem[], RejectedLine[]][] = [];
    for (let i = 0; i < 10; i++) slices.push([items.slice(i * 3000, (i + 1) * 3000), rejected.slice(i * 300, (i + 1) * 300)]);
    await write('long', 'merge', slices);
    const ids = await rowIds('long');
    expect(ids.length).toBeGreaterThan(3);
    const head = await portal.deps.db.query<{ items: { parts: number } }>(`SELECT items FROM sms_upload_lists WHERE id = 'long'`);
    expect(head.rows[0]!.items).toEqual({ parts: ids.length - 1 });
    const parts = await portal.deps.db.query<{ n: number }>(
      `SELECT max(length(items::text) + length(rejected::text)) AS n FROM sms_upload_lists WHERE id LIKE 'long~%'`,
    );
    expect(Number(parts.rows[0]!.n)).toBeLessThan(PART_CHARS * 2);
    const list = await readUploadList(portal.deps.db, 'long', who.accountId);
    expect(list?.items).toEqual(items);
    expect(list?.rejected).toEqual(rejected);
    expect(list).toMatchObject({ kind: 'merge', fileName: 'long.txt', duplicates: 4 });
    const report = await readUploadList(portal.deps.db, 'long', who.accountId, { items: false });
    expect(report?.items).toEqual([]);
    expect(report?.rejected).toEqual(rejected);
  });

  it('is not found for another account, nor when a part has gone', async () => {
    await write('gone', 'batch', [[Array.from({ length: 40_000 }, (_, i) => String(13600000000 + i)), []]]);
    expect(await readUploadList(portal.deps.db, 'gone', 'demo-sub')).toBeUndefined();
    expect((await readUploadList(portal.deps.db, 'gone', who.accountId))?.items).toHaveLength(40_000);
    await portal.deps.db.query(`DELETE FROM sms_upload_lists WHERE id = 'gone~2'`);
    expect(await readUploadList(portal.deps.db, 'gone', who.accountId)).toBeUndefined();
  });
});
