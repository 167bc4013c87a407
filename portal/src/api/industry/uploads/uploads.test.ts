import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginAdmin, START_TIMEOUT } from '../../../test/harness.ts';
import { importAndWait, industryTestApp, type IndustryTestApp, type Requester } from '../test-app.ts';

const form = (bytes: Uint8Array | string, name: string, extra: Record<string, string> = {}) => {
  const f = new FormData();
  f.set('file', new Blob([bytes as BlobPart]), name);
  for (const [k, v] of Object.entries(extra)) f.set(k, v);
  return f;
};

/** "13800138000,您好\n13900139000,再见" in GBK, as Notepad on Chinese Windows saves it. */
const GBK = new Uint8Array([
  ...new TextEncoder().encode('13800138000,'),
  0xc4,
  0xfa,
  0xba,
  0xc3,
  0x0a,
  ...new TextEncoder().encode('13900139000,'),
  0xd4,
  0xd9,
  0xbc,
  0xfb,
]);
/** Neither UTF-8 nor GBK: a GBK lead byte followed by a byte no GBK character has. */
const UNDECODABLE = new Uint8Array([...new TextEncoder().encode('13800138000,'), 0x81, 0x20, 0xc4, 0x7f]);
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]);

async function zipWithoutWorkbook(): Promise<Uint8Array> {
  // An .xlsx is a zip; a zip of anything else (here an Excel file's bytes cut to its first entry) is not a workbook.
  const wb = new ExcelJS.Workbook();
  wb.addWorksheet('a').addRow(['13800138000']);
  const full = new Uint8Array(await wb.xlsx.writeBuffer());
  return full.slice(0, 200);
}

describe('bad upload files get clear errors (batch / mail-merge uploads and address-book imports)', () => {
  let t: IndustryTestApp;
  let admin: Requester;
  beforeAll(async () => {
    t = await industryTestApp();
    admin = t.as(await loginAdmin(t.portal));
  }, START_TIMEOUT);
  afterAll(async () => t?.stop());

  const upload = (f: FormData) => admin('POST', '/api/industry/uploads', f);

  it.each([
    ['a PDF by its name', () => form('%PDF-1.4', '通知.pdf'), 415, 'UPLOAD_TYPE', /不支持“通知\.pdf”这种文件/],
    ['a picture named .txt', () => form(PNG, 'numbers.txt'), 415, 'UPLOAD_TYPE', /不是文本文件（TXT）或 Excel/],
    ['an empty file', () => form('', 'empty.txt'), 400, 'UPLOAD_EMPTY', /上传的文件是空的/],
    ['a file of blank lines', () => form('\n \r\n\t\n', 'blank.txt'), 400, 'UPLOAD_EMPTY', /没有数据/],
    [
      'an old .xls workbook',
      () => form(new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]), 'old.xls'),
      415,
      'UPLOAD_TYPE',
      /另存为 \.xlsx/,
    ],
    ['text that is neither UTF-8 nor GBK', () => form(UNDECODABLE, 'numbers.txt'), 400, 'UPLOAD_ENCODING', /既不是 UTF-8 也不是 GBK/],
  ])('batch upload refuses %s', async (_what, make, status, code, message) => {
    const r = await upload(make());
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(r.body.error.message).toMatch(message);
  });

  it('refuses a broken Excel file and a zip that is not a workbook, saying so', async () => {
    const broken = await upload(form(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4, 5, 6, 7, 8]), 'numbers.xlsx', { kind: 'batch' }));
    expect(broken.status).toBe(400);
    expect(broken.body.error).toMatchObject({ code: 'UPLOAD_BROKEN' });
    expect(broken.body.error.message).toMatch(/Excel 文件已损坏或无法读取/);
    const cut = await upload(form(await zipWithoutWorkbook(), 'cut.xlsx', { kind: 'batch' }));
    expect(cut.status).toBe(400);
    expect(cut.body.error.code).toBe('UPLOAD_BROKEN');
  });

  it('refuses a file over 10 MB before reading it', async () => {
    const huge = new Uint8Array(10 * 1024 * 1024 + 100_000).fill(0x31);
    const r = await upload(form(huge, 'huge.txt', { kind: 'batch' }));
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ code: 'UPLOAD_TOO_LARGE' });
    expect(r.body.error.message).toContain('上限为 10 MB');
  });

  it('refuses more than 100,000 rows, asking to split the file', { timeout: 120_000 }, async () => {
    const lines = Array.from({ length: 100_001 }, (_, i) => String(13000000000 + i)).join('\n');
    const r = await upload(form(lines, 'many.txt', { kind: 'batch' }));
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ code: 'UPLOAD_TOO_MANY_ROWS' });
    expect(r.body.error.message).toContain('请拆分后上传');
  });

  it('reads GBK and UTF-16 text (as Chinese Windows saves it) instead of refusing it', async () => {
    const gbk = await upload(form(GBK, 'merge.txt', { kind: 'merge' }));
    expect(gbk.status).toBe(200);
    expect(gbk.body).toMatchObject({ encoding: 'gbk', accepted: 2 });
    expect(gbk.body.preview.map((p: { content: string }) => p.content)).toEqual(['您好', '再见']);
    const utf16 = new Uint8Array([0xff, 0xfe, ...new Uint8Array(Uint16Array.from('13700137000,早上好', (ch) => ch.charCodeAt(0)).buffer)]);
    const u = await upload(form(utf16, 'merge16.txt', { kind: 'merge' }));
    expect(u.status).toBe(200);
    expect(u.body).toMatchObject({ encoding: 'utf-16le', preview: [{ msisdn: '13700137000', content: '早上好' }] });
  });

  it('an upload without a file, or not as a form, is refused with what to do', async () => {
    const f = new FormData();
    f.set('kind', 'batch');
    const none = await upload(f);
    expect(none.status).toBe(400);
    expect(none.body.error.message).toContain('请选择要上传的文件');
    const json = await admin('POST', '/api/industry/uploads', { kind: 'batch' });
    expect(json.status).toBe(415);
    expect(json.body.error.message).toContain('multipart/form-data');
  });

  it('an address-book import refuses a bad file at once, and reports a broken Excel through its job', async () => {
    const empty = await admin('POST', '/api/industry/books/personal/import', form('', 'c.txt'));
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('UPLOAD_EMPTY');
    const type = await admin('POST', '/api/industry/books/personal/import', form('x', 'c.docx'));
    expect(type.status).toBe(415);
    const broken = await importAndWait(admin, 'personal', form(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 9, 9, 9, 9]), 'c.xlsx'));
    expect(broken.body).toMatchObject({ phase: 'failed', imported: 0, error: { code: 'UPLOAD_BROKEN' } });
    expect(broken.body.error.message).toMatch(/Excel 文件已损坏/);
    const gbk = await importAndWait(
      admin,
      'personal',
      form(new Uint8Array([0xd5, 0xc5, 0xc8, 0xfd, 0x2c, ...new TextEncoder().encode('13600136000')]), 'gbk.txt'),
    );
    expect(gbk.body).toMatchObject({ phase: 'done', imported: 1 });
    const list = await admin('GET', '/api/industry/books/personal/contacts?keyword=13600136000');
    expect(list.body.items[0].name).toBe('张三');
    expect((await admin('GET', '/api/industry/imports/no-such-job')).body.error.code).toBe('IMPORT_NOT_FOUND');
  });
});
