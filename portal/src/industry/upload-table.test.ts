import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { batchNumbers } from './batch-numbers.ts';
import { defaultSubject, safeCell } from './export-cells.ts';
import { mailMerge } from './mail-merge.ts';
import { readUploadedTable, UploadError } from './upload-table.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

async function xlsx(rows: ExcelJS.CellValue[][]): Promise<Uint8Array> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('号码');
  for (const r of rows) ws.addRow(r);
  return new Uint8Array(await wb.xlsx.writeBuffer());
}

/** "13800138000,您好" in GBK, as Notepad on Chinese Windows saves it. */
const GBK_LINE = new Uint8Array([0x31, 0x33, 0x38, 0x30, 0x30, 0x31, 0x33, 0x38, 0x30, 0x30, 0x30, 0x2c, 0xc4, 0xfa, 0xba, 0xc3]);

describe('uploaded TXT and Excel files', () => {
  it('reads UTF-8 text with a BOM, CRLF lines, blank lines and any common separator', async () => {
    const t = await readUploadedTable(utf8('\uFEFF13800138000，张三\r\n\r\n13900139000，李四\r\n'));
    expect(t).toMatchObject({ format: 'txt', encoding: 'utf-8' });
    expect(t.rows).toEqual([
      { line: 1, cells: ['13800138000', '张三'] },
      { line: 3, cells: ['13900139000', '李四'] },
    ]);
  });

  it('reads GBK text as Chinese Windows saves it', async () => {
    const t = await readUploadedTable(GBK_LINE);
    expect(t.encoding).toBe('gbk');
    expect(t.rows[0]!.cells).toEqual(['13800138000', '您好']);
  });

  it('reads .xlsx: numbers stay digits, formulas give their cached result and are never evaluated', async () => {
    const bytes = await xlsx([
      ['手机号码', '姓名'],
      [13800138000, '王五'],
      [{ formula: 'CONCAT("139","00139000")', result: '13900139000' } as ExcelJS.CellValue, '=HYPERLINK("http://evil")'],
      [{ richText: [{ text: '137' }, { text: '00137000' }] } as ExcelJS.CellValue],
    ]);
    const t = await readUploadedTable(bytes);
    expect(t.format).toBe('xlsx');
    expect(t.rows.map((r) => r.cells)).toEqual([
      ['手机号码', '姓名'],
      ['13800138000', '王五'],
      ['13900139000', '=HYPERLINK("http://evil")'],
      ['13700137000'],
    ]);
  });

  it.each([
    ['an empty file', new Uint8Array(), 'UPLOAD_EMPTY', /空的/],
    ['an old .xls', new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0]), 'UPLOAD_FORMAT', /另存为 \.xlsx/],
    ['a binary file', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]), 'UPLOAD_FORMAT', /不是文本文件/],
    ['a broken .xlsx', new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4, 5, 6]), 'UPLOAD_BROKEN', /损坏/],
  ])('refuses %s with a clear reason', async (_name, bytes, code, message) => {
    const err = await readUploadedTable(bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    expect(err).toMatchObject({ code });
    expect((err as Error).message).toMatch(message);
  });

  it('refuses files over the size and row limits', async () => {
    await expect(readUploadedTable(utf8('1'.repeat(2000)), { maxBytes: 1000 })).rejects.toMatchObject({ code: 'UPLOAD_TOO_LARGE' });
    await expect(readUploadedTable(utf8('13800138000\n'.repeat(11)), { maxRows: 10 })).rejects.toMatchObject({
      code: 'UPLOAD_TOO_MANY_ROWS',
    });
  });

  it('counts data rows against the row limit, not the header line', async () => {
    const rows = (n: number) => Array.from({ length: n }, (_, i) => `张${i},${13800138000 + i}`);
    // A header and exactly the limit of data rows is allowed, in TXT and in Excel.
    expect((await readUploadedTable(utf8(['姓名,手机号码', ...rows(10)].join('\n')), { maxRows: 10 })).rows).toHaveLength(11);
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('号码');
    ws.addRow(['手机号码']);
    for (let i = 0; i < 10; i++) ws.addRow([13800138000 + i]);
    const xlsx = new Uint8Array(await wb.xlsx.writeBuffer());
    expect((await readUploadedTable(xlsx, { maxRows: 10 })).rows).toHaveLength(11);
    ws.addRow([13900139000]);
    const over = new Uint8Array(await wb.xlsx.writeBuffer());
    await expect(readUploadedTable(over, { maxRows: 10 })).rejects.toMatchObject({ code: 'UPLOAD_TOO_MANY_ROWS' });
    // One more data row is refused, saying the header was not counted.
    await expect(readUploadedTable(utf8(['姓名,手机号码', ...rows(11)].join('\n')), { maxRows: 10 })).rejects.toMatchObject({
      code: 'UPLOAD_TOO_MANY_ROWS',
      message: expect.stringContaining('文件有 11 行数据（不含表头）'),
    });
    // Without a header every row is data.
    await expect(readUploadedTable(utf8(rows(11).join('\n')), { maxRows: 10 })).rejects.toMatchObject({ code: 'UPLOAD_TOO_MANY_ROWS' });
  });
});

describe('batch send numbers', () => {
  it('takes the first column, skips a header, and reports bad and repeated lines by line number', async () => {
    const t = await readUploadedTable(utf8('手机号码\n13800138000\nabc\n13800138000\n+86 139 0013 9000\n'));
    const r = batchNumbers(t.rows);
    expect(r.numbers).toEqual(['13800138000', '13900139000']);
    expect(r.rejected.map((x) => [x.line, x.reason])).toEqual([
      [3, 'invalid'],
      [4, 'duplicate'],
    ]);
    expect(r.rejected[0]!.message).toBe('第 3 行：“abc”不是有效的手机号码');
  });
});

describe('mail-merge send', () => {
  it('joins columns 2…N; same number + same content once, different content each', () => {
    const r = mailMerge([
      { line: 1, cells: ['13800138000', '尊敬的张三，', '您的账单为 100 元'] },
      { line: 2, cells: ['13800138000', '尊敬的张三，', '您的账单为 100 元'] },
      { line: 3, cells: ['13800138000', '尊敬的张三，', '您有一个包裹'] },
      { line: 4, cells: ['1380013800', '短号'] },
      { line: 5, cells: ['13900139000'] },
    ]);
    expect(r.messages).toEqual([
      { line: 1, msisdn: '13800138000', content: '尊敬的张三，您的账单为 100 元' },
      { line: 3, msisdn: '13800138000', content: '尊敬的张三，您有一个包裹' },
    ]);
    expect(r.duplicates).toBe(1);
    expect(r.rejected.map((x) => [x.line, x.reason])).toEqual([
      [4, 'invalid'],
      [5, 'empty_content'],
    ]);
  });

  it('skips the header row of the downloadable template (手机号码, 内容1, …) instead of reporting it', () => {
    const r = mailMerge([
      { line: 1, cells: ['手机号码', '内容1', '内容2'] },
      { line: 2, cells: ['13800138000', '张三您好，', '您的快递已到'] },
    ]);
    expect(r.messages).toEqual([{ line: 2, msisdn: '13800138000', content: '张三您好，您的快递已到' }]);
    expect(r.rejected).toEqual([]);
  });
});

describe('exports and subjects', () => {
  it.each([
    ['=1+1', "'=1+1"],
    ['+8613800138000', "'+8613800138000"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=cmd', "'\t=cmd"],
    ['正常内容', '正常内容'],
  ])('escapes %j against formula injection (CWE-1236)', (input, expected) => {
    expect(safeCell(input)).toBe(expected);
  });

  it('uses the first 20 characters of the content when the subject is empty', () => {
    expect(defaultSubject('', '【应急】台风“梅花”将于今晚在舟山登陆，请做好防范，非必要不外出。')).toBe(
      '【应急】台风“梅花”将于今晚在舟山登陆，',
    );
    expect(defaultSubject('  会议通知 ', '内容')).toBe('会议通知');
  });
});
