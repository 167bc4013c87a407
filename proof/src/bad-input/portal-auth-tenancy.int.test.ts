import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { Portal } from '@geo/portal';
import { onePagePdf, postSpaces } from '@geo/portal/testing';
import { CaseTally } from './report.ts';
import {
  call,
  expectReadableError,
  INJECTION_STRINGS,
  login,
  loginDemoAdmin,
  loginOperator,
  openOtherEnterprise,
  PORTAL_START_TIMEOUT,
  sessionHash,
  startTestPortal,
  type Client,
  type Reply,
} from './portal-client.ts';

/**
 * Sessions, CSRF, Origin, tenancy (IDOR on every :id route) and injection strings in every text
 * field, at the portal through its whole HTTP stack, on one portal (PGlite) for the file.
 * Enterprise A is the demo enterprise; enterprise B is opened by the platform operator through the
 * API. Each refused request is followed by the same request done right, which still works, and A's
 * records are checked to be untouched.
 */

const tally = new CaseTally('portal-auth-tenancy');
const TAG = randomBytes(3).toString('hex');

describe('sessions, CSRF, tenancy and injection at the portal (PGlite, one portal)', () => {
  let portal: Portal;
  let a: Client;
  let b: Client;
  /** A's records, by kind, created through the API. */
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    portal = await startTestPortal();
    a = await loginDemoAdmin(portal);
    b = (await openOtherEnterprise(portal, TAG)).admin;
    const ok = (r: Reply, what: string) => {
      if (r.status !== 200) throw new Error(`could not create ${what}: ${r.status} ${r.text}`);
      return r.body;
    };
    ids.department = ok(await a.req('POST', '/api/departments', { name: `A部门${TAG}` }), 'a department').id;
    ids.account = ok(
      await a.req('POST', '/api/accounts', { name: `a-sub-${TAG}`, password: 'Passw0rd-A1x', displayName: 'A子账户' }),
      'an account',
    ).id;
    ids.signature = ok(await a.req('POST', '/api/signatures', { text: `A签名${TAG}` }), 'a signature').id;
    ids.template = ok(await a.req('POST', '/api/industry/templates', { title: `A模版${TAG}`, content: 'A的模版内容' }), 'a template').id;
    ids.group = ok(await a.req('POST', '/api/industry/books/personal/groups', { name: `A分组${TAG}` }), 'a group').id;
    ids.contact = ok(
      await a.req('POST', '/api/industry/books/personal/contacts', { name: 'A个人联系人', phone: '13911110001' }),
      'a personal contact',
    ).id;
    ids.entContact = ok(
      await a.req('POST', '/api/industry/books/enterprise/contacts', { name: 'A企业联系人', phone: '13911110002' }),
      'an enterprise contact',
    ).id;
    ids.apiKey = ok(await a.req('POST', '/api/api-keys', { name: `A密钥${TAG}` }), 'an API key').id;
    ids.feedback = ok(await a.req('POST', '/api/feedback', { content: 'A 的意见反馈内容' }), 'feedback').id;
    ids.bigdataDraft = ok(await a.req('POST', '/api/bigdata/drafts', { form: { subject: 'A的草稿' } }), 'a big-data draft').id;
    const fd = new FormData();
    fd.set('file', new File(['13911110003\n'], 'a.txt'));
    fd.set('kind', 'batch');
    ids.upload = ok(await a.req('POST', '/api/industry/uploads', fd), 'an upload').uploadId;
    ids.enterprise = a.me.enterpriseId!;
    // Kinds A has no record of here: an id that exists nowhere (must be 404, never 500).
    for (const k of ['send', 'industryDraft', 'qualification', 'message', 'importJob']) ids[k] = `none-${TAG}-${k}`;
  }, PORTAL_START_TIMEOUT);

  afterAll(async () => {
    await portal?.stop();
    tally.write();
  });

  /** A's records, as A sees them: every one still there with its original name. */
  async function aIntact() {
    expect((await a.req('GET', `/api/accounts/${ids.account}`)).body.displayName).toBe('A子账户');
    expect((await a.req('GET', '/api/departments')).body.items.map((d: { id: string }) => d.id)).toContain(ids.department);
    expect((await a.req('GET', '/api/signatures')).body.items.map((s: { id: string }) => s.id)).toContain(ids.signature);
    expect((await a.req('GET', '/api/industry/templates')).body.items.find((t: { id: string }) => t.id === ids.template)?.title).toBe(
      `A模版${TAG}`,
    );
    expect((await a.req('GET', '/api/industry/books/personal/groups')).body.items.map((g: { id: string }) => g.id)).toContain(ids.group);
    expect((await a.req('GET', `/api/industry/books/personal/contacts/${ids.contact}`)).body.name).toBe('A个人联系人');
    expect((await a.req('GET', `/api/industry/books/enterprise/contacts/${ids.entContact}`)).body.name).toBe('A企业联系人');
    expect((await a.req('GET', '/api/api-keys')).body.items.find((k: { id: string }) => k.id === ids.apiKey)?.revokedAt ?? null).toBeNull();
    expect((await a.req('GET', `/api/bigdata/drafts/${ids.bigdataDraft}`)).body.form.subject).toBe('A的草稿');
    expect((await a.req('GET', `/api/industry/uploads/${ids.upload}/report`)).status).toBe(200);
  }

  describe("another tenant's ids (IDOR): B calls every :id route with A's ids", () => {
    interface IdorCase {
      method: string;
      path: string;
      kind: string;
      body?: unknown;
    }
    const R = (method: string, path: string, kind: string, body?: unknown): IdorCase => ({ method, path, kind, body });
    const IDOR: IdorCase[] = [
      R('GET', '/api/accounts/{id}', 'account'),
      R('PUT', '/api/accounts/{id}', 'account', { displayName: '被B改了' }),
      R('DELETE', '/api/accounts/{id}', 'account'),
      R('PUT', '/api/accounts/{id}/permissions', 'account', { permissions: [] }),
      R('POST', '/api/accounts/{id}/freeze', 'account'),
      R('POST', '/api/accounts/{id}/unfreeze', 'account'),
      R('POST', '/api/accounts/{id}/reset-password', 'account', { password: 'Hijack-2024x' }),
      R('PUT', '/api/accounts/{id}/default-signature', 'account', { signatureId: null }),
      R('PUT', '/api/departments/{id}', 'department', { name: '被B改了' }),
      R('DELETE', '/api/departments/{id}', 'department'),
      R('POST', '/api/signatures/{id}/default', 'signature'),
      R('DELETE', '/api/signatures/{id}', 'signature'),
      R('POST', '/api/review/signatures/{id}/approve', 'signature'),
      R('POST', '/api/review/signatures/{id}/reject', 'signature', { reason: '被B驳回' }),
      R('GET', '/api/review/qualifications/{id}/file', 'qualification'),
      R('POST', '/api/review/qualifications/{id}/approve', 'qualification'),
      R('POST', '/api/review/qualifications/{id}/reject', 'qualification', { reason: 'x' }),
      R('POST', '/api/review/feedback/{id}/reply', 'feedback', { reply: '被B回复' }),
      R('PUT', '/api/operator/enterprises/{id}', 'enterprise', { name: '被B改了' }),
      R('POST', '/api/operator/enterprises/{id}/freeze', 'enterprise'),
      R('POST', '/api/operator/enterprises/{id}/unfreeze', 'enterprise'),
      R('GET', '/api/settings/qualifications/{id}/file', 'qualification'),
      R('DELETE', '/api/settings/qualifications/{id}', 'qualification'),
      R('POST', '/api/messages/{id}/read', 'message'),
      R('DELETE', '/api/api-keys/{id}', 'apiKey'),
      R('GET', '/api/industry/uploads/{id}/report', 'upload'),
      R('GET', '/api/industry/sends/{id}', 'send'),
      R('GET', '/api/industry/sends/{id}/replies', 'send'),
      R('PUT', '/api/industry/schedules/{id}', 'send', { scheduledAt: new Date(Date.now() + 86_400_000).toISOString() }),
      R('GET', '/api/industry/drafts/{id}', 'industryDraft'),
      R('PUT', '/api/industry/books/personal/groups/{id}', 'group', { name: '被B改了' }),
      R('DELETE', '/api/industry/books/personal/groups/{id}', 'group'),
      R('GET', '/api/industry/books/personal/contacts/{id}', 'contact'),
      R('PUT', '/api/industry/books/personal/contacts/{id}', 'contact', { name: '被B改了', phone: '13911110001' }),
      R('DELETE', '/api/industry/books/personal/contacts/{id}', 'contact'),
      R('GET', '/api/industry/books/enterprise/contacts/{id}', 'entContact'),
      R('PUT', '/api/industry/books/enterprise/contacts/{id}', 'entContact', { name: '被B改了', phone: '13911110002' }),
      R('DELETE', '/api/industry/books/enterprise/contacts/{id}', 'entContact'),
      R('PUT', '/api/industry/templates/{id}', 'template', { title: '被B改了', content: '被B改了' }),
      R('DELETE', '/api/industry/templates/{id}', 'template'),
      R('GET', '/api/industry/imports/{id}', 'importJob'),
      R('GET', '/api/bigdata/drafts/{id}', 'bigdataDraft'),
      R('PUT', '/api/bigdata/drafts/{id}', 'bigdataDraft', { form: { subject: '被B改了' } }),
      R('DELETE', '/api/bigdata/drafts/{id}', 'bigdataDraft'),
      R('GET', '/api/bigdata/tasks/{id}', 'bigdataDraft'),
      R('POST', '/api/bigdata/tasks/{id}/pause', 'bigdataDraft'),
      R('POST', '/api/bigdata/tasks/{id}/resume', 'bigdataDraft'),
      R('POST', '/api/bigdata/tasks/{id}/stop', 'bigdataDraft'),
      R('GET', '/api/bigdata/tasks/{id}/reached', 'bigdataDraft'),
      R('GET', '/api/bigdata/tasks/{id}/progress', 'bigdataDraft'),
      R('GET', '/api/bigdata/tasks/{id}/why?msisdn=13800138000', 'bigdataDraft'),
      R('PUT', '/api/bigdata/tasks/{id}', 'bigdataDraft', { content: '被B改了' }),
      R('GET', '/api/bigdata/tasks/{id}/recipients', 'bigdataDraft'),
      R('GET', '/api/bigdata/tasks/{id}/cap', 'bigdataDraft'),
      R('POST', '/api/operator/enterprises/{id}/top-up', 'enterprise', { amount: 1000 }),
      R('GET', '/api/operator/enterprises/{id}/ledger', 'enterprise'),
      R('POST', '/api/bigdata/tasks/{id}/approve', 'bigdataDraft'),
      R('POST', '/api/bigdata/tasks/{id}/reject', 'bigdataDraft', { reason: '被B驳回' }),
      // 回复报平安 (#21): another enterprise's task's answers, help list and close.
      R('GET', '/api/bigdata/tasks/{id}/checkin', 'bigdataDraft'),
      R('GET', '/api/bigdata/tasks/{id}/checkin/help', 'bigdataDraft'),
      R('GET', '/api/bigdata/tasks/{id}/checkin/help/export', 'bigdataDraft'),
      R('POST', '/api/bigdata/tasks/{id}/checkin/close', 'bigdataDraft'),
      // The operator's boundary versions (#21): an enterprise account is refused whatever the id.
      R('POST', '/api/operator/boundaries/{id}/activate', 'enterprise'),
      R('GET', '/api/operator/boundaries/{id}/geojson', 'enterprise'),
    ];
    it.each(tally.add('portal IDOR (:id routes)', IDOR))(
      "$method $path with A's $kind id → 403/404 with a readable error, nothing of A's leaks or changes",
      async (ic) => {
        const path = ic.path.replace('{id}', encodeURIComponent(ids[ic.kind]!));
        const r = await b.req(ic.method, path, ic.body);
        expect([403, 404]).toContain(r.status);
        expectReadableError(r);
        // Nothing of A's in the answer (names A gave its records).
        expect(r.text).not.toMatch(/A子账户|A部门|A签名|A模版|A分组|A个人联系人|A企业联系人|A密钥|A的草稿|13911110003/);
      },
    );

    it(tally.one('portal IDOR (:id routes)', "A's records are all still there, unchanged, after B's attempts"), async () => {
      await aIntact();
    });

    it(tally.one('portal IDOR (:id routes)', 'the table covers every :id route the OpenAPI document lists'), async () => {
      const doc = (await call(portal, 'GET', '/api/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
      const listed = Object.entries(doc.paths)
        .filter(([p]) => /\{(id)\}/.test(p))
        .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace('{book}', 'personal')}`));
      const covered = new Set(IDOR.map((c) => `${c.method} ${c.path.split('?')[0]}`));
      expect(listed.filter((x) => !covered.has(x))).toEqual([]);
    });

    const BULK = tally.add("portal IDOR (A's ids inside B's bodies)", [
      {
        name: "delete A's personal contact in bulk",
        method: 'POST',
        path: '/api/industry/books/personal/contacts/delete',
        body: () => ({ ids: [ids.contact] }),
      },
      {
        name: "delete A's enterprise contact in bulk",
        method: 'POST',
        path: '/api/industry/books/enterprise/contacts/delete',
        body: () => ({ ids: [ids.entContact] }),
      },
      {
        name: "move A's contact into A's group",
        method: 'POST',
        path: '/api/industry/books/personal/contacts/move',
        body: () => ({ ids: [ids.contact], groupIds: [ids.group] }),
      },
      {
        name: "copy A's contact",
        method: 'POST',
        path: '/api/industry/books/personal/contacts/copy',
        body: () => ({ ids: [ids.contact], groupIds: [ids.group] }),
      },
      {
        name: "re-sort A's contact",
        method: 'POST',
        path: '/api/industry/books/personal/contacts/sort',
        body: () => ({ ids: [ids.contact] }),
      },
      {
        name: "delete A's drafts in bulk",
        method: 'POST',
        path: '/api/industry/drafts/delete',
        body: () => ({ ids: [ids.bigdataDraft, ids.industryDraft] }),
      },
      { name: "delete A's schedules in bulk", method: 'POST', path: '/api/industry/schedules/delete', body: () => ({ ids: [ids.send] }) },
      {
        name: "create a contact in A's group",
        method: 'POST',
        path: '/api/industry/books/personal/contacts',
        body: () => ({ name: 'B联系人', phone: '13922220001', groupIds: [ids.group] }),
      },
      {
        name: "create a sub-account in A's department",
        method: 'POST',
        path: '/api/accounts',
        body: () => ({ name: `b-sub-${TAG}`, password: 'Passw0rd-B1x', departmentId: ids.department }),
      },
      {
        name: "create a department under A's department",
        method: 'POST',
        path: '/api/departments',
        body: () => ({ name: 'B部门', parentId: ids.department }),
      },
      {
        name: "create a group under A's group",
        method: 'POST',
        path: '/api/industry/books/personal/groups',
        body: () => ({ name: 'B分组', parentId: ids.group }),
      },
      {
        name: "submit a task copied from A's draft",
        method: 'POST',
        path: '/api/bigdata/tasks',
        body: () => ({ form: {}, copiedFrom: ids.bigdataDraft }),
      },
    ]);
    it.each(BULK)("$name → refused or a no-op, never a 5xx; A's records unchanged", async (bc) => {
      const r = await b.req(bc.method, bc.path, bc.body());
      expect(r.status).toBeLessThan(500);
      if (r.status >= 400) expectReadableError(r);
      else expect(JSON.stringify(r.body)).not.toMatch(/"(updated|deleted|moved|copied)":\s*[1-9]/);
      await aIntact();
    });
  });

  describe('bad bodies and queries on any route: a clear 4xx, never 500 (issue 17, Hardening)', () => {
    const template = () => ({ title: `t${randomBytes(3).toString('hex')}`, content: '内容' });
    /** A request with this login's cookie and CSRF token, the body exactly as given. */
    const rawPost = (c: Client, path: string, body: string, type = 'application/json') =>
      call(portal, 'POST', path, body, { cookie: c.cookie, 'x-forwarded-for': c.ip, 'x-csrf-token': c.csrf, 'content-type': type });
    const form = (fields: Record<string, string>, file: File) => {
      const f = new FormData();
      for (const [k, v] of Object.entries(fields)) f.set(k, v);
      f.set('file', file);
      return f;
    };
    const pdfFile = () => new File([onePagePdf() as Uint8Array<ArrayBuffer>], '营业执照.pdf', { type: 'application/pdf' });
    const BODY_CASES: { name: string; run: (c: Client) => Promise<Reply>; status: number; code: string; says: RegExp }[] = [
      {
        name: 'a text/plain body',
        run: (c) => rawPost(c, '/api/industry/templates', JSON.stringify(template()), 'text/plain'),
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        says: /JSON/,
      },
      {
        name: 'an XML body',
        run: (c) => rawPost(c, '/api/industry/templates', '<t/>', 'application/xml'),
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        says: /JSON/,
      },
      {
        name: 'a form-encoded body',
        run: (c) => rawPost(c, '/api/feedback', 'content=x', 'application/x-www-form-urlencoded'),
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        says: /JSON/,
      },
      {
        name: 'JSON arrays nested 200,000 deep to /api/bigdata/drafts',
        run: (c) => rawPost(c, '/api/bigdata/drafts', '['.repeat(200_000) + ']'.repeat(200_000)),
        status: 400,
        code: 'BAD_JSON',
        says: /嵌套过深/,
      },
      {
        name: 'JSON objects nested 200,000 deep',
        run: (c) => rawPost(c, '/api/industry/templates', '{"a":'.repeat(200_000) + '1' + '}'.repeat(200_000)),
        status: 400,
        code: 'BAD_JSON',
        says: /嵌套过深/,
      },
      {
        name: 'a JSON body of 3 MB',
        run: (c) => rawPost(c, '/api/industry/templates', JSON.stringify({ title: 't', content: 'x'.repeat(3 << 20) })),
        status: 413,
        code: 'UPLOAD_TOO_LARGE',
        says: /请求内容过大/,
      },
      {
        name: 'a login body of 64 KB',
        run: () =>
          call(
            portal,
            'POST',
            '/api/auth/login',
            JSON.stringify({ name: 'demo', password: 'x'.repeat(64 << 10), captchaId: 'x', captcha: 'x' }),
            { 'content-type': 'application/json' },
          ),
        status: 413,
        code: 'UPLOAD_TOO_LARGE',
        says: /8 KB/,
      },
      {
        name: 'invalid UTF-8 in a JSON body',
        run: (c) =>
          call(portal, 'POST', '/api/industry/templates', new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), {
            cookie: c.cookie,
            'x-forwarded-for': c.ip,
            'x-csrf-token': c.csrf,
            'content-type': 'application/json',
          }),
        status: 400,
        code: 'BAD_JSON',
        says: /UTF-8/,
      },
      {
        name: 'a NUL byte in a contact name',
        run: (c) => c.req('POST', '/api/industry/books/personal/contacts', { name: '张\u0000三', phone: '13911129999' }),
        status: 400,
        code: 'VALIDATION',
        says: /空字符/,
      },
      {
        name: 'a NUL byte in a contact remark',
        run: (c) => c.req('POST', '/api/industry/books/personal/contacts', { name: '张三', phone: '13911129998', remark: 'a\u0000b' }),
        status: 400,
        code: 'VALIDATION',
        says: /空字符/,
      },
      {
        name: 'a NUL byte in a template text',
        run: (c) => c.req('POST', '/api/industry/templates', { title: '模版', content: '您好\u0000' }),
        status: 400,
        code: 'VALIDATION',
        says: /空字符/,
      },
      {
        name: 'a NUL byte in a search query',
        run: (c) => c.req('GET', '/api/industry/templates?keyword=a%00b'),
        status: 400,
        code: 'VALIDATION',
        says: /空字符/,
      },
      // Multipart forms (helper K's walk of #17): a NUL in a field or a file name reached PostgreSQL (500),
      // and a form that could not be read was answered as "不是有效的 JSON".
      {
        name: 'a NUL byte in a qualification title (multipart field)',
        run: (c) => c.req('POST', '/api/settings/qualifications', form({ title: '营业\u0000执照' }, pdfFile())),
        status: 400,
        code: 'VALIDATION',
        says: /空字符/,
      },
      {
        name: "a NUL byte in an upload's file name",
        run: (c) => c.req('POST', '/api/industry/uploads', form({ kind: 'batch' }, new File(['13911112222\n'], 'list\u0000.txt'))),
        status: 400,
        code: 'VALIDATION',
        says: /空字符/,
      },
      {
        name: "a NUL byte in the contacts import's groupIds",
        run: (c) =>
          c.req(
            'POST',
            '/api/industry/books/personal/import',
            form({ groupIds: 'g\u00001' }, new File(['张三,13911112222\n'], 'book.txt')),
          ),
        status: 400,
        code: 'VALIDATION',
        says: /空字符/,
      },
      {
        name: 'a multipart body without a boundary',
        run: (c) => rawPost(c, '/api/settings/qualifications', 'abc', 'multipart/form-data'),
        status: 400,
        code: 'UPLOAD_BROKEN',
        says: /上传内容无法解析/,
      },
      {
        name: 'a multipart body cut off in its first part',
        run: (c) =>
          rawPost(
            c,
            '/api/bigdata/letters',
            '--xx\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.4',
            'multipart/form-data; boundary=xx',
          ),
        status: 400,
        code: 'UPLOAD_BROKEN',
        says: /上传内容无法解析/,
      },
      {
        name: '?from=notadate on the sent list',
        run: (c) => c.req('GET', '/api/industry/sends?from=notadate'),
        status: 400,
        code: 'VALIDATION',
        says: /日期/,
      },
      {
        name: '?to=2026-02-30 on the sent list',
        run: (c) => c.req('GET', '/api/industry/sends?to=2026-02-31'),
        status: 400,
        code: 'VALIDATION',
        says: /日期/,
      },
    ];
    it.each(tally.add('portal bad bodies and queries', BODY_CASES))(
      '$name → $status $code; the same request done right still works',
      async (bc) => {
        const c = await loginDemoAdmin(portal);
        const r = await bc.run(c);
        expect(r.status).toBe(bc.status);
        const e = expectReadableError(r);
        expect(e.code).toBe(bc.code);
        expect(e.message).toMatch(bc.says);
        expect((await c.req('POST', '/api/industry/templates', template())).status).toBe(200);
        await aIntact();
      },
    );
  });

  // Issue 17: a 3-position ring to the metrics route answered 500. The portal checks the region as
  // task submission and the reach estimate do (regionAndRuleIssues) and says why in Chinese before
  // insight is asked (with insight unset it answered 503 for a region it should refuse).
  it(
    tally.one('portal bad bodies and queries', 'a 3-position ring to /api/insight/metrics → 400 in Chinese before insight is asked'),
    async () => {
      const ring = [
        [120, 30],
        [121, 30],
        [120, 30],
      ];
      const r = await a.req('POST', '/api/insight/metrics', { region: { parts: [{ kind: 'polygon', rings: [ring] }] } });
      expect(r.status).toBe(400);
      const e = expectReadableError(r);
      expect(e.code).toBe('VALIDATION');
      expect(JSON.stringify(r.body.error)).toMatch(/顶点/);
      expect(JSON.stringify(r.body.error)).not.toMatch(/distinct|vertices/);
    },
  );

  // What the public port tells someone on the internet (203.0.113.7, read behind the trusted proxy):
  // no versions, no internal addresses, no metrics (issue 17; /healthz and /metrics told them until b4d70a1).
  const EXPOSURE = tally.add('portal status and health exposure', [
    { path: '/api/status', status: 200 },
    { path: '/healthz', status: 200 },
    { path: '/metrics', status: 404 },
  ]);
  it.each(EXPOSURE)('GET $path from the internet → $status, no versions or internal addresses', async ({ path, status }) => {
    const r = await call(portal, 'GET', path, undefined, { 'x-forwarded-for': '203.0.113.7' });
    expect(r.status).toBe(status);
    expect(r.text).not.toMatch(/version|pglite|memory:|127\.0\.0\.1|nodejs_|process_/i);
  });

  describe('answers with personal data are kept by no browser or proxy (Cache-Control: no-store, issue 17)', () => {
    const PERSONAL = tally.add('portal personal data not cached', [
      '/api/auth/me',
      '/api/accounts',
      '/api/accounts/{account}',
      '/api/industry/books/personal/contacts',
      '/api/industry/books/personal/contacts/{contact}',
      '/api/industry/books/enterprise/contacts',
      '/api/industry/books/personal/export',
      '/api/industry/sends',
      '/api/industry/inbox',
      '/api/industry/uploads/{upload}/report',
      '/api/settings/op-log',
      '/api/settings/login-log',
      '/api/api-keys',
      '/api/bigdata/drafts',
      '/api/bigdata/drafts/{bigdataDraft}',
    ]);
    it.each(PERSONAL)('GET %s → 200, no-store', async (path) => {
      const r = await a.req(
        'GET',
        path.replace(/\{(\w+)\}/, (_, k: string) => ids[k]!),
      );
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toMatch(/no-store/);
    });

    // A qualification (营业执照, 授权书: names, ID numbers) is personal data: no browser keeps it
    // after logout (it was served `private, max-age=300`).
    it(tally.one('portal personal data not cached', 'GET a stored qualification file (enterprise and operator) → no-store'), async () => {
      const fd = new FormData();
      fd.set('title', `营业执照${TAG}`);
      fd.set('file', new File([onePagePdf() as Uint8Array<ArrayBuffer>], '营业执照.pdf', { type: 'application/pdf' }));
      const q = await a.req('POST', '/api/settings/qualifications', fd);
      expect(q.status).toBe(200);
      const own = await a.req('GET', `/api/settings/qualifications/${q.body.id}/file`);
      const review = await (await loginOperator(portal)).req('GET', `/api/review/qualifications/${q.body.id}/file`);
      // Both served: only the caching may fail this case.
      if (own.status !== 200 || review.status !== 200) throw new Error(`files not served: ${own.status} ${review.status}`);
      expect([own.headers.get('cache-control'), review.headers.get('cache-control')]).toEqual([
        expect.stringMatching(/no-store/),
        expect.stringMatching(/no-store/),
      ]);
    });
  });

  // Over a real socket: the guard used to read a refused body to its end before answering, so a
  // login declaring 30 MB was answered only once all 30 MB had come in.
  it(
    tally.one('portal bad bodies and queries', 'a login declaring 30 MB over a socket → 413 before the client has sent half of it'),
    { timeout: 120_000 },
    async () => {
      const total = 30 * 1024 * 1024;
      const r = await postSpaces(`${portal.url}/api/auth/login`, total, { stopAtAnswer: true });
      expect(r.status).toBe(413);
      expect(expectReadableError({ status: r.status, body: JSON.parse(r.text), headers: new Headers(), text: r.text }).code).toBe(
        'UPLOAD_TOO_LARGE',
      );
      expect(r.sentBeforeAnswer).toBeLessThan(total / 2);
      // The portal still answers a login done right.
      await loginDemoAdmin(portal);
    },
  );

  describe('sessions, CSRF tokens and Origin', () => {
    /** A state-changing request that must work when done right: create a template. */
    const create = (c: Client, headers: Record<string, string> = {}, cookie = c.cookie) =>
      call(
        portal,
        'POST',
        '/api/industry/templates',
        { title: `t${randomBytes(3).toString('hex')}`, content: '内容' },
        { cookie, 'x-forwarded-for': c.ip, 'x-csrf-token': c.csrf, ...headers },
      );

    interface SessionCase {
      name: string;
      /** Prepares a fresh login and returns the request to try. */
      run: (c: Client) => Promise<Reply>;
      status: number;
      code: string;
      /** The case ended the login: the follow-up logs in again. */
      endsLogin?: boolean;
    }
    const expire = (c: Client, sql: string) => portal.deps.db.query(`UPDATE sessions SET ${sql} WHERE id_hash = $1`, [sessionHash(c.sid)]);
    const SESSION_CASES: SessionCase[] = [
      { name: 'no session cookie', run: (c) => create(c, {}, ''), status: 401, code: 'UNAUTHENTICATED' },
      {
        name: 'a forged session cookie',
        run: (c) => create(c, {}, `geo_sid=${randomBytes(32).toString('base64url')}`),
        status: 401,
        code: 'SESSION_EXPIRED',
      },
      {
        name: 'a session cookie with SQL in it',
        run: (c) => create(c, {}, `geo_sid=x'%20OR%20'1'%3D'1`),
        status: 401,
        code: 'SESSION_EXPIRED',
      },
      {
        name: 'an expired session',
        run: async (c) => (await expire(c, "expires_at = now() - interval '1 minute'"), create(c)),
        status: 401,
        code: 'SESSION_EXPIRED',
        endsLogin: true,
      },
      {
        name: 'an idle session (3 h without a request)',
        run: async (c) => (await expire(c, "last_seen_at = now() - interval '3 hours'"), create(c)),
        status: 401,
        code: 'SESSION_EXPIRED',
        endsLogin: true,
      },
      {
        name: 'an expired session on a read',
        run: async (c) => (
          await expire(c, "expires_at = now() - interval '1 minute'"),
          call(portal, 'GET', '/api/industry/templates', undefined, { cookie: c.cookie })
        ),
        status: 401,
        code: 'SESSION_EXPIRED',
        endsLogin: true,
      },
      {
        name: 'a logged-out session',
        run: async (c) => (await c.req('POST', '/api/auth/logout'), create(c)),
        status: 401,
        code: 'SESSION_EXPIRED',
        endsLogin: true,
      },
      { name: 'no CSRF token', run: (c) => create(c, { 'x-csrf-token': '' }), status: 403, code: 'CSRF' },
      { name: 'a wrong CSRF token', run: (c) => create(c, { 'x-csrf-token': 'wrong' }), status: 403, code: 'CSRF' },
      {
        name: "a CSRF token of the right length but not this session's",
        run: (c) => create(c, { 'x-csrf-token': c.csrf.replace(/./g, 'A') }),
        status: 403,
        code: 'CSRF',
      },
      { name: "another session's CSRF token", run: (c) => create(c, { 'x-csrf-token': b.csrf }), status: 403, code: 'CSRF' },
      { name: 'an Origin of another site', run: (c) => create(c, { origin: 'http://evil.example' }), status: 403, code: 'CSRF' },
      {
        name: 'an Origin that only starts like ours',
        run: (c) => create(c, { origin: 'http://localhost.evil.example' }),
        status: 403,
        code: 'CSRF',
      },
      { name: 'an Origin with another port', run: (c) => create(c, { origin: 'http://localhost:1' }), status: 403, code: 'CSRF' },
      {
        name: 'a DELETE without a CSRF token',
        run: async (c) => call(portal, 'DELETE', `/api/industry/templates/${ids.template}`, undefined, { cookie: c.cookie }),
        status: 403,
        code: 'CSRF',
      },
      {
        name: 'a form post to login without a session (text/plain)',
        run: () => call(portal, 'POST', '/api/auth/login', 'name=demo&password=x', { 'content-type': 'text/plain' }),
        status: 403,
        code: 'CSRF',
      },
      {
        name: 'a garbage API key',
        run: () => call(portal, 'GET', '/api/v1/whoami', undefined, { authorization: 'Bearer gk_garbage' }),
        status: 401,
        code: 'UNAUTHENTICATED',
      },
      {
        name: 'an API key with SQL in it',
        run: () => call(portal, 'GET', '/api/v1/whoami', undefined, { authorization: "Bearer gk_x' OR '1'='1" }),
        status: 401,
        code: 'UNAUTHENTICATED',
      },
    ];
    it.each(tally.add('portal sessions and CSRF', SESSION_CASES))(
      '$name → $status $code; the same request done right still works',
      async (sc) => {
        let c = await loginDemoAdmin(portal);
        const r = await sc.run(c);
        expect(r.status).toBe(sc.status);
        expect(expectReadableError(r).code).toBe(sc.code);
        if (sc.endsLogin) c = await loginDemoAdmin(portal);
        expect((await create(c)).status).toBe(200);
        await aIntact();
      },
    );

    // Was a bug: `new URL(origin)` threw on these, giving 500; an unparsable Origin is now foreign.
    it(tally.one('portal sessions and CSRF', 'an Origin of "null" → 403 CSRF'), async () => {
      const c = await loginDemoAdmin(portal);
      const r = await create(c, { origin: 'null' });
      expect(r.status).toBe(403);
    });
    it(tally.one('portal sessions and CSRF', 'an Origin that is not a URL → 403 CSRF'), async () => {
      const c = await loginDemoAdmin(portal);
      const r = await create(c, { origin: '::not a url' });
      expect(r.status).toBe(403);
    });

    it(tally.one('portal sessions and CSRF', "a frozen sub-account's live session ends at once"), async () => {
      const name = `frozen-${TAG}`;
      const acct = await a.req('POST', '/api/accounts', { name, password: 'Passw0rd-F1x', permissions: ['sms.send'] });
      expect(acct.status).toBe(200);
      const sub = await login(portal, name, 'Passw0rd-F1x');
      expect((await sub.req('GET', '/api/auth/me')).status).toBe(200);
      expect((await a.req('POST', `/api/accounts/${acct.body.id}/freeze`)).status).toBe(200);
      const r = await sub.req('GET', '/api/auth/me');
      expect(r.status).toBe(401);
      expectReadableError(r);
    });

    it(tally.one('portal sessions and CSRF', 'a revoked API key is refused; a live one works'), async () => {
      const k = await a.req('POST', '/api/api-keys', { name: `revoke-${TAG}` });
      expect((await call(portal, 'GET', '/api/v1/whoami', undefined, { authorization: `Bearer ${k.body.key}` })).status).toBe(200);
      expect((await a.req('DELETE', `/api/api-keys/${k.body.id}`)).status).toBe(200);
      const r = await call(portal, 'GET', '/api/v1/whoami', undefined, { authorization: `Bearer ${k.body.key}` });
      expect(r.status).toBe(401);
      expectReadableError(r);
    });
  });

  describe('injection strings in every text field: stored and returned as inert text', () => {
    interface FieldCase {
      field: string;
      /** Creates with the text; returns the reply and a function reading the text back. */
      create: (text: string) => Promise<{ r: Reply; readBack: () => Promise<unknown> }>;
    }
    const byId = (list: { id: string }[], id: string): any => list.find((x) => x.id === id);
    const FIELDS: FieldCase[] = [
      {
        field: 'template title',
        create: async (t) => {
          const r = await a.req('POST', '/api/industry/templates', { title: t, content: 'x' });
          return {
            r,
            readBack: async () => (byId((await a.req('GET', '/api/industry/templates')).body.items, r.body.id) as { title: string }).title,
          };
        },
      },
      {
        field: 'template content',
        create: async (t) => {
          const r = await a.req('POST', '/api/industry/templates', { title: 'inj', content: t });
          return {
            r,
            readBack: async () =>
              (byId((await a.req('GET', '/api/industry/templates')).body.items, r.body.id) as { content: string }).content,
          };
        },
      },
      {
        field: 'contact name',
        create: async (t) => {
          const r = await a.req('POST', '/api/industry/books/personal/contacts', { name: t, phone: nextPhone() });
          return { r, readBack: async () => (await a.req('GET', `/api/industry/books/personal/contacts/${r.body.id}`)).body.name };
        },
      },
      {
        field: 'contact company, address and remark',
        create: async (t) => {
          const r = await a.req('POST', '/api/industry/books/personal/contacts', {
            name: 'inj',
            phone: nextPhone(),
            company: t,
            address: t,
            remark: t,
          });
          return {
            r,
            readBack: async () => {
              const c = (await a.req('GET', `/api/industry/books/personal/contacts/${r.body.id}`)).body;
              return c.company === t && c.address === t ? c.remark : `${c.company}|${c.address}`;
            },
          };
        },
      },
      {
        field: 'group name',
        create: async (t) => {
          const r = await a.req('POST', '/api/industry/books/personal/groups', { name: t.slice(0, 30) });
          return {
            r,
            readBack: async () =>
              `${(byId((await a.req('GET', '/api/industry/books/personal/groups')).body.items, r.body.id) as { name: string }).name}${t.slice(30)}`,
          };
        },
      },
      {
        field: 'department name and remark',
        create: async (t) => {
          const r = await a.req('POST', '/api/departments', { name: t, remark: t });
          return {
            r,
            readBack: async () => (byId((await a.req('GET', '/api/departments')).body.items, r.body.id) as { name: string }).name,
          };
        },
      },
      {
        field: 'sub-account display name',
        create: async (t) => {
          const r = await a.req('POST', '/api/accounts', {
            name: `inj-${randomBytes(4).toString('hex')}`,
            password: 'Passw0rd-I1x',
            displayName: t.slice(0, 32),
            remark: t,
          });
          return { r, readBack: async () => `${(await a.req('GET', `/api/accounts/${r.body.id}`)).body.displayName}${t.slice(32)}` };
        },
      },
      {
        field: 'feedback content',
        create: async (t) => {
          const r = await a.req('POST', '/api/feedback', { content: `反馈：${t}` });
          return {
            r,
            readBack: async () =>
              (byId((await a.req('GET', '/api/feedback')).body.items, r.body.id) as { content: string }).content.replace(/^反馈：/, ''),
          };
        },
      },
      {
        field: 'API key name',
        create: async (t) => {
          const r = await a.req('POST', '/api/api-keys', { name: t });
          return { r, readBack: async () => (byId((await a.req('GET', '/api/api-keys')).body.items, r.body.id) as { name: string }).name };
        },
      },
      {
        field: 'big-data draft subject and content',
        create: async (t) => {
          const r = await a.req('POST', '/api/bigdata/drafts', { form: { subject: t, content: t } });
          return { r, readBack: async () => (await a.req('GET', `/api/bigdata/drafts/${r.body.id}`)).body.form.subject };
        },
      },
    ];
    let phoneSeq = 0;
    const nextPhone = () => `1390088${String(++phoneSeq).padStart(4, '0')}`;
    const table = FIELDS.flatMap((f) => INJECTION_STRINGS.map((text) => ({ field: f.field, text, create: f.create })));
    tally.add('portal text fields (injection)', table);
    it.each(table)('$field = $text → stored and read back literally (or refused with a readable 400), never run', async (fc) => {
      const { r, readBack } = await fc.create(fc.text);
      if (r.status === 400) {
        expect(expectReadableError(r).code).toBe('VALIDATION');
        return;
      }
      expect(r.status).toBe(200);
      expect(await readBack()).toBe(fc.text);
    });

    const QUERY_CASES = tally.add(
      'portal query parameters (injection)',
      [
        '/api/industry/templates?keyword=',
        '/api/industry/books/personal/contacts?keyword=',
        '/api/industry/books/enterprise/contacts?keyword=',
        '/api/accounts?keyword=',
        '/api/industry/sends?keyword=',
        '/api/industry/inbox?keyword=',
        '/api/settings/op-log?keyword=',
        '/api/bigdata/tasks?keyword=',
        '/api/bigdata/drafts?keyword=',
      ].flatMap((path) =>
        [`x' OR '1'='1`, `%' OR 1=1; DROP TABLE contacts; --`, `\\'; SELECT * FROM accounts; --`].map((q) => ({ path, q })),
      ),
    );
    it.each(QUERY_CASES)("B: $path$q → 200 with none of A's rows, or a readable 400", async ({ path, q }) => {
      const r = await b.req('GET', `${path}${encodeURIComponent(q)}`);
      expect(r.status === 200 || r.status === 400).toBe(true);
      if (r.status === 400) expectReadableError(r);
      expect(r.text).not.toMatch(/A子账户|A部门|A模版|A个人联系人|A企业联系人|A的草稿|demo/);
    });

    it(tally.one('portal text fields (injection)', "every table is still there and A's records are intact"), async () => {
      for (const t of ['accounts', 'enterprises', 'departments', 'sessions', 'contacts', 'sms_templates', 'signatures', 'api_keys']) {
        const { rows } = await portal.deps.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${t}`);
        expect(Number(rows[0]!.n)).toBeGreaterThan(0);
      }
      await aIntact();
      expect((await call(portal, 'GET', '/healthz')).status).toBe(200);
    });
  });
});
