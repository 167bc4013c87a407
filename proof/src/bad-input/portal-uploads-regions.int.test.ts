import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import type { Portal } from '@geo/portal';
import { CaseTally } from './report.ts';
import { expectReadableError, loginDemoAdmin, PORTAL_START_TIMEOUT, startTestPortal, type Client } from './portal-client.ts';
import { tinyPng } from '@geo/portal/testing';

/**
 * Bad uploads and bad regions at the portal, through its whole HTTP stack (sessions, CSRF, the one
 * error handler) on one portal per file: industry batch / mail-merge uploads and address-book
 * imports (broken, huge, empty, GBK, formula-laden Excel and TXT), and big-data task regions
 * (self-intersecting, unclosed, a million vertices, across the antimeridian, not GeoJSON at all).
 * After each case a valid request of the same kind still works and what was there is still there.
 */

const tally = new CaseTally('portal-uploads-regions');
const enc = new TextEncoder();

const shanghaiDay = (plusDays = 0) => new Date(Date.now() + 8 * 3600_000 + plusDays * 86_400_000).toISOString().slice(0, 10);

async function xlsx(rows: ExcelJS.CellValue[][]): Promise<Uint8Array> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Sheet1');
  for (const r of rows) ws.addRow(r);
  return new Uint8Array(await wb.xlsx.writeBuffer());
}

function form(file: Uint8Array | string, name: string, fields: Record<string, string> = {}): FormData {
  const fd = new FormData();
  fd.set('file', new File([typeof file === 'string' ? enc.encode(file) : (file as BlobPart)], name));
  for (const [k, v] of Object.entries(fields)) fd.set(k, v);
  return fd;
}

// GBK bytes (checked in a test below): 张三 D5C5 C8FD, 李四 C0EE CBC4, 您好 C4FA BAC3.
const GBK = { zhangsan: [0xd5, 0xc5, 0xc8, 0xfd], lisi: [0xc0, 0xee, 0xcb, 0xc4], nihao: [0xc4, 0xfa, 0xba, 0xc3] };
const gbkLine = (...parts: (number[] | string)[]) => parts.flatMap((p) => (typeof p === 'string' ? [...enc.encode(p)] : p));

describe('bad uploads and bad regions at the portal (PGlite, one portal)', () => {
  let portal: Portal;
  let admin: Client;
  let validXlsx: Uint8Array;
  let letter: string;
  let phoneSeq = 0;
  const nextPhone = () => `1390077${String(++phoneSeq).padStart(4, '0')}`;

  beforeAll(async () => {
    portal = await startTestPortal();
    admin = await loginDemoAdmin(portal);
    validXlsx = await xlsx([['手机号码'], ['13800138000'], ['13900139000']]);
    const fd = new FormData();
    fd.set('file', new File([tinyPng() as Uint8Array<ArrayBuffer>], '授权函.png', { type: 'image/png' }));
    const up = await admin.req('POST', '/api/bigdata/letters', fd);
    expect(up.status).toBe(200);
    letter = up.body.id;
  }, PORTAL_START_TIMEOUT);

  afterAll(async () => {
    await portal?.stop();
    tally.write();
  });

  const contactsNamed = async (keyword: string) => {
    const r = await admin.req('GET', `/api/industry/books/personal/contacts?keyword=${encodeURIComponent(keyword)}&pageSize=100`);
    expect(r.status).toBe(200);
    return r.body.items as { name: string; phone: string; remark: string }[];
  };

  /**
   * An address-book import: refused at once (4xx), or accepted as a background job (202) that is
   * polled to its end; either way one outcome: `{ status, error?, result? }`.
   */
  async function importContacts(body: FormData | string, headers: Record<string, string> = {}) {
    const start = await admin.req('POST', '/api/industry/books/personal/import', body, headers);
    if (start.status !== 202)
      return {
        status: start.status,
        error: start.status >= 400 ? expectReadableError(start) : undefined,
        result: start.body,
        reply: start,
      };
    for (;;) {
      const r = await admin.req('GET', `/api/industry/imports/${start.body.jobId}`);
      expect(r.status).toBe(200);
      if (r.body.phase === 'failed')
        return { status: 202, error: r.body.error as { code: string; message: string }, result: r.body, reply: r };
      if (r.body.phase === 'done') return { status: 202, error: undefined, result: r.body, reply: r };
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  /** A valid upload of the same kind still works (and an import lands). */
  async function uploadStillWorks(path: string, fields: Record<string, string>) {
    if (path.endsWith('/import')) {
      const phone = nextPhone();
      const imp = await importContacts(form(`姓名,手机号码\n正常${phone},${phone}\n`, 'ok.csv'));
      expect(imp.error).toBeUndefined();
      expect(imp.result).toMatchObject({ imported: 1 });
      expect((await contactsNamed(`正常${phone}`)).map((c) => c.phone)).toEqual([phone]);
      return;
    }
    const text = fields.kind === 'merge' ? '13800138000\t您好\n13900139000\t您好\n' : '13800138000\n13900139000\n';
    const ok = await admin.req('POST', path, form(text, 'ok.txt', fields));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ accepted: 2 });
  }

  describe('uploads refused with a clear error', () => {
    interface UploadCase {
      name: string;
      file: () => Promise<Uint8Array | string> | Uint8Array | string;
      fileName: string;
      status: number;
      code: string;
      fields?: Record<string, string>;
      raw?: () => FormData | string;
    }
    const bigText = () => `${'13800138000\n'.repeat(Math.ceil((10 * 1024 * 1024 + 10) / 12))}`;
    const CASES: UploadCase[] = [
      { name: 'an empty file', file: () => '', fileName: 'empty.txt', status: 400, code: 'UPLOAD_EMPTY' },
      {
        name: 'a zip header followed by garbage (broken .xlsx)',
        file: () => new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...enc.encode('not really a zip file at all')]),
        fileName: 'broken.xlsx',
        status: 400,
        code: 'UPLOAD_BROKEN',
      },
      {
        name: 'a real .xlsx cut in half',
        file: () => validXlsx.slice(0, Math.floor(validXlsx.length / 2)),
        fileName: 'half.xlsx',
        status: 400,
        code: 'UPLOAD_BROKEN',
      },
      {
        name: 'an old .xls (OLE2) file',
        file: () => new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0, 0]),
        fileName: 'old.xls',
        status: 415,
        code: 'UPLOAD_TYPE',
      },
      {
        name: 'a PNG named .txt (binary with NUL bytes)',
        file: () => new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]),
        fileName: 'image.txt',
        status: 415,
        code: 'UPLOAD_TYPE',
      },
      { name: 'an .exe file name', file: () => '13800138000\n', fileName: 'numbers.exe', status: 415, code: 'UPLOAD_TYPE' },
      { name: 'a file over 10 MB', file: bigText, fileName: 'huge.txt', status: 413, code: 'UPLOAD_TOO_LARGE' },
      {
        name: '100,001 rows',
        file: () => Array.from({ length: 100_001 }, (_, i) => `138${String(i).padStart(8, '0')}`).join('\n'),
        fileName: 'many.txt',
        status: 413,
        code: 'UPLOAD_TOO_MANY_ROWS',
      },
      {
        name: 'no file field',
        file: () => '',
        fileName: '',
        raw: () => {
          const fd = new FormData();
          fd.set('kind', 'batch');
          return fd;
        },
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'a JSON body instead of multipart',
        file: () => '',
        fileName: '',
        raw: () => JSON.stringify({ file: '13800138000' }),
        status: 415,
        code: 'UPLOAD_TYPE',
      },
      { name: 'a missing kind', file: () => '13800138000\n', fileName: 'n.txt', fields: {}, status: 400, code: 'VALIDATION' },
      {
        name: 'an unknown kind',
        file: () => '13800138000\n',
        fileName: 'n.txt',
        fields: { kind: "batch'; DROP TABLE sms_upload_lists; --" },
        status: 400,
        code: 'VALIDATION',
      },
    ];
    const TARGETS = [
      { target: 'batch send upload', path: '/api/industry/uploads', fields: { kind: 'batch' } },
      { target: 'mail-merge upload', path: '/api/industry/uploads', fields: { kind: 'merge' } },
      { target: 'address-book import', path: '/api/industry/books/personal/import', fields: {} as Record<string, string> },
    ];
    const table = TARGETS.flatMap((t) =>
      CASES.filter((c) =>
        t.target === 'address-book import'
          ? !/kind/.test(c.name)
          : // mail-merge shares the batch upload's reading path: only what differs (the kind, an empty or broken file)
            t.target === 'mail-merge upload'
            ? /kind|empty|garbage/.test(c.name)
            : true,
      ).map((c) => ({ ...c, target: t.target, path: t.path, targetFields: t.fields })),
    );
    for (const t of TARGETS)
      tally.add(
        `portal ${t.target}`,
        table.filter((c) => c.target === t.target),
      );

    it.each(table)('$target: $name → $status $code, then a valid upload still works', async (c) => {
      const body = c.raw ? c.raw() : form(await c.file(), c.fileName, c.fields ?? c.targetFields);
      const headers: Record<string, string> = typeof body === 'string' ? { 'content-type': 'application/json' } : {};
      if (c.path.endsWith('/import')) {
        // Refused at once, or (broken or over-long files, read in the background) a failed job naming the reason.
        const r = await importContacts(body, headers);
        expect(r.error?.code).toBe(c.code);
        expect(r.error?.message).toMatch(/\S/);
        if (r.status !== 202) expect(r.status).toBe(c.status);
      } else {
        const r = await admin.req('POST', c.path, body, headers);
        expect(r.status).toBe(c.status);
        expect(expectReadableError(r).code).toBe(c.code);
      }
      await uploadStillWorks(c.path, c.targetFields);
    });
  });

  describe('uploads whose good rows are kept and whose bad rows are reported', () => {
    it(tally.one('portal batch send upload', 'GBK-encoded TXT: decoded as GBK, the numbers read'), async () => {
      expect(new TextDecoder('gbk').decode(new Uint8Array([...GBK.zhangsan, ...GBK.nihao]))).toBe('张三您好');
      const bytes = new Uint8Array(gbkLine('13800138001,', GBK.zhangsan, '\r\n13800138002,', GBK.lisi, '\r\n'));
      const r = await admin.req('POST', '/api/industry/uploads', form(bytes, 'gbk.txt', { kind: 'batch' }));
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ encoding: 'gbk', accepted: 2 });
    });

    it(tally.one('portal mail-merge upload', 'GBK-encoded mail-merge TXT: the Chinese content is decoded, not mojibake'), async () => {
      const bytes = new Uint8Array(gbkLine('13800138003\t', GBK.zhangsan, GBK.nihao, '\n'));
      const r = await admin.req('POST', '/api/industry/uploads', form(bytes, 'merge-gbk.txt', { kind: 'merge' }));
      expect(r.status).toBe(200);
      expect(r.body.preview[0]).toMatchObject({ msisdn: '13800138003', content: '张三您好' });
    });

    it(tally.one('portal address-book import', 'GBK-encoded contacts: names stored as 张三 and 李四'), async () => {
      const [p1, p2] = [nextPhone(), nextPhone()];
      const bytes = new Uint8Array(gbkLine(GBK.zhangsan, `,${p1}\r\n`, GBK.lisi, `,${p2}\r\n`));
      const r = await importContacts(form(bytes, 'gbk.csv'));
      expect(r.result).toMatchObject({ imported: 2, rejectedTotal: 0 });
      expect((await contactsNamed(p1))[0]!.name).toBe('张三');
      expect((await contactsNamed(p2))[0]!.name).toBe('李四');
    });

    it(
      tally.one(
        'portal batch send upload',
        'a file of bad numbers around good ones: every bad line reported with its line number, every good number kept',
      ),
      async () => {
        const text = [
          '13800138010',
          'abc',
          '138001380',
          '13800138011',
          "'; DROP TABLE sms_upload_lists; --",
          '13800138010',
          '+8613800138012',
        ].join('\n');
        const r = await admin.req('POST', '/api/industry/uploads', form(text, 'mixed.txt', { kind: 'batch' }));
        expect(r.status).toBe(200);
        expect(r.body.accepted).toBe(3);
        expect(r.body.rejected.map((x: { line: number }) => x.line).sort()).toEqual([2, 3, 5, 6]);
        const report = await admin.req('GET', `/api/industry/uploads/${r.body.uploadId}/report`);
        expect(report.status).toBe(200);
        const wb = new ExcelJS.Workbook();
        await wb.xlsx.load(Buffer.from(report.body as Uint8Array) as unknown as ArrayBuffer);
        const cells = wb.worksheets[0]!.getColumn(2).values.filter(Boolean).map(String);
        expect(cells).toContain("'; DROP TABLE sms_upload_lists; --");
      },
    );

    it(
      tally.one('portal mail-merge upload', 'formula-laden TXT (=cmd|…, =HYPERLINK(…)) is taken as literal content, never evaluated'),
      async () => {
        const text = [
          `13800138020\t=cmd|' /C calc'!A0`,
          `13800138021\t=HYPERLINK("http://evil.example","点我")`,
          `13800138022\t@SUM(1+1)*cmd|' /C calc'!A0`,
        ].join('\n');
        const r = await admin.req('POST', '/api/industry/uploads', form(text, 'formula.txt', { kind: 'merge' }));
        expect(r.status).toBe(200);
        expect(r.body.preview.map((x: { content: string }) => x.content)).toEqual([
          `=cmd|' /C calc'!A0`,
          `=HYPERLINK("http://evil.example","点我")`,
          `@SUM(1+1)*cmd|' /C calc'!A0`,
        ]);
      },
    );

    it(
      tally.one(
        'portal mail-merge upload',
        'an .xlsx with real formula cells gives their cached results; the formulas are neither kept nor run',
      ),
      async () => {
        const bytes = await xlsx([
          ['13800138030', { formula: "cmd|' /C calc'!A0", result: '已缓存' } as ExcelJS.CellFormulaValue],
          ['13800138031', { formula: 'HYPERLINK("http://evil.example","点我")', result: '点我' } as ExcelJS.CellFormulaValue],
          ['13800138032', { formula: '1+1', result: 2 } as ExcelJS.CellFormulaValue],
        ]);
        const r = await admin.req('POST', '/api/industry/uploads', form(bytes, 'formula.xlsx', { kind: 'merge' }));
        expect(r.status).toBe(200);
        expect(r.body.preview.map((x: { content: string }) => x.content)).toEqual(['已缓存', '点我', '2']);
      },
    );

    it(
      tally.one('portal address-book import', 'formula-laden contact names are stored literally and exported escaped (CWE-1236)'),
      async () => {
        const [p1, p2, p3] = [nextPhone(), nextPhone(), nextPhone()];
        const text = [`=HYPERLINK("http://evil.example","点我")\t${p1}`, `=cmd|' /C calc'!A0\t${p2}`, `+SUM(1;2)\t${p3}`].join('\n');
        const r = await importContacts(form(text, 'formula-contacts.txt'));
        expect(r.error).toBeUndefined();
        expect(r.result.imported).toBe(3);
        expect((await contactsNamed(p1))[0]!.name).toBe('=HYPERLINK("http://evil.example","点我")');
        const ex = await admin.req('GET', `/api/industry/books/personal/export?keyword=${p2}`);
        expect(ex.status).toBe(200);
        const wb = new ExcelJS.Workbook();
        await wb.xlsx.load(Buffer.from(ex.body as Uint8Array) as unknown as ArrayBuffer);
        const row = wb.worksheets[0]!.getRow(2);
        expect(row.getCell(1).formula).toBeUndefined();
        expect(String(row.getCell(1).value)).toBe(`'=cmd|' /C calc'!A0`);
      },
    );

    it(tally.one('portal address-book import', 'a contact import with bad, duplicate and existing rows keeps every good row'), async () => {
      const [p1, p2] = [nextPhone(), nextPhone()];
      const text = ['姓名,手机号码', `好人,${p1}`, ',13800000000', '坏号码,12345', `重复,${p1}`, `<script>alert(1)</script>,${p2}`].join(
        '\n',
      );
      const r = await importContacts(form(text, 'mixed.csv'));
      expect(r.result).toMatchObject({ imported: 2, rejectedTotal: 3 });
      expect(r.result.rejected.map((x: { reason: string }) => x.reason)).toEqual(['no_name', 'invalid', 'duplicate']);
      expect((await contactsNamed(p2))[0]!.name).toBe('<script>alert(1)</script>');
    });

    it(tally.one('portal batch send upload', 'a file name with script and path characters is kept as text'), async () => {
      const r = await admin.req(
        'POST',
        '/api/industry/uploads',
        form('13800138040\n', '<script>alert(1)<\\script>..\\..\\x.txt', { kind: 'batch' }),
      );
      expect(r.status).toBe(200);
      expect(r.body.fileName).toBe('<script>alert(1)<\\script>..\\..\\x.txt');
    });
  });

  describe('big-data task regions', () => {
    const validForm = (region: unknown, extra: Record<string, unknown> = {}) => ({
      alertType: 'typhoon',
      region,
      subject: '台风 测试',
      content: '台风即将登陆，请注意安全。',
      signature: '翼讯通',
      startDate: shanghaiDay(),
      endDate: shanghaiDay(2),
      windows: [],
      frequency: 'daily',
      minDwellMin: 0,
      rules: [],
      quota: { cmcc: { total: 10, dailyCap: 10 } },
      authorizationLetter: letter,
      ...extra,
    });
    const rect = { kind: 'rectangle', west: 120.1, south: 30.2, east: 120.2, north: 30.3 };
    const square = (x: number, y: number, d = 0.01) => [
      [x, y],
      [x + d, y],
      [x + d, y + d],
      [x, y + d],
      [x, y],
    ];
    /** A valid task form passes every check and reaches the alert bus (absent here: 503, not a 4xx). */
    async function validTaskStillPasses() {
      const r = await admin.req('POST', '/api/bigdata/tasks', { form: validForm({ parts: [rect] }) });
      expect(r.status).toBe(503);
      expect(expectReadableError(r).code).toBe('BUS_UNAVAILABLE');
      const d = await admin.req('POST', '/api/bigdata/drafts', { form: validForm({ parts: [rect] }) });
      expect(d.status).toBe(200);
      expect((await admin.req('GET', `/api/bigdata/drafts/${d.body.id}`)).body.form.region.parts[0]).toEqual(rect);
    }

    const millionVertices = () => {
      const n = 1_000_000;
      const ring: number[][] = [];
      for (let i = 0; i < n; i++) {
        const a = (2 * Math.PI * i) / n;
        ring.push([120.15 + 0.05 * Math.cos(a), 30.25 + 0.05 * Math.sin(a)]);
      }
      ring.push(ring[0]!);
      return { parts: [{ kind: 'polygon', rings: [ring] }] };
    };

    interface RegionCase {
      name: string;
      region: () => unknown;
      /** The status expected (400 unless said). */
      status?: number;
      /** A word the message or a field path must contain. */
      says: RegExp;
    }
    const REGION_CASES: RegionCase[] = [
      {
        name: 'a self-intersecting (bow-tie) polygon',
        region: () => ({
          parts: [
            {
              kind: 'polygon',
              rings: [
                [
                  [120, 30],
                  [120.1, 30.1],
                  [120.1, 30],
                  [120, 30.1],
                  [120, 30],
                ],
              ],
            },
          ],
        }),
        says: /交叉/,
      },
      // ~25 MB of JSON: refused by the 2 MB body limit (413) before the form is even parsed.
      { name: 'a polygon with a million vertices', region: millionVertices, status: 413, says: /请求内容过大/ },
      {
        name: 'a GeoJSON FeatureCollection instead of region parts',
        region: () => ({
          type: 'FeatureCollection',
          features: [{ type: 'Feature', geometry: { type: 'Polygon', coordinates: [square(120.1, 30.2)] } }],
        }),
        says: /region/,
      },
      {
        // A GeoJSON Polygon or MultiPolygon part is accepted since issue 21; other geometry kinds are not.
        name: 'a GeoJSON LineString as a part',
        region: () => ({ parts: [{ type: 'LineString', coordinates: square(120.1, 30.2) }] }),
        says: /region/,
      },
      { name: 'WKT text instead of a region', region: () => 'POLYGON((120.1 30.2, 120.2 30.2, 120.2 30.3, 120.1 30.2))', says: /region/ },
      {
        name: 'coordinates as strings',
        region: () => ({
          parts: [
            {
              kind: 'polygon',
              rings: [
                [
                  ['120.1', '30.2'],
                  ['120.2', '30.2'],
                  ['120.2', '30.3'],
                ],
              ],
            },
          ],
        }),
        says: /region/,
      },
      {
        name: 'positions with an altitude ([lng, lat, alt])',
        region: () => ({
          parts: [
            {
              kind: 'polygon',
              rings: [
                [
                  [120.1, 30.2, 5],
                  [120.2, 30.2, 5],
                  [120.2, 30.3, 5],
                ],
              ],
            },
          ],
        }),
        says: /region/,
      },
      {
        name: 'latitude and longitude swapped (lat 120)',
        region: () => ({
          parts: [
            {
              kind: 'polygon',
              rings: [
                [
                  [30.2, 120.1],
                  [30.2, 120.2],
                  [30.3, 120.2],
                ],
              ],
            },
          ],
        }),
        says: /经纬度/,
      },
      {
        name: 'a ring of two points',
        region: () => ({
          parts: [
            {
              kind: 'polygon',
              rings: [
                [
                  [120.1, 30.2],
                  [120.2, 30.2],
                ],
              ],
            },
          ],
        }),
        says: /顶点太少/,
      },
      {
        name: 'a zero-area (collinear) ring',
        region: () => ({
          parts: [
            {
              kind: 'polygon',
              rings: [
                [
                  [120.1, 30.2],
                  [120.2, 30.2],
                  [120.3, 30.2],
                ],
              ],
            },
          ],
        }),
        says: /面积为零|交叉/,
      },
      {
        name: 'a hole outside its outer ring',
        region: () => ({ parts: [{ kind: 'polygon', rings: [square(120.1, 30.2), square(121, 31)] }] }),
        says: /洞/,
      },
      { name: 'an empty region', region: () => ({ parts: [] }), says: /区域为空/ },
      { name: '101 parts', region: () => ({ parts: Array.from({ length: 101 }, () => rect) }), says: /100/ },
      {
        name: 'a rectangle across the antimeridian (west 179, east -179)',
        region: () => ({ parts: [{ kind: 'rectangle', west: 179, south: 30, east: -179, north: 31 }] }),
        says: /矩形/,
      },
      { name: 'a circle of radius 0', region: () => ({ parts: [{ kind: 'circle', center: [120.15, 30.25], radiusM: 0 }] }), says: /半径/ },
      {
        name: 'a circle of radius 10,000 km',
        region: () => ({ parts: [{ kind: 'circle', center: [120.15, 30.25], radiusM: 1e7 }] }),
        says: /半径/,
      },
      {
        name: 'a polyline of one point',
        region: () => ({ parts: [{ kind: 'polyline', path: [[120.1, 30.2]], bufferM: 100 }] }),
        says: /顶点太少/,
      },
      { name: 'an unknown administrative code', region: () => ({ parts: [{ kind: 'admin', code: '999999' }] }), says: /边界|行政/ },
      {
        name: 'an administrative code with SQL in it',
        region: () => ({ parts: [{ kind: 'admin', code: "330106' OR '1'='1" }] }),
        says: /region/,
      },
    ];
    it.each(tally.add('portal big-data task submit (regions)', REGION_CASES))(
      '$name → 4xx naming the problem; a valid task still passes',
      async (rc) => {
        const r = await admin.req('POST', '/api/bigdata/tasks', { form: validForm(rc.region()) });
        expect(r.status).toBe(rc.status ?? 400);
        const e = expectReadableError(r);
        expect(e.code).toBe(rc.status === 413 ? 'UPLOAD_TOO_LARGE' : 'VALIDATION');
        expect(`${e.message} ${JSON.stringify(r.body.error.details ?? '')}`).toMatch(rc.says);
        await validTaskStillPasses();
      },
    );

    it(tally.one('portal big-data task submit (regions)', 'an unclosed ring is closed, as the contract says, and passes'), async () => {
      const closed = square(120.1, 30.2);
      const r = await admin.req('POST', '/api/bigdata/tasks', {
        form: validForm({ parts: [{ kind: 'polygon', rings: [closed.slice(0, -1)] }] }),
      });
      expect(r.status).toBe(503); // passed validation, reached the (absent) alert bus
    });

    // Was a bug: such a ring passed as a 358°-wide planar polygon; now refused as crosses_antimeridian.
    it(tally.one('portal big-data task submit (regions)', 'a polygon across the antimeridian is refused'), async () => {
      const r = await admin.req('POST', '/api/bigdata/tasks', {
        form: validForm({
          parts: [
            {
              kind: 'polygon',
              rings: [
                [
                  [179, 30],
                  [-179, 30],
                  [-179, 31],
                  [179, 31],
                  [179, 30],
                ],
              ],
            },
          ],
        }),
      });
      expect(r.status).toBe(400);
    });

    const DRAFT_CASES = tally.add('portal big-data drafts', [
      {
        name: 'a draft over the 2 MB limit',
        body: () => ({
          form: validForm({
            parts: [{ kind: 'polygon', rings: [Array.from({ length: 120_000 }, (_, i) => [120 + i * 1e-6, 30 + (i % 2) * 1e-3])] }],
          }),
        }),
        status: 413,
      },
      { name: 'a draft whose form is an array', body: () => ({ form: [1, 2, 3] }), status: 400 },
      { name: 'a draft whose form is a string', body: () => ({ form: "'; DROP TABLE bigdata_tasks; --" }), status: 400 },
      { name: 'a body that is not JSON', body: () => '{"form": {', status: 400 },
    ]);
    it.each(DRAFT_CASES)('$name → $status with a readable error; a valid draft still saves', async (dc) => {
      const b = dc.body();
      const r = await admin.req('POST', '/api/bigdata/drafts', b, typeof b === 'string' ? { 'content-type': 'application/json' } : {});
      expect(r.status).toBe(dc.status);
      expectReadableError(r);
      await validTaskStillPasses();
    });

    const REACH_CASES = tally.add('portal big-data reach estimate (regions)', [
      { name: 'not GeoJSON at all', body: { region: 'POLYGON EMPTY' } },
      { name: 'a FeatureCollection', body: { region: { type: 'FeatureCollection', features: [] } } },
      { name: 'coordinates as strings', body: { region: { parts: [{ kind: 'circle', center: ['120', '30'], radiusM: 100 }] } } },
      // The same check as submission (task-form's regionAndRuleIssues), not only the schema.
      {
        name: 'a self-intersecting (bow-tie) polygon',
        body: {
          region: {
            parts: [
              {
                kind: 'polygon',
                rings: [
                  [
                    [120, 30],
                    [120.1, 30.1],
                    [120.1, 30],
                    [120, 30.1],
                    [120, 30],
                  ],
                ],
              },
            ],
          },
        },
        says: /交叉/,
      },
    ]);
    it.each(REACH_CASES)('reach estimate with $name → 400 (before any bus)', async (rc) => {
      const r = await admin.req('POST', '/api/bigdata/reach', rc.body);
      expect(r.status).toBe(400);
      expectReadableError(r);
      if ('says' in rc && rc.says) expect(JSON.stringify(r.body)).toMatch(rc.says);
    });
  });

  it('the portal is healthy after all of it', async () => {
    expect((await admin.req('GET', '/healthz')).status).toBe(200);
  });
});
