import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '@geo/portal';
import { deflatedSpaces, zip } from '@geo/portal/testing';
import { CaseTally } from './report.ts';
import {
  expectReadableError,
  login,
  loginDemoAdmin,
  openOtherEnterprise,
  PORTAL_START_TIMEOUT,
  startTestPortal,
  type Client,
  type Reply,
} from './portal-client.ts';

/**
 * Industry SMS (行业短信) files and ids at the portal, through its whole HTTP stack on one portal:
 * zip bombs and hugely-expanding .xlsx uploads (refused at once with a 4xx, with bounded memory),
 * the row limit counting data rows only, and every industry route that takes an id — in the path
 * or in the body — refusing another tenant's REAL ids (sends, schedules, drafts, uploads, upload
 * and import jobs, groups, contacts, templates), and a fellow sub-account's personal ones.
 */

const tally = new CaseTally('industry-files');
const TAG = randomBytes(3).toString('hex');
const MB = 1024 * 1024;

/** The other parts an .xlsx has, so that the bombs look like workbooks. */
const workbookParts = () => [
  { name: '[Content_Types].xml', data: deflateRawSync(Buffer.from('<Types/>')), size: 8 },
  { name: 'xl/workbook.xml', data: deflateRawSync(Buffer.from('<workbook/>')), size: 11 },
];

function form(file: Uint8Array | string, name: string, fields: Record<string, string> = {}): FormData {
  const fd = new FormData();
  fd.set('file', new File([typeof file === 'string' ? new TextEncoder().encode(file) : (file as BlobPart)], name));
  for (const [k, v] of Object.entries(fields)) fd.set(k, v);
  return fd;
}

const ok = (r: Reply, what: string) => {
  if (r.status !== 200 && r.status !== 202) throw new Error(`could not create ${what}: ${r.status} ${r.text}`);
  return r.body;
};

async function untilDone(c: Client, jobId: string): Promise<Reply> {
  for (;;) {
    const r = await c.req('GET', `/api/industry/imports/${jobId}`);
    if (r.status !== 200 || r.body.phase === 'done' || r.body.phase === 'failed') return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

describe('industry files and ids at the portal (PGlite, one portal)', () => {
  let portal: Portal;
  let a: Client;
  let b: Client;
  let mate: Client;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    portal = await startTestPortal();
    a = await loginDemoAdmin(portal);
    b = (await openOtherEnterprise(portal, TAG)).admin;
    // A sub-account of A's own enterprise with every industry permission: personal records
    // (personal book, drafts, uploads, jobs) are the account's own, not the enterprise's.
    const perms = ['sms.send', 'sms.sent', 'contacts', 'inbox', 'templates', 'stats'];
    ok(await a.req('POST', '/api/accounts', { name: `mate-${TAG}`, password: 'Mate-pass-2024', permissions: perms }), 'a sub-account');
    mate = await login(portal, `mate-${TAG}`, 'Mate-pass-2024');

    ids.template = ok(await a.req('POST', '/api/industry/templates', { title: `A模版${TAG}`, content: 'A的模版内容' }), 'a template').id;
    ids.group = ok(await a.req('POST', '/api/industry/books/personal/groups', { name: `A分组${TAG}` }), 'a group').id;
    ids.contact = ok(
      await a.req('POST', '/api/industry/books/personal/contacts', { name: 'A个人联系人', phone: '13911120001', groupIds: [ids.group] }),
      'a personal contact',
    ).id;
    ids.entContact = ok(
      await a.req('POST', '/api/industry/books/enterprise/contacts', { name: 'A企业联系人', phone: '13911120002' }),
      'an enterprise contact',
    ).id;
    ids.department = (await a.req('GET', '/api/industry/books/enterprise/groups')).body.items[0].id;
    ids.upload = ok(await a.req('POST', '/api/industry/uploads', form('13911120003\n', 'a.txt', { kind: 'batch' })), 'an upload').uploadId;
    ids.uploadJob = ok(
      await a.req('POST', '/api/industry/upload-jobs', form('13911120004,A的定制内容\n', 'a.txt', { kind: 'merge' })),
      'an upload job',
    ).jobId;
    const uploaded = await untilDone(a, ids.uploadJob);
    expect(uploaded.body.phase).toBe('done');
    ids.jobUpload = uploaded.body.upload.uploadId;
    ids.importJob = ok(
      await a.req('POST', '/api/industry/books/personal/import', form('姓名,手机号码\nA导入联系人,13911120005\n', 'a.csv')),
      'an import job',
    ).jobId;
    expect((await untilDone(a, ids.importJob)).body.phase).toBe('done');
    // No NATS here: a send is recorded and stays queued, which is all the id needs.
    ids.send = ok(
      await a.req('POST', '/api/industry/sends', {
        mode: 'normal',
        recipients: '13911120006',
        subject: `A的发送${TAG}`,
        content: 'A的短信内容',
      }),
      'a send',
    ).id;
    const at = new Date(Date.now() + 86_400_000).toISOString();
    ids.schedule = ok(
      await a.req('POST', '/api/industry/sends', {
        mode: 'normal',
        recipients: '13911120007',
        subject: `A的定时${TAG}`,
        content: 'A的定时内容',
        action: 'schedule',
        scheduledAt: at,
      }),
      'a schedule',
    ).id;
    ids.draft = ok(
      await a.req('POST', '/api/industry/sends', {
        mode: 'normal',
        recipients: '13911120008',
        subject: `A的草稿${TAG}`,
        content: 'A的草稿内容',
        action: 'draft',
      }),
      'a draft',
    ).draftId;
  }, PORTAL_START_TIMEOUT);

  afterAll(async () => {
    await portal?.stop();
    tally.write();
  });

  /** Everything of A's, as A sees it: still there, unchanged. */
  async function aIntact(): Promise<void> {
    const get = async (path: string) => {
      const r = await a.req('GET', path);
      expect(r.status, `${path}: ${r.text.slice(0, 200)}`).toBe(200);
      return r.body;
    };
    expect((await get(`/api/industry/sends/${ids.send}`)).subject).toBe(`A的发送${TAG}`);
    expect((await get('/api/industry/schedules')).items.map((s: { id: string }) => s.id)).toContain(ids.schedule);
    expect((await get(`/api/industry/drafts/${ids.draft}`)).payload.subject).toBe(`A的草稿${TAG}`);
    expect((await get(`/api/industry/books/personal/contacts/${ids.contact}`)).groupIds).toEqual([ids.group]);
    expect((await get(`/api/industry/books/enterprise/contacts/${ids.entContact}`)).name).toBe('A企业联系人');
    expect((await get('/api/industry/templates')).items.find((t: { id: string }) => t.id === ids.template)?.title).toBe(`A模版${TAG}`);
    expect((await get('/api/industry/books/personal/groups')).items.find((g: { id: string }) => g.id === ids.group)?.name).toBe(
      `A分组${TAG}`,
    );
    expect((await get(`/api/industry/imports/${ids.importJob}`)).imported).toBe(1);
    expect((await get(`/api/industry/imports/${ids.uploadJob}`)).upload.accepted).toBe(1);
    expect((await a.req('GET', `/api/industry/uploads/${ids.upload}/report`)).status).toBe(200);
  }

  /** Nothing of A's in an answer (names and numbers A gave its records). */
  const A_DATA = /A模版|A分组|A个人联系人|A企业联系人|A导入联系人|A的发送|A的定时|A的草稿|A的短信|A的定制|1391112000[1-8]/;

  describe('zip bombs and hugely-expanding .xlsx: refused at once with a clear 4xx, memory bounded', () => {
    const BOMBS = [
      {
        name: 'a sheet that says it expands to 1 GB (refused from the zip directory, nothing inflated)',
        file: () => zip([...workbookParts(), { name: 'xl/worksheets/sheet1.xml', data: deflatedSpaces(4), size: 1024 * MB }]),
        says: /解压后有 1024 MB，达到或超过上限 200 MB/,
      },
      {
        name: 'a sheet whose header lies: says 1 KB, inflates to 512 MB',
        file: () => zip([...workbookParts(), { name: 'xl/worksheets/sheet1.xml', data: deflatedSpaces(512), size: 1024 }]),
        says: /sheet1\.xml”解压后比声明的大/,
      },
      {
        name: 'shared strings that say 150 MB (under the limit) and inflate to 1 GB',
        file: () => zip([...workbookParts(), { name: 'xl/sharedStrings.xml', data: deflatedSpaces(1024), size: 150 * MB }]),
        // 1 GB of one text node: the cell-length check while inflating stops it first (issue 17).
        says: /sharedStrings\.xml”解压后比声明的大|单元格的内容超过 4000 个字/,
      },
      {
        name: 'forty sheets of 6 MB each: every header honest, 240 MB in all',
        file: () =>
          zip([
            ...workbookParts(),
            ...Array.from({ length: 40 }, (_, i) => ({ name: `xl/worksheets/sheet${i + 1}.xml`, data: deflatedSpaces(6), size: 6 * MB })),
          ]),
        says: /解压后有 240 MB，达到或超过上限 200 MB/,
      },
    ];
    const TARGETS = [
      { target: 'batch send upload', path: '/api/industry/uploads', fields: { kind: 'batch' } },
      { target: 'mail-merge upload job', path: '/api/industry/upload-jobs', fields: { kind: 'merge' } },
      { target: 'address-book import', path: '/api/industry/books/personal/import', fields: {} as Record<string, string> },
    ];
    const table = TARGETS.flatMap((t) => BOMBS.map((bomb) => ({ ...bomb, ...t })));
    for (const t of TARGETS)
      tally.add(
        `portal ${t.target} (zip bomb)`,
        table.filter((c) => c.target === t.target),
      );

    it.each(table)(
      '$target: $name → 413 UPLOAD_TOO_LARGE at once, memory bounded, then a valid file still works',
      async (c) => {
        const bytes = c.file();
        expect(bytes.length).toBeLessThan(2 * MB);
        const before = process.memoryUsage().rss;
        const r = await a.req('POST', c.path, form(bytes, 'bomb.xlsx', c.fields));
        const grew = process.memoryUsage().rss - before;
        expect(r.status).toBe(413);
        const e = expectReadableError(r);
        expect(e.code).toBe('UPLOAD_TOO_LARGE');
        expect(e.message).toMatch(c.says);
        expect(e.message).toMatch(/压缩炸弹|单元格/);
        // Inflating happens 64 KB at a time and stops at the limit: the portal (in this process)
        // never holds the expanded bytes. (A generous bound: other work shares the process.)
        expect(grew).toBeLessThan(150 * MB);
        // A good file of the same kind is still read.
        const good = await a.req(
          'POST',
          c.path,
          form(c.fields.kind === 'merge' ? '13800138000,您好\n' : '姓名,手机号码\n好人,13800138000\n', 'ok.txt', c.fields),
        );
        expect([200, 202]).toContain(good.status);
        if (good.status === 202) expect((await untilDone(a, good.body.jobId)).body.phase).toBe('done');
      },
      120_000,
    );
  });

  describe('a cell too long or a row too wide: refused while streaming, memory bounded (issue 17)', () => {
    // A 20 MB cell deflates to ~20 KB: the file an attacker sends is tiny.
    const giantCell = () =>
      zip([
        ...workbookParts(),
        {
          name: 'xl/sharedStrings.xml',
          data: deflateRawSync(Buffer.from(`<sst><si><t>${'x'.repeat(20 * MB)}</t></si></sst>`)),
          size: 20 * MB + 30,
        },
      ]);
    const cases = [
      { target: 'batch send upload', path: '/api/industry/uploads', fields: { kind: 'batch' } },
      { target: 'mail-merge upload job', path: '/api/industry/upload-jobs', fields: { kind: 'merge' } },
      { target: 'address-book import', path: '/api/industry/books/personal/import', fields: {} as Record<string, string> },
    ].map((t) => ({ ...t, name: 'one 20 MB cell in a ~22 KB .xlsx' }));
    for (const t of cases) tally.add(`portal ${t.target} (cell limits)`, [t]);

    it.each(cases)(
      '$target: $name → 413 naming the cell, memory bounded',
      async (c) => {
        const bytes = giantCell();
        expect(bytes.length).toBeLessThan(64 * 1024);
        const before = process.memoryUsage().rss;
        const r = await a.req('POST', c.path, form(bytes, 'cell.xlsx', c.fields));
        const grew = process.memoryUsage().rss - before;
        // An upload checked in the request answers 413 at once; a background job fails with the same error.
        const e = r.status === 202 ? (await untilDone(a, r.body.jobId)).body.error : expectReadableError(r);
        if (r.status !== 202) expect(r.status).toBe(413);
        expect(e.code).toBe('UPLOAD_TOO_LARGE');
        expect(e.message).toMatch(/单元格的内容超过 4000 个字/);
        expect(grew).toBeLessThan(150 * MB);
      },
      120_000,
    );
  });

  describe('the row limit counts data rows, not the header line', () => {
    const rows = (n: number, from = 13000000000) => Array.from({ length: n }, (_, i) => String(from + i));
    it(
      tally.one('portal batch send upload (row limit)', 'a header and exactly 100,000 numbers are accepted'),
      async () => {
        const r = await a.req(
          'POST',
          '/api/industry/uploads',
          form(['手机号码', ...rows(100_000)].join('\n'), 'limit.txt', { kind: 'batch' }),
        );
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({ rows: 100_001, accepted: 100_000, rejectedTotal: 0 });
      },
      120_000,
    );
    it(
      tally.one('portal batch send upload (row limit)', 'a header and 100,001 numbers are refused, saying the header was not counted'),
      async () => {
        const r = await a.req(
          'POST',
          '/api/industry/uploads',
          form(['手机号码', ...rows(100_001)].join('\n'), 'over.txt', { kind: 'batch' }),
        );
        expect(r.status).toBe(413);
        expect(expectReadableError(r)).toMatchObject({
          code: 'UPLOAD_TOO_MANY_ROWS',
          message: expect.stringContaining('100001 行数据（不含表头）'),
        });
      },
      120_000,
    );
    it(
      tally.one(
        'portal address-book import (row limit)',
        'a header and 100,001 contacts fail the job with UPLOAD_TOO_MANY_ROWS, nothing imported',
      ),
      async () => {
        const lines = ['姓名,手机号码', ...rows(100_001, 14000000000).map((n) => `人${n},${n}`)];
        const start = await a.req('POST', '/api/industry/books/personal/import', form(lines.join('\n'), 'over.csv'));
        expect(start.status).toBe(202);
        const r = await untilDone(a, start.body.jobId);
        expect(r.body).toMatchObject({ phase: 'failed', imported: 0, error: { code: 'UPLOAD_TOO_MANY_ROWS' } });
      },
      120_000,
    );
  });

  describe("another tenant's real ids: refused (403/404), nothing leaks or changes", () => {
    const R = (method: string, path: string, kind: string, body?: unknown) => ({ method, path, kind, body });
    const PATH_IDS = [
      R('GET', '/api/industry/sends/{id}', 'send'),
      R('GET', '/api/industry/sends/{id}/replies', 'send'),
      R('GET', '/api/industry/sends/{id}', 'schedule'),
      R('PUT', '/api/industry/schedules/{id}', 'schedule', { scheduledAt: new Date(Date.now() + 2 * 86_400_000).toISOString() }),
      R('GET', '/api/industry/drafts/{id}', 'draft'),
      R('GET', '/api/industry/uploads/{id}/report', 'upload'),
      R('GET', '/api/industry/imports/{id}', 'importJob'),
      R('GET', '/api/industry/imports/{id}', 'uploadJob'),
      R('PUT', '/api/industry/books/personal/groups/{id}', 'group', { name: '被B改了' }),
      R('DELETE', '/api/industry/books/personal/groups/{id}', 'group'),
      R('GET', '/api/industry/books/personal/contacts/{id}', 'contact'),
      R('PUT', '/api/industry/books/personal/contacts/{id}', 'contact', { name: '被B改了', phone: '13911120001' }),
      R('DELETE', '/api/industry/books/personal/contacts/{id}', 'contact'),
      R('GET', '/api/industry/books/enterprise/contacts/{id}', 'entContact'),
      R('PUT', '/api/industry/books/enterprise/contacts/{id}', 'entContact', { name: '被B改了', phone: '13911120002' }),
      R('DELETE', '/api/industry/books/enterprise/contacts/{id}', 'entContact'),
      R('PUT', '/api/industry/templates/{id}', 'template', { title: '被B改了', content: '被B改了' }),
      R('DELETE', '/api/industry/templates/{id}', 'template'),
    ];
    it.each(tally.add('portal industry IDOR (real ids in the path)', PATH_IDS))(
      "B: $method $path with A's real $kind id → 403/404",
      async (c) => {
        const r = await b.req(c.method, c.path.replace('{id}', encodeURIComponent(ids[c.kind]!)), c.body);
        expect([403, 404]).toContain(r.status);
        expectReadableError(r);
        expect(r.text).not.toMatch(A_DATA);
      },
    );

    // The same enterprise, another account: personal records are the account's own.
    const MATE = PATH_IDS.filter((c) => ['draft', 'upload', 'importJob', 'uploadJob', 'group', 'contact'].includes(c.kind));
    it.each(tally.add("portal industry IDOR (a fellow sub-account's personal ids)", MATE))(
      "a sub-account of A's enterprise: $method $path with A's $kind id → 403/404",
      async (c) => {
        const r = await mate.req(c.method, c.path.replace('{id}', encodeURIComponent(ids[c.kind]!)), c.body);
        expect([403, 404]).toContain(r.status);
        expectReadableError(r);
        expect(r.text).not.toMatch(A_DATA);
      },
    );

    const send = (over: Record<string, unknown>) => ({
      mode: 'normal',
      recipients: '13922220001',
      content: 'B的短信',
      acceptRejected: true,
      ...over,
    });
    const BODY_IDS = [
      {
        name: "send from A's upload (batch)",
        path: '/api/industry/sends',
        body: () => send({ mode: 'batch', recipients: undefined, uploadId: ids.upload }),
      },
      {
        name: "send from the list of A's upload job (merge)",
        path: '/api/industry/sends',
        body: () => send({ mode: 'merge', recipients: undefined, content: undefined, uploadId: ids.jobUpload }),
      },
      {
        name: "check a send from the list of A's upload job",
        path: '/api/industry/sends/check',
        body: () => send({ mode: 'merge', recipients: undefined, content: undefined, uploadId: ids.jobUpload }),
      },
      {
        name: "check a send from A's upload",
        path: '/api/industry/sends/check',
        body: () => send({ mode: 'batch', recipients: undefined, uploadId: ids.upload }),
      },
      { name: "send to A's personal group", path: '/api/industry/sends', body: () => send({ recipients: '', groupIds: [ids.group] }) },
      {
        name: "send to A's department",
        path: '/api/industry/sends',
        body: () => send({ recipients: '', departmentIds: [ids.department] }),
      },
      {
        name: "send to A's contacts",
        path: '/api/industry/sends',
        body: () => send({ recipients: '', contactIds: [ids.contact, ids.entContact] }),
      },
      {
        name: "check a send to A's group, department and contacts",
        path: '/api/industry/sends/check',
        body: () => send({ recipients: '', groupIds: [ids.group], departmentIds: [ids.department], contactIds: [ids.contact] }),
      },
      {
        name: "save over A's draft",
        path: '/api/industry/sends',
        body: () => send({ action: 'draft', draftId: ids.draft, subject: '被B改了' }),
      },
      {
        name: "send with A's draft id (deletes the draft it came from)",
        path: '/api/industry/sends',
        body: () => send({ draftId: ids.draft }),
      },
      { name: "delete A's draft in bulk", path: '/api/industry/drafts/delete', body: () => ({ ids: [ids.draft] }) },
      { name: "delete A's schedule in bulk", path: '/api/industry/schedules/delete', body: () => ({ ids: [ids.schedule] }) },
      {
        name: "copy A's contact into A's group",
        path: '/api/industry/books/personal/contacts/copy',
        body: () => ({ ids: [ids.contact], groupIds: [ids.group] }),
      },
      {
        name: "move A's enterprise contact into A's department",
        path: '/api/industry/books/enterprise/contacts/move',
        body: () => ({ ids: [ids.entContact], groupIds: [ids.department] }),
      },
    ];
    it.each(tally.add("portal industry IDOR (A's real ids in B's bodies)", BODY_IDS))(
      "B: $name → refused or a no-op reaching none of A's records",
      async (c) => {
        const r = await b.req('POST', c.path, c.body());
        expect(r.status).toBeLessThan(500);
        if (r.status >= 400) expectReadableError(r);
        else {
          expect(JSON.stringify(r.body)).not.toMatch(/"(updated|deleted|moved|copied)":\s*[1-9]/);
          // A send B made reaches B's own typed number at most, never A's people.
          if (typeof r.body?.recipients === 'number') expect(r.body.recipients).toBeLessThanOrEqual(1);
        }
        expect(r.text).not.toMatch(A_DATA);
        await aIntact();
      },
    );

    const QUERY_IDS = [
      { name: "the inbox filtered by A's send", path: () => `/api/industry/inbox?sendId=${ids.send}` },
      { name: "the address book filtered by A's group", path: () => `/api/industry/books/personal/contacts?groupId=${ids.group}` },
      { name: "an export of A's contacts by id", path: () => `/api/industry/books/personal/export?ids=${ids.contact}` },
      {
        name: "an export of A's enterprise contacts by department",
        path: () => `/api/industry/books/enterprise/export?groupId=${ids.department}&ids=${ids.entContact}`,
      },
    ];
    it.each(tally.add("portal industry IDOR (A's real ids in B's queries)", QUERY_IDS))("B: $name → nothing of A's", async (c) => {
      const r = await b.req('GET', c.path());
      expect(r.status).toBeLessThan(500);
      if (r.status >= 400) expectReadableError(r);
      if (r.body instanceof Uint8Array) {
        // An Excel export: B's own (empty) book, none of A's names or numbers in it.
        const ExcelJS = (await import('exceljs')).default;
        const wb = new ExcelJS.Workbook();
        await wb.xlsx.load(r.body as unknown as ArrayBuffer);
        expect(wb.worksheets[0]!.rowCount).toBe(1);
      } else {
        expect(r.text).not.toMatch(A_DATA);
        if (Array.isArray(r.body?.items)) expect(r.body.items).toEqual([]);
      }
    });

    it(
      tally.one("portal industry IDOR (A's real ids in B's bodies)", "an import into A's group is refused, and nothing lands in A's book"),
      async () => {
        const r = await b.req(
          'POST',
          '/api/industry/books/personal/import',
          form('姓名,手机号码\nB的人,13922220009\n', 'b.csv', { groupIds: ids.group }),
        );
        expect([400, 403, 404]).toContain(r.status);
        expectReadableError(r);
        expect((await a.req('GET', '/api/industry/books/personal/contacts?keyword=13922220009')).body.items).toEqual([]);
      },
    );

    it(
      tally.one(
        'portal industry IDOR (real ids in the path)',
        "A's records are all still there, unchanged, after B's and the sub-account's attempts",
      ),
      async () => {
        await aIntact();
      },
    );
  });
});
