import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untilValue } from '@geo/infra/testing';
import { sha256 } from '../../../auth/session.ts';
import { loginAdmin, loginSub, START_TIMEOUT } from '../../../test/harness.ts';
import { MAX_EXTENSIONS_PER_ENTERPRISE } from '@geo/messaging';
import { industryTestApp, otherEnterpriseAdmin, subWith, type IndustryTestApp, type Requester } from '../test-app.ts';

async function xlsx(rows: (string | number)[][]): Promise<Blob> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('s');
  for (const r of rows) ws.addRow(r);
  return new Blob([new Uint8Array(await wb.xlsx.writeBuffer())]);
}

function upload(kind: string, blob: Blob, name: string): FormData {
  const f = new FormData();
  f.set('kind', kind);
  f.set('file', blob, name);
  return f;
}

describe('industry sends', () => {
  let t: IndustryTestApp;
  let admin: Requester;
  let sub: Requester;
  beforeAll(async () => {
    t = await industryTestApp();
    admin = t.as(await loginAdmin(t.portal));
    sub = t.as(await loginSub(t.portal));
    await t.portal.deps.db.query(`UPDATE accounts SET phone = '13700137000' WHERE id = 'demo-admin'`);
  }, START_TIMEOUT);
  afterAll(async () => t?.stop());

  it('offers approved signatures with the default preselected, the admin phone and balances', async () => {
    const r = await admin('GET', '/api/industry/send-options');
    expect(r.status).toBe(200);
    expect(r.body.signatures).toEqual([{ id: 'demo-signature', text: '翼讯通' }]);
    expect(r.body.defaultSignatureId).toBe('demo-signature');
    expect(r.body.forwardTo).toBe('13700137000');
    expect(r.body.balances.enterprise).toBe(100000);
  });

  it('counts characters, tasks and billing segments including the signature', async () => {
    const r = await admin('POST', '/api/industry/count', { content: '明日有暴雨' });
    expect(r.body).toMatchObject({ ok: true, chars: 10, tasks: 1, segments: 1 });
    const long = await admin('POST', '/api/industry/count', { content: '字'.repeat(600) });
    expect(long.body).toMatchObject({ ok: true, chars: 605, tasks: 2 });
    expect(long.body.segments).toBeGreaterThan(8);
  });

  it('reports invalid and duplicate numbers before sending and sends nothing until confirmed', async () => {
    const before = t.jobs.length;
    const body = { recipients: '13800138000，13800138000；12345 139-0013-9000', content: '会议改到下午三点' };
    const chk = await admin('POST', '/api/industry/sends/check', body);
    expect(chk.status).toBe(200);
    expect(chk.body.recipients).toBe(2);
    expect(chk.body.rejected.map((r: { reason: string }) => r.reason).sort()).toEqual(['duplicate', 'invalid']);
    expect(chk.body.subject).toBe('会议改到下午三点');
    const refused = await admin('POST', '/api/industry/sends', body);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('RECIPIENTS_REJECTED');
    expect(refused.body.error.message).toContain('有 2 个号码无效或重复');
    expect(t.jobs.length).toBe(before);
    const sent = await admin('POST', '/api/industry/sends', { ...body, acceptRejected: true });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ state: 'sent', recipients: 2, billing: 2 });
    const jobs = t.jobs.filter((j) => j.sendId === sent.body.id);
    expect(jobs.map((j) => j.msisdn).sort()).toEqual(['13800138000', '13900139000']);
    expect(jobs.every((j) => j.carrier === 'cmcc' && j.signature === '翼讯通' && j.source === 'industry')).toBe(true);
    expect(new Set(jobs.map((j) => j.jobId)).size).toBe(2);
  });

  it('assigns a unique extension to each live send needing a reply, forwarding to the admin phone by default', async () => {
    const a = await admin('POST', '/api/industry/sends', {
      recipients: '18900000001',
      content: '请回复1确认',
      needReply: true,
      forwardReplies: true,
    });
    const b = await admin('POST', '/api/industry/sends', { recipients: '18900000002', content: '请回复2确认', needReply: true });
    expect(a.body.extension).toMatch(/^\d{4}$/);
    expect(b.body.extension).toMatch(/^\d{4}$/);
    expect(a.body.extension).not.toBe(b.body.extension);
    const job = t.jobs.find((j) => j.sendId === a.body.id)!;
    expect(job).toMatchObject({ carrier: 'ctcc', extension: a.body.extension, forwardTo: '13700137000' });
    const bad = await admin('POST', '/api/industry/sends', {
      recipients: '18900000003',
      content: 'x',
      needReply: true,
      forwardReplies: true,
      forwardTo: '12345',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('转发手机号码“12345”无效');
  });

  it('refuses a send the balance cannot cover, charging nothing', async () => {
    await t.portal.deps.db.query(`UPDATE accounts SET quota = 1 WHERE id = 'demo-sub'`);
    const r = await sub('POST', '/api/industry/sends', { recipients: '13800000001,13800000002', content: '余额测试' });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('INSUFFICIENT_BALANCE');
    expect(r.body.error.message).toContain('账户余额不足：需要 2 条，剩余 1 条');
    const { rows } = await t.portal.deps.db.query<{ quota: string }>(`SELECT quota FROM accounts WHERE id = 'demo-sub'`);
    expect(Number(rows[0]!.quota)).toBe(1);
    await t.portal.deps.db.query(`UPDATE accounts SET quota = 5000 WHERE id = 'demo-sub'`);
  });

  it('charges the account and the enterprise by billing count', async () => {
    const q = async () =>
      (
        await t.portal.deps.db.query<{ a: string; e: string }>(
          `SELECT a.quota a, e.quota e FROM accounts a, enterprises e WHERE a.id = 'demo-sub' AND e.id = 'demo-enterprise'`,
        )
      ).rows[0]!;
    const before = await q();
    const r = await sub('POST', '/api/industry/sends', { recipients: '13800000001 13800000002 13800000003', content: '字'.repeat(100) });
    expect(r.status).toBe(200);
    expect(r.body.billing).toBe(6);
    const after = await q();
    expect(Number(before.a) - Number(after.a)).toBe(6);
    expect(Number(before.e) - Number(after.e)).toBe(6);
  });

  it('rejects an empty content, an unapproved signature and an unknown upload with zh-CN messages', async () => {
    const e = await admin('POST', '/api/industry/sends', { recipients: '13800138000', content: '  ' });
    expect(e.status).toBe(400);
    expect(e.body.error.message).toBe('请输入短信内容');
    await t.portal.deps.db.query(
      `INSERT INTO signatures (id, enterprise_id, text, status) VALUES ('pending-sig', 'demo-enterprise', '待审核', 'pending') ON CONFLICT DO NOTHING`,
    );
    const s = await admin('POST', '/api/industry/sends', { recipients: '13800138000', content: 'x', signatureId: 'pending-sig' });
    expect(s.body.error.code).toBe('SIGNATURE_NOT_APPROVED');
    const u = await admin('POST', '/api/industry/sends', { mode: 'batch', uploadId: 'nope', content: 'x' });
    expect(u.status).toBe(404);
    expect(u.body.error.message).toBe('上传的文件已过期，请重新上传');
    const v = await admin('POST', '/api/industry/sends', { recipients: 1 });
    expect(v.status).toBe(400);
    expect(v.body.error.code).toBe('VALIDATION');
  });

  it('batch-sends numbers from an Excel upload with a row-level report of bad rows', async () => {
    const file = await xlsx([['手机号码'], ['13800138001'], ['bad'], ['13800138001'], [13800138002]]);
    const up = await admin('POST', '/api/industry/uploads', upload('batch', file, 'nums.xlsx'));
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ kind: 'batch', accepted: 2, rejectedTotal: 2 });
    expect(up.body.rejected.map((r: { line: number }) => r.line)).toEqual([3, 4]);
    const report = await admin('GET', `/api/industry/uploads/${up.body.uploadId}/report`);
    expect(report.status).toBe(200);
    expect(report.headers.get('content-type')).toContain('spreadsheetml');
    const r = await admin('POST', '/api/industry/sends', {
      mode: 'batch',
      uploadId: up.body.uploadId,
      content: '批量通知',
      acceptRejected: true,
    });
    expect(r.status).toBe(200);
    expect(
      t.jobs
        .filter((j) => j.sendId === r.body.id)
        .map((j) => j.msisdn)
        .sort(),
    ).toEqual(['13800138001', '13800138002']);
  });

  it('checks a 25,000-number batch file as an upload job (read on a worker thread, kept in parts); the send check and the report read every part', async () => {
    const lines = ['手机号码', ...Array.from({ length: 25_000 }, (_, i) => String(13500000000 + i * 3))];
    lines.splice(5000, 0, 'bad-line');
    lines.push('13500000000'); // a duplicate of the first
    const start = await admin('POST', '/api/industry/upload-jobs', upload('batch', new Blob([lines.join('\n')]), 'many.txt'));
    expect(start.status).toBe(202);
    const job = await untilValue(
      'the upload job finished',
      async () => {
        const j = (await admin('GET', `/api/industry/imports/${start.body.jobId}`)).body;
        return j.phase === 'reading' || j.phase === 'importing' ? undefined : j;
      },
      25_000,
    );
    expect(job).toMatchObject({
      phase: 'done',
      percent: 100,
      imported: 25_000,
      rejectedTotal: 2,
      upload: { accepted: 25_000, duplicates: 1, rejectedTotal: 2 },
    });
    const parts = await t.portal.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sms_upload_lists WHERE id LIKE $1 || '~%'`, [
      job.upload.uploadId,
    ]);
    expect(parts.rows[0]!.n).toBeGreaterThan(1);
    const chk = await admin('POST', '/api/industry/sends/check', { mode: 'batch', uploadId: job.upload.uploadId, content: '通知' });
    expect(chk.body).toMatchObject({ recipients: 25_000, rejectedTotal: 2, duplicates: 1 });
    expect(chk.body.rejected.map((r: { input: string }) => r.input)).toEqual(['bad-line', '13500000000']);
    const report = await admin('GET', `/api/industry/uploads/${job.upload.uploadId}/report`);
    expect(report.status).toBe(200);
  });

  it('refuses broken and wrong-type files with clear errors, and reads GBK text', async () => {
    const broken = await admin(
      'POST',
      '/api/industry/uploads',
      upload('batch', new Blob([new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4, 5])]), 'x.xlsx'),
    );
    expect(broken.status).toBe(400);
    expect(broken.body.error.message).toContain('Excel 文件已损坏');
    const empty = await admin('POST', '/api/industry/uploads', upload('batch', new Blob([]), 'x.txt'));
    expect(empty.body.error.message).toBe('上传的文件是空的');
    const pdf = await admin('POST', '/api/industry/uploads', upload('batch', new Blob(['x']), 'x.pdf'));
    expect(pdf.status).toBe(415);
    const gbk = new Uint8Array([...new TextEncoder().encode('13800138000,'), 0xd5, 0xc5, 0xc8, 0xfd, 0x0a]); // 张三 in GBK
    const merge = await admin('POST', '/api/industry/uploads', upload('merge', new Blob([gbk]), 'gbk.txt'));
    expect(merge.status).toBe(200);
    expect(merge.body.preview[0]).toMatchObject({ msisdn: '13800138000', content: '张三' });
  });

  it('mail-merges: same number and content once, different content several times, with a preview', async () => {
    const txt = ['13800138000\t您好\t张三', '13800138000\t您好\t张三', '13800138000\t您好\t李四', '13900139000\t你好', 'x\t无效'].join(
      '\n',
    );
    const up = await admin('POST', '/api/industry/uploads', upload('merge', new Blob([txt]), 'm.txt'));
    expect(up.body).toMatchObject({ accepted: 3, duplicates: 1, rejectedTotal: 1 });
    const chk = await admin('POST', '/api/industry/sends/check', { mode: 'merge', uploadId: up.body.uploadId });
    expect(chk.body.preview.map((p: { content: string }) => p.content)).toEqual(['您好张三', '您好李四', '你好']);
    const r = await admin('POST', '/api/industry/sends', { mode: 'merge', uploadId: up.body.uploadId, acceptRejected: true });
    expect(r.status).toBe(200);
    const jobs = t.jobs.filter((j) => j.sendId === r.body.id);
    expect(jobs.map((j) => `${j.msisdn}:${j.content}`).sort()).toEqual([
      '13800138000:您好张三',
      '13800138000:您好李四',
      '13900139000:你好',
    ]);
  });

  it('keeps other tenants and unpermitted sub-accounts out', async () => {
    const other = t.as(await otherEnterpriseAdmin(t.portal));
    const up = await admin('POST', '/api/industry/uploads', upload('batch', new Blob(['13800138000']), 'a.txt'));
    const r = await other('POST', '/api/industry/sends', { mode: 'batch', uploadId: up.body.uploadId, content: 'x' });
    expect(r.status).toBe(404);
    const nosend = t.as(await subWith(t.portal, 'no_send', ['contacts']));
    expect((await nosend('POST', '/api/industry/sends', { recipients: '13800138000', content: 'x' })).status).toBe(403);
    expect((await nosend('GET', '/api/industry/send-options')).status).toBe(403);
    expect((await t.anonymous('GET', '/api/industry/send-options')).status).toBe(401);
  });

  it('accepts sends from an enterprise system with an API key, recorded as sent via the API', async () => {
    const key = 'gk_industry_test_key_0001';
    await t.portal.deps.db.query(
      `INSERT INTO api_keys (id, account_id, name, prefix, key_hash) VALUES ('k1', 'demo-admin', '测试', 'gk_indu', $1)`,
      [sha256(key)],
    );
    const r = await t.anonymous(
      'POST',
      '/api/industry/sends',
      { mode: 'merge', messages: [{ msisdn: '13800138000', content: '您的验证码 1234' }] },
      { authorization: `Bearer ${key}` },
    );
    expect(r.status).toBe(200);
    const status = await t.anonymous('GET', `/api/industry/sends/${r.body.id}`, undefined, { authorization: `Bearer ${key}` });
    expect(status.body).toMatchObject({ via: 'api', recipients: 1 });
    expect(status.body.recipientsPage[0]).toMatchObject({ msisdn: '13800138000', state: 'submitted', content: '您的验证码 1234' });
  });

  it.each([
    ['/api/industry/sends?from=notadate', 'from'],
    ['/api/industry/sends?to=2026-13-45', 'to'],
    ['/api/industry/sends?page=abc', 'page'],
    ['/api/industry/sends?pageSize=0', 'pageSize'],
    ['/api/industry/schedules?from=yesterday', 'from'],
    ['/api/industry/stats?from=notadate', 'from'],
    ['/api/industry/stats/export?to=31/12/2026', 'to'],
    ['/api/industry/inbox?from=notadate', 'from'],
    ['/api/industry/inbox?page=-1', 'page'],
    ['/api/industry/drafts?pageSize=1e9', 'pageSize'],
    ['/api/industry/sends/x?page=two', 'page'],
  ])('answers %s with 400 and a Chinese message, not 500', async (path, param) => {
    const r = await admin('GET', path);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('VALIDATION');
    expect(r.body.error.details).toContainEqual(
      expect.objectContaining({ path: param, message: expect.stringMatching(/[\u4e00-\u9fff]/) }),
    );
    expect(r.body.error.message).not.toMatch(/Invalid|expected/);
  });

  it('logs operations in words and reads not at all: live counts and checks leave no entry', async () => {
    const db = t.portal.deps.db;
    const { rows: top } = await db.query<{ id: string | null }>('SELECT max(id) AS id FROM op_log');
    const since = Number(top[0]?.id ?? 0);
    for (const content of ['通', '通知', '通知：', '通知：周五'])
      expect((await admin('POST', '/api/industry/count', { content })).status).toBe(200);
    expect((await admin('POST', '/api/industry/sends/check', { recipients: '13800138000', content: '通知：周五' })).status).toBe(200);
    expect((await admin('POST', '/api/industry/templates', { title: '周五通知', content: '通知：周五' })).status).toBe(200);
    const boss = await loginAdmin(t.portal);
    expect((await boss.req('POST', '/api/accounts/demo-sub/freeze')).status).toBe(200);
    expect((await boss.req('POST', '/api/accounts/demo-sub/unfreeze')).status).toBe(200);
    const { rows } = await db.query<{ action: string; target: string }>(
      'SELECT action, target FROM op_log WHERE id > $1 AND account_id = $2 ORDER BY id',
      [since, 'demo-admin'],
    );
    const actions = rows.map((r) => r.action).filter((a) => a !== '登录');
    expect(actions).toEqual(['新增短信模板', '冻结账户', '解冻账户']);
    expect(rows.find((r) => r.action === '冻结账户')!.target).toMatch(/demo-sub|演示子账户/);
  });

  it('bounds the reply extensions one enterprise holds, so one tenant cannot take the shared pool', async () => {
    const db = t.portal.deps.db;
    // The demo enterprise already holds some; fill it up to the bound with far-future holds.
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sms_extensions WHERE enterprise_id = 'demo-enterprise' AND expires_at > now()`,
    );
    const free = MAX_EXTENSIONS_PER_ENTERPRISE - rows[0]!.n;
    const holder = (await admin('POST', '/api/industry/sends', { recipients: '13800138000', content: '占位' })).body.id as string;
    await db.query(
      `INSERT INTO sms_extensions (enterprise_id, extension, send_id, expires_at)
       SELECT 'demo-enterprise', 'h' || lpad(n::text, 4, '0'), $2, now() + interval '300 days'
         FROM generate_series(1, $1::int) AS n`,
      [free, holder],
    );
    const r = await admin('POST', '/api/industry/sends', { recipients: '13800138000', content: '请回复', needReply: true });
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: 'NO_EXTENSION' });
    expect(r.body.error.message).toMatch(new RegExp(`${MAX_EXTENSIONS_PER_ENTERPRISE}`));
    // Another tenant still gets one.
    const other = t.as(await otherEnterpriseAdmin(t.portal));
    const o = await other('POST', '/api/industry/sends', { recipients: '13800138000', content: '请回复', needReply: true });
    expect(o.status).toBe(200);
    expect(o.body.extension).toMatch(/^\d{4}$/);
    await db.query(`DELETE FROM sms_extensions WHERE extension LIKE 'h%'`);
  });
});
