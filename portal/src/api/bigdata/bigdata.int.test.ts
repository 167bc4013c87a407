import { AlertTask, progressSubject, ReachRequest, type ReachReplyInput, type TaskProgress } from '@geo/alerting';
import { connectNats, ensureKv, type NatsConnection } from '@geo/infra';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { loginAdmin, loginOperator, START_TIMEOUT, testPortal } from '../../test/harness.ts';
import { AlertBus, setAlertBus } from './alert-bus.ts';
import { onePagePdf, tinyPng } from '../../http/document-fixtures.ts';
import { addAccount, consoleApp, loginAs, onApp, PNG_BYTES, tenThousandVertexRing } from './console-harness.ts';
import { BIGDATA_ROUTES } from './index.ts';
import { MAX_JSON_BODY_BYTES } from './route-kit.ts';

const BUCKET = 'alert_tasks_portal_int';
const REACH = 'alert.reach.portal-int';

const today = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
const inDays = (n: number) => new Date(Date.now() + 8 * 3600_000 + n * 86_400_000).toISOString().slice(0, 10);

const validForm = (letter: string, extra: Record<string, unknown> = {}) => ({
  alertType: 'typhoon',
  region: {
    parts: [
      { kind: 'admin', code: '330102', name: '上城区' },
      { kind: 'rectangle', west: 120.1, south: 30.2, east: 120.2, north: 30.3 },
    ],
  },
  subject: '台风 测试',
  content: '台风即将登陆，请注意安全。',
  signature: '翼讯通',
  startDate: today(),
  endDate: inDays(2),
  windows: [{ start: '08:00', end: '20:00' }],
  frequency: 'daily',
  minDwellMin: 10,
  rules: [{ attribute: 'age', action: 'keep', min: 18, max: 70 }],
  quota: { cmcc: { total: 1000, dailyCap: 500 }, ctcc: { total: 200, dailyCap: 200 } },
  authorizationLetter: letter,
  ...extra,
});

describe('big-data SMS console API (PGlite + real NATS)', () => {
  let portal: Portal;
  let nc: NatsConnection;
  let bus: AlertBus;
  let app: ReturnType<typeof consoleApp>;
  let admin: ReturnType<typeof onApp>;
  let letter: string;

  beforeAll(async () => {
    portal = await testPortal();
    nc = await connectNats(inject('natsUrl'), 'portal-bigdata-test');
    bus = await AlertBus.open(nc, { bucket: BUCKET, reachSubject: REACH });
    setAlertBus(portal.deps, bus);
    app = consoleApp(portal, BIGDATA_ROUTES);
    admin = onApp(app, await loginAdmin(portal));
    const fd = new FormData();
    fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
    const up = await admin('POST', '/api/bigdata/letters', fd);
    expect(up.status).toBe(200);
    letter = up.body.id;
  }, START_TIMEOUT);
  afterAll(async () => {
    await nc?.drain();
    await portal?.stop();
  });

  it('refuses callers without a login, operators and sub-accounts without the feature', async () => {
    expect((await app.request('/api/bigdata/tasks')).status).toBe(401);
    const op = onApp(app, await loginOperator(portal));
    expect((await op('GET', '/api/bigdata/options')).status).toBe(403);
    const sub = onApp(app, await loginAs(portal, await addAccount(portal, 'sub', ['bigdata.tasks'])));
    expect((await sub('GET', '/api/bigdata/tasks')).status).toBe(200);
    expect((await sub('POST', '/api/bigdata/tasks', { form: validForm(letter) })).status).toBe(403);
  });

  it('serves the areas and simplified boundaries for the offline map', async () => {
    const a = await admin('GET', '/api/bigdata/areas');
    expect(a.body.areas.filter((x: any) => x.level === 'city')).toHaveLength(11);
    const b = await admin('GET', '/api/bigdata/boundaries/district');
    const fc = b.body;
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.features.find((f: any) => f.properties.code === '330106').properties.name).toBe('西湖区');
    expect((await admin('GET', '/api/bigdata/boundaries/street')).status).toBe(400);
  });

  it('gives options: alert types with templates, approved signatures only, the balance', async () => {
    await portal.deps.db.query(
      `INSERT INTO signatures (id, enterprise_id, text, status) VALUES ('pending-sig', 'demo-enterprise', '未审核', 'pending')`,
    );
    const o = await admin('GET', '/api/bigdata/options');
    expect(o.body.alertTypes.find((t: any) => t.value === 'typhoon').label).toBe('台风');
    expect(o.body.signatures.map((s: any) => s.text)).toEqual(['翼讯通']);
    expect(o.body.balance).toBe(100000);
  });

  it('puts every validation error beside its field', async () => {
    const r = await admin('POST', '/api/bigdata/tasks', { form: { region: { parts: [] }, quota: {} } });
    expect(r.status).toBe(400);
    const paths = r.body.error.details.map((d: any) => d.path);
    for (const p of ['alertType', 'subject', 'content', 'signature', 'startDate', 'endDate', 'frequency']) expect(paths).toContain(p);
  });

  it('refuses a crossing polygon, a pending signature, budgets above the balance and a missing letter, in Chinese', async () => {
    const form = validForm('', {
      signature: '未审核',
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
              ],
            ],
          },
        ],
      },
      quota: { cmcc: { total: 200_000, dailyCap: 300_000 } },
      authorizationLetter: undefined,
    });
    const r = await admin('POST', '/api/bigdata/tasks', { form });
    expect(r.status).toBe(400);
    const by = Object.fromEntries(r.body.error.details.map((d: any) => [d.path, d.message]));
    expect(by['region.parts.0.rings']).toMatch(/交叉/);
    expect(by.signature).toMatch(/未通过审核/);
    expect(by.quota).toMatch(/超过可用短信余量 100000/);
    expect(by['quota.cmcc.dailyCap']).toMatch(/不能大于/);
    expect(by.authorizationLetter).toMatch(/授权函/);
  });

  it('refuses a letter that is not a PDF or an image', async () => {
    const fd = new FormData();
    fd.set('file', new File(['#!/bin/sh'], 'x.pdf', { type: 'application/pdf' }));
    expect((await admin('POST', '/api/bigdata/letters', fd)).status).toBe(415);
  });

  it('refuses a letter that only starts like a PDF, and takes real PDFs and PNGs by their structure', async () => {
    const fake = new Uint8Array(150).fill(0x20);
    fake.set(Buffer.from('%PDF-1.7\n'));
    const fd = new FormData();
    fd.set('file', new File([fake], '授权函.pdf', { type: 'application/pdf' }));
    const r = await admin('POST', '/api/bigdata/letters', fd);
    expect(r.status).toBe(415);
    expect(r.body.error).toMatchObject({ code: 'UPLOAD_TYPE' });
    expect(r.body.error.message).toMatch(/^授权函无法打开：/);
    for (const [bytes, type] of [
      [onePagePdf(), 'application/pdf'],
      [tinyPng(), 'image/png'],
    ] as const) {
      const ok = new FormData();
      ok.set('file', new File([bytes as Uint8Array<ArrayBuffer>], 'letter', { type: 'application/octet-stream' }));
      const up = await admin('POST', '/api/bigdata/letters', ok);
      expect(up.status).toBe(200);
      expect(up.body.contentType).toBe(type);
    }
  });

  it('submits: the task spec lands in the KV bucket, valid by the alerting contract', async () => {
    const r = await admin('POST', '/api/bigdata/tasks', { form: validForm(letter) });
    expect(r.body.error).toBeUndefined();
    expect(r.status).toBe(200);
    const kv = await ensureKv(nc, BUCKET);
    const e = await kv.get(r.body.id);
    const task = AlertTask.parse(e!.json());
    expect(task).toMatchObject({ id: r.body.id, state: 'submitted', version: 1 });
    expect(task.spec).toMatchObject({
      alertType: 'typhoon',
      enterpriseId: 'demo-enterprise',
      accountId: 'demo-admin',
      balance: 100000,
      frequency: 'daily',
      minDwellMin: 10,
    });
    expect(task.spec.region.parts[0]).toEqual({ kind: 'admin', code: '330102', name: '上城区' });
    // 西湖区's reference outline touches itself; the operator cannot fix that, so it is not refused here.
    const westLake = await admin('POST', '/api/bigdata/tasks', {
      form: validForm(letter, { region: { parts: [{ kind: 'admin', code: '330106' }] } }),
    });
    expect(westLake.status).toBe(200);
    const list = await admin('GET', '/api/bigdata/tasks?alertType=typhoon&name=台风');
    expect(list.body.items.map((t: any) => t.id)).toContain(r.body.id);
  });

  it('pauses and resumes before execution, refuses to pause a running task, and stops it at any time', async () => {
    const { body } = await admin('POST', '/api/bigdata/tasks', { form: validForm(letter, { subject: '暂停测试' }) });
    expect((await admin('POST', `/api/bigdata/tasks/${body.id}/pause`)).body.state).toBe('paused');
    expect((await bus.get(body.id))!.state).toBe('paused');
    expect((await admin('POST', `/api/bigdata/tasks/${body.id}/resume`)).body.state).toBe('submitted');
    // Alerting starts it: scheduled, then running.
    const kv = await ensureKv(nc, BUCKET);
    for (const state of ['scheduled', 'running'] as const) {
      const e = await kv.get(body.id);
      await kv.update(
        body.id,
        JSON.stringify({ ...e!.json<AlertTask>(), state, startedAt: state === 'running' ? Date.now() : undefined }),
        e!.revision,
      );
    }
    const refused = await admin('POST', `/api/bigdata/tasks/${body.id}/pause`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/执行中/);
    expect((await admin('GET', `/api/bigdata/tasks/${body.id}`)).body.state).toBe('running');
    expect((await admin('POST', `/api/bigdata/tasks/${body.id}/stop`)).body.state).toBe('stopped');
    expect((await bus.get(body.id))!.state).toBe('stopped');
    expect((await admin('POST', `/api/bigdata/tasks/${body.id}/stop`)).status).toBe(409);
  });

  it('keeps one enterprise out of another enterprise’s tasks and drafts', async () => {
    const { body } = await admin('POST', '/api/bigdata/tasks', { form: validForm(letter, { subject: '本集团任务' }) });
    const draft = await admin('POST', '/api/bigdata/drafts', { form: { subject: '本集团草稿' } });
    const other = onApp(app, await loginAs(portal, await addAccount(portal, 'other-enterprise')));
    expect((await other('GET', `/api/bigdata/tasks/${body.id}`)).status).toBe(404);
    expect((await other('POST', `/api/bigdata/tasks/${body.id}/stop`)).status).toBe(404);
    expect((await other('GET', '/api/bigdata/tasks')).body.items).toEqual([]);
    expect((await other('DELETE', `/api/bigdata/drafts/${draft.body.id}`)).status).toBe(404);
    // Another enterprise's letter is not ours to attach.
    expect(
      (
        await other('POST', '/api/bigdata/tasks', {
          form: validForm(letter, { signature: '其他集团', quota: { cmcc: { total: 10, dailyCap: 10 } } }),
        })
      ).body.error.details,
    ).toContainEqual({
      path: 'authorizationLetter',
      message: '授权函不存在，请重新上传',
    });
  });

  it('saves, edits, lists and deletes drafts, and sends one', async () => {
    const d = await admin('POST', '/api/bigdata/drafts', { form: { subject: '草稿一', alertType: 'fire' } });
    expect((await admin('PUT', `/api/bigdata/drafts/${d.body.id}`, { form: { subject: '草稿一（改）', alertType: 'fire' } })).status).toBe(
      200,
    );
    const list = await admin('GET', '/api/bigdata/drafts');
    expect(list.body.items.find((x: any) => x.id === d.body.id)).toMatchObject({
      subject: '草稿一（改）',
      alertType: 'fire',
      state: 'draft',
    });
    const sent = await admin('POST', '/api/bigdata/tasks', { form: validForm(letter, { subject: '草稿发送' }), draftId: d.body.id });
    expect(sent.body.id).toBe(d.body.id);
    expect((await bus.get(d.body.id))!.spec.subject).toBe('草稿发送');
    expect((await admin('DELETE', `/api/bigdata/drafts/${d.body.id}`)).status).toBe(404);
    const d2 = await admin('POST', '/api/bigdata/drafts', { form: {} });
    expect((await admin('DELETE', `/api/bigdata/drafts/${d2.body.id}`)).status).toBe(200);
  });

  it('takes a form whose region has a 10,000-vertex polygon, and refuses bodies over the limit with 413', async () => {
    const ring = tenThousandVertexRing();
    const form = validForm(letter, { subject: '万点区域', region: { parts: [{ kind: 'polygon', rings: [ring] }] } });
    const d = await admin('POST', '/api/bigdata/drafts', { form });
    expect(d.status).toBe(200);
    expect((await admin('PUT', `/api/bigdata/drafts/${d.body.id}`, { form })).status).toBe(200);
    const r = await admin('POST', '/api/bigdata/reach', { region: form.region });
    expect(r.status).not.toBe(413);
    const huge = { region: { parts: Array.from({ length: 6 }, () => ({ kind: 'polygon', rings: [ring] })) } };
    for (const [method, path, body] of [
      ['POST', '/api/bigdata/reach', huge],
      ['POST', '/api/bigdata/drafts', { form: { ...form, ...huge } }],
      ['PUT', `/api/bigdata/drafts/${d.body.id}`, { form: { ...form, ...huge } }],
      ['POST', '/api/bigdata/tasks', { form: { ...form, ...huge } }],
      ['POST', '/api/bigdata/count', { signature: '翼讯通', content: 'x'.repeat(MAX_JSON_BODY_BYTES + 1) }],
    ] as const) {
      const res = await admin(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(413);
      expect(res.body.error.message).toContain('请求内容过大');
    }
    expect((await admin('GET', `/api/bigdata/drafts/${d.body.id}`)).body.form.region.parts).toHaveLength(1);
  });

  it('counts a text as the one alert it is sent and charged as, not as an industry send’s 500-character tasks (#21)', async () => {
    const r = await admin('POST', '/api/bigdata/count', { signature: '翼讯通', content: '字'.repeat(1000) });
    expect(r.status).toBe(200);
    // 1005 UCS-2 characters are 15 parts of 67: what the ledger reserves per recipient (not 3 tasks, 17).
    expect(r.body).toEqual({ ok: true, chars: 1005, tasks: 1, segments: 15, encoding: 'ucs2' });
  });

  it('shows progress stored before it went on the grid of k on the grid, in the list and the detail (#17)', async () => {
    const r = await admin('POST', '/api/bigdata/tasks', { form: validForm(letter) });
    expect(r.status).toBe(200);
    // As an older portal stored it: alerting's exact counts of the people inside, not messaged.
    const raw = { state: 'running', matched: 3, carriers: { cmcc: { sent: 0, delivered: 0, failed: 0 } }, skipped: { dwell: 3, rule: 12 } };
    await portal.deps.db.query('UPDATE bigdata_tasks SET progress = $2 WHERE id = $1', [r.body.id, JSON.stringify(raw)]);
    const detail = await admin('GET', `/api/bigdata/tasks/${r.body.id}`);
    expect(detail.body.progress).toMatchObject({ matched: 0, skipped: { rule: 10 }, k: 10 });
    expect(detail.body.progress.skipped.dwell).toBeUndefined();
    const list = await admin('GET', '/api/bigdata/tasks?page=1&pageSize=50');
    expect(list.body.items.find((t: any) => t.id === r.body.id).progress).toMatchObject({ matched: 0, skipped: { rule: 10 } });
  });

  it('exports the task list to Excel with formula-like cells escaped', async () => {
    await admin('POST', '/api/bigdata/tasks', { form: validForm(letter, { subject: '=HYPERLINK("http://x")' }) });
    const r = await admin('GET', '/api/bigdata/tasks/export');
    expect(r.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(r.body.buffer);
    const subjects = wb.worksheets[0]!.getColumn(2).values;
    expect(subjects).toContain(`'=HYPERLINK("http://x")`);
    expect(subjects).not.toContain('=HYPERLINK("http://x")');
  });

  it('sums the reach estimate of every alerting instance per cell before the threshold, skipping a repeated shard set', async () => {
    // Each instance holds part of a cell's people: 6 + 5 in cell x is 11 (released as 10, the grid of k), 4 + 4 in y is 8 (not).
    const answer = (instance: string, shards: number[], x: number, y: number, part = 0, parts = 1): ReachReplyInput => ({
      v: 1,
      instance,
      shards,
      present: { cmcc: x + y, cucc: 0, ctcc: 0 },
      passing: { cmcc: x + y, cucc: 0, ctcc: 0 },
      allowedToday: { cmcc: 1, cucc: 1, ctcc: 1 },
      tookMs: 1,
      cells: part === 0 ? { cmcc: { ids: ['x'], present: [x], passing: [x] } } : { cmcc: { ids: ['y'], present: [y], passing: [y] } },
      remaining: { cmcc: 5 },
      part,
      parts,
    });
    const seen: unknown[] = [];
    const sub = nc.subscribe(REACH, {
      callback: (_e, m) => {
        seen.push(ReachRequest.parse(m.json()));
        m.respond(JSON.stringify(answer('a', [0, 1], 6, 4, 0, 2)));
        m.respond(JSON.stringify(answer('a', [0, 1], 6, 4, 1, 2)));
        m.respond(JSON.stringify(answer('b', [2, 3], 5, 4, 0, 2)));
        m.respond(JSON.stringify(answer('b', [2, 3], 5, 4, 1, 2)));
        m.respond(JSON.stringify(answer('a-restarted', [0, 1], 6, 4)));
      },
    });
    const r = await admin('POST', '/api/bigdata/reach', {
      region: { parts: [{ kind: 'circle', center: [120.15, 30.25], radiusM: 1500 }] },
      quota: { cmcc: { total: 5, dailyCap: 5 } },
    });
    sub.unsubscribe();
    expect(r.status).toBe(200);
    const withheld = { value: null, suppressed: true };
    expect(r.body).toMatchObject({
      instances: 2,
      k: 10,
      present: { cmcc: { value: 10, suppressed: false }, cucc: withheld, ctcc: withheld },
      passing: { cmcc: { value: 10 } },
      allowedToday: { cmcc: { value: 5 }, cucc: withheld },
    });
    expect(r.body.total.present).toEqual({ value: 10, suppressed: false });
    expect(seen).toHaveLength(1);
    const bad = await admin('POST', '/api/bigdata/reach', { region: { parts: [{ kind: 'circle', center: [120, 30] }] } });
    expect(bad.status).toBe(400);
  });

  it('streams live progress per carrier as alerting publishes it', async () => {
    const { body } = await admin('POST', '/api/bigdata/tasks', { form: validForm(letter, { subject: '进度' }) });
    const client = await loginAdmin(portal);
    const res = await app.request(`/api/bigdata/tasks/${body.id}/progress`, { headers: { cookie: client.cookie } });
    if (!res.headers.get('content-type')?.includes('event-stream')) throw new Error(await res.text());
    expect(res.headers.get('content-type')).toMatch(/event-stream/);
    const reader = res.body!.getReader();
    const p: TaskProgress = {
      v: 1,
      taskId: body.id,
      instance: 'i1',
      at: Date.now(),
      state: 'running',
      matched: 42,
      sent: { cmcc: 30, cucc: 0, ctcc: 7 },
      skipped: { window: 0, dwell: 0, rule: 13, no_quota: 0, daily_cap: 2, total_cap: 0, balance: 0 },
    };
    const timer = setInterval(() => nc.publish(progressSubject(body.id), JSON.stringify(p)), 300);
    let text = '';
    try {
      const until = Date.now() + 15_000;
      while (!/"matched":40/.test(text) && Date.now() < until) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    } finally {
      clearInterval(timer);
      await reader.cancel();
    }
    expect(text).toMatch(/event: progress/);
    const last = JSON.parse(
      text
        .split('\n')
        .filter((l) => l.startsWith('data: ') && l.includes('"matched":40'))
        .pop()!
        .slice(6),
    );
    expect(last).toMatchObject({
      state: 'running',
      matched: 40,
      carriers: { cmcc: { sent: 30 }, ctcc: { sent: 7 } },
      skipped: { rule: 10 },
    });
    // Fewer than k skipped for the daily cap: left out, not told as 2.
    expect(last.skipped.daily_cap).toBeUndefined();
  });
});
