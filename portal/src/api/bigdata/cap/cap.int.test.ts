import { describe, expect, it } from 'vitest';
import { consoleFixture } from '../../../test/console-fixture.ts';
import { loginOperator } from '../../../test/harness.ts';
import { onApp } from '../console-harness.ts';
import { BIGDATA_ROUTES } from '../index.ts';
import { TaskForm } from '../task-form.ts';
import { getTask } from '../task-store.ts';
import { CAP_ROUTES } from './cap-routes.ts';
import { readCap } from './cap-xml.ts';
import { capFixture, chinaDayIn } from './fixtures.ts';

/** The CAP routes on a test portal (PGlite) and a real NATS (the default tasks bucket, as the routes open it for updates). */
describe('CAP 1.2 import and export over HTTP (PGlite + real NATS)', () => {
  const c = consoleFixture('portal-cap-test', { routes: [...CAP_ROUTES, ...BIGDATA_ROUTES] });
  const extra = () => ({ quota: { cmcc: { total: 300, dailyCap: 300 } }, authorizationLetter: c.letter });
  /** The task as alerting reads it, from the tasks bucket. */
  const kvTask = async (id: string) => (await c.bus.get(id))!;
  /** Each run imports its own alerts: identifiers made unique, dates moved to today. */
  const RUN = Date.now().toString(36);
  const fixture = (name: Parameters<typeof capFixture>[0]) =>
    capFixture(name).replaceAll('33000041600000_', `run${RUN}_`).replaceAll('NMC-RAIN-', `run${RUN}-`);

  /** A body sent as it is (onApp sends JSON). */
  const raw = async (path: string, body: string | Uint8Array<ArrayBuffer>, type: string) => {
    const res = await c.app.request(path, {
      method: 'POST',
      headers: { cookie: c.adminClient.cookie, 'x-csrf-token': c.adminClient.csrf, 'content-type': type },
      body,
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('takes an Alert, then its Update, then the Cancel: submit, update and emergency stop of the same task', async () => {
    const sub = await c.admin('POST', '/api/bigdata/cap', { xml: fixture('typhoon-alert'), form: extra() });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    expect(sub.body).toMatchObject({ state: 'submitted', action: 'submitted' });
    const id = sub.body.id as string;
    const t1 = await kvTask(id);
    expect(t1.spec.content).toBe('台风“海葵”预计今夜在我市沿海登陆，最大风力 14 级。\n请关好门窗，非必要不外出，远离广告牌和危旧建筑。');
    expect(t1.spec.region.parts.map((p) => p.kind)).toEqual(['admin', 'polygon', 'circle']);
    expect(t1.spec.endDate).toBe(chinaDayIn(1));
    const row = await getTask(c.portal.deps.db, 'demo-enterprise', id);
    expect((row!.form.texts as { language: string }[]).map((t) => t.language)).toEqual(['en-US', 'ja-JP']);

    // The same alert again is refused, not sent twice.
    expect((await c.admin('POST', '/api/bigdata/cap', { xml: fixture('typhoon-alert'), form: extra() })).status).toBe(409);

    // The Update, as raw application/cap+xml with the cap: prefix.
    const upd = await raw('/api/bigdata/cap', fixture('typhoon-update'), 'application/cap+xml');
    expect(upd.status, JSON.stringify(upd.body)).toBe(200);
    expect(upd.body).toMatchObject({ id, action: 'updated', version: 2 });
    const t2 = await kvTask(id);
    expect(t2.version).toBe(2);
    expect(t2.spec.content).toContain('影响范围扩大到上城区');
    expect(t2.spec.region.parts).toEqual([
      expect.objectContaining({ kind: 'admin', code: '330106' }),
      expect.objectContaining({ kind: 'admin', code: '330102' }),
    ]);
    expect(t2.spec.endDate).toBe(chinaDayIn(2));
    expect(t2.spec.quota).toEqual(t1.spec.quota);

    // The Cancel names the Update: the task the Update changed stops.
    const can = await c.admin('POST', '/api/bigdata/cap', { xml: fixture('typhoon-cancel') });
    expect(can.status, JSON.stringify(can.body)).toBe(200);
    expect(can.body).toMatchObject({ id, state: 'stopped', action: 'stopped' });
    expect((await kvTask(id)).state).toBe('stopped');
    expect((await c.admin('GET', `/api/bigdata/tasks/${id}`)).body.state).toBe('stopped');
    // A second Cancel finds the task stopped already.
    expect((await c.admin('POST', '/api/bigdata/cap', { xml: fixture('typhoon-cancel') })).status).toBe(409);
  });

  it('exports a task as CAP 1.2, and importing the export gives the same task (multipart upload)', async () => {
    const sub = await c.admin('POST', '/api/bigdata/cap', { xml: fixture('rainstorm-polygons'), form: extra() });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    const exp = await c.admin('GET', `/api/bigdata/tasks/${sub.body.id}/cap`);
    expect(exp.status).toBe(200);
    expect(exp.headers.get('content-type')).toContain('application/cap+xml');
    const xml = exp.body as string;
    expect(readCap(xml).ok).toBe(true);
    const fd = new FormData();
    fd.set('file', new File([xml], 'alert.xml', { type: 'application/cap+xml' }));
    const back = await c.admin('POST', '/api/bigdata/cap/preview', fd);
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    const stored = (await getTask(c.portal.deps.db, 'demo-enterprise', sub.body.id))!.form;
    expect(TaskForm.parse(back.body.form)).toEqual(stored);

    // A console task (no CAP origin) exports too, and the export saves as a draft with the same form.
    const draftOf = await c.admin('POST', '/api/bigdata/cap/draft', { xml });
    expect(draftOf.status).toBe(200);
    const draft = await c.admin('GET', `/api/bigdata/drafts/${draftOf.body.id}`);
    expect(TaskForm.parse(draft.body.form)).toEqual(stored);
  });

  it('answers one error per bad element with its path, and never a 500, for broken and hostile documents', async () => {
    const bad = await c.admin('POST', '/api/bigdata/cap', {
      xml: fixture('typhoon-alert')
        .replace('<severity>Extreme</severity>', '<severity>Red</severity>')
        .replace('<status>Actual</status>', ''),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([
      { path: 'alert.status', message: '缺少必填元素 <status>' },
      { path: 'alert.info[0].severity', message: expect.stringContaining('Extreme、Severe') },
    ]);
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
      Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('') +
      ']><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&lol9;</alert>';
    const cases: [string, unknown, string | undefined, number, string][] = [
      ['billion laughs', laughs, 'application/xml', 400, 'DTD'],
      ['wrong namespace', { xml: fixture('typhoon-alert').replace('cap:1.2', 'cap:1.1') }, undefined, 400, '命名空间'],
      ['malformed', { xml: '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>' }, undefined, 400, 'XML'],
      ['10 MB', { xml: `<alert>${'x'.repeat(10 * 1024 * 1024)}</alert>` }, undefined, 413, '过大'],
      ['no xml field', { alert: 1 }, undefined, 400, 'xml'],
      ['a System status', { xml: fixture('typhoon-alert').replace('<status>Actual', '<status>System') }, undefined, 400, 'Actual'],
      ['an Ack', { xml: fixture('typhoon-cancel').replace('<msgType>Cancel', '<msgType>Ack') }, undefined, 400, 'Ack'],
      ['plain text', 'hello', 'text/plain', 415, 'application/cap+xml'],
      ['not UTF-8', new Uint8Array([0x3c, 0xff, 0xfe]), 'application/cap+xml', 400, 'UTF-8'],
      ['an Update of nothing', { xml: fixture('typhoon-update').replaceAll(`run${RUN}_`, 'nowhere_') }, undefined, 404, 'references'],
    ];
    for (const [what, body, type, status, message] of cases) {
      const r = type
        ? await raw('/api/bigdata/cap', body as string | Uint8Array<ArrayBuffer>, type)
        : await c.admin('POST', '/api/bigdata/cap', body);
      expect(r.status, `${what}: ${JSON.stringify(r.body).slice(0, 300)}`).toBe(status);
      expect(r.body.error.message, what).toContain(message);
    }
    const big = new FormData();
    big.set('file', new File([new Uint8Array(10 * 1024 * 1024)], 'big.xml'));
    expect((await c.admin('POST', '/api/bigdata/cap', big)).status).toBe(413);
    // A form CAP cannot fill: the task form's own messages (no quota).
    const noQuota = await c.admin('POST', '/api/bigdata/cap', {
      xml: fixture('rainstorm-polygons').replace('-0931', '-0932'),
      form: { authorizationLetter: c.letter },
    });
    expect(noQuota.status).toBe(400);
    expect(noQuota.body.error.details).toContainEqual(expect.objectContaining({ path: 'quota' }));
  });

  it('keeps enterprises apart and holds sub-accounts to their permissions', async () => {
    const sub = await c.admin('POST', '/api/bigdata/cap', { xml: fixture('rainstorm-polygons').replace('-0931', '-0933'), form: extra() });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    const id = sub.body.id as string;
    const update = fixture('rainstorm-polygons')
      .replace('-0931</identifier>', '-0934</identifier>')
      .replace('<msgType>Alert</msgType>', `<msgType>Update</msgType>`)
      .replace(
        '<scope>Public</scope>',
        `<scope>Public</scope><references>w-nmc@cma.gov.cn,run${RUN}-2026-1207-0933,${chinaDayIn(0)}T09:31:00+08:00</references>`,
      );
    const cancel = fixture('typhoon-cancel').replace(
      /<references>[^<]+/,
      `<references>w-nmc@cma.gov.cn,run${RUN}-2026-1207-0933,${chinaDayIn(0)}T09:31:00+08:00`,
    );

    const other = (await c.account('other-enterprise')).call;
    expect((await other('GET', `/api/bigdata/tasks/${id}/cap`)).status).toBe(404);
    expect((await other('POST', '/api/bigdata/cap', { xml: update })).status).toBe(404);
    expect((await other('POST', '/api/bigdata/cap', { xml: cancel })).status).toBe(404);

    const reader = (await c.account('sub', ['bigdata.tasks'])).call;
    expect((await reader('GET', `/api/bigdata/tasks/${id}/cap`)).status).toBe(200);
    for (const path of ['/api/bigdata/cap', '/api/bigdata/cap/draft', '/api/bigdata/cap/preview'])
      expect((await reader('POST', path, { xml: cancel })).status, path).toBe(403);
    const sender = (await c.account('sub', ['bigdata.send'])).call;
    expect((await sender('GET', `/api/bigdata/tasks/${id}/cap`)).status).toBe(403);
    const op = onApp(c.app, await loginOperator(c.portal));
    expect((await op('POST', '/api/bigdata/cap', { xml: cancel })).status).toBe(403);
    expect((await c.app.request('/api/bigdata/cap', { method: 'POST' })).status).toBe(401);

    // A's task is untouched by all of that; A's own Cancel still stops it.
    expect((await kvTask(id)).state).not.toBe('stopped');
    expect((await kvTask(id)).version).toBe(1);
    expect((await c.admin('POST', '/api/bigdata/cap', { xml: cancel })).body).toMatchObject({ id, state: 'stopped' });
  });
});
