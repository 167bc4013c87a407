import { beforeAll, describe, expect, it } from 'vitest';
import { consoleFixture, taskForm, type ConsoleCaller } from '../../../test/console-fixture.ts';
import { capFixture } from '../cap/fixtures.ts';

/**
 * Maker-checker approval of big-data tasks (#21), over HTTP against a real nats-server: the task
 * waits as 待审批 (paused in the bucket alerting reads, its cost reserved) until another account of
 * the enterprise with bigdata.approve approves it (then alerting gets it) or rejects it (the
 * reservation goes back); the emergency fast path sends at once and is marked.
 */
const BUCKET = 'alert_tasks_approval_int';

describe('big-data task approval (PGlite + real NATS)', () => {
  const c = consoleFixture('portal-approval-test', { bus: { bucket: BUCKET, reachSubject: 'alert.reach.approval-int' } });
  let maker: ConsoleCaller;
  let makerName: string;
  let viewer: ConsoleCaller;
  let approver: ConsoleCaller;
  let approverName: string;
  let outsider: ConsoleCaller;

  const form = (extra: Record<string, unknown> = {}) => taskForm({ subject: '审批测试', authorizationLetter: c.letter, ...extra });
  const balance = async () => (await c.admin('GET', '/api/bigdata/options')).body.balance as number;

  beforeAll(async () => {
    ({ name: makerName, call: maker } = await c.account('sub', ['bigdata.send', 'bigdata.tasks']));
    viewer = (await c.account('sub', ['bigdata.tasks'])).call;
    ({ name: approverName, call: approver } = await c.account('sub', ['bigdata.tasks', 'bigdata.approve']));
    outsider = (await c.account('other-enterprise')).call;
  });

  it('asks no approval while the enterprise setting is off (the default): the task goes to alerting at once', async () => {
    expect((await c.admin('GET', '/api/bigdata/approval/settings')).body).toEqual({ required: false, fastPathTypes: [] });
    const r = await maker('POST', '/api/bigdata/tasks', { form: form() });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ state: 'submitted', approval: 'none' });
    expect((await c.bus.get(r.body.id))?.state).toBe('submitted');
  });

  it('lets only the enterprise admin change the setting, and checks it', async () => {
    expect((await approver('PUT', '/api/bigdata/approval/settings', { required: true })).status).toBe(403);
    const bad = await c.admin('PUT', '/api/bigdata/approval/settings', { required: true, fastPathTypes: ['meteor'] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/未知的预警类型/);
    const ok = await c.admin('PUT', '/api/bigdata/approval/settings', { required: true, fastPathTypes: ['earthquake'] });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toEqual({ required: true, fastPathTypes: ['earthquake'] });
  });

  it('tells any sender which types may go first (the send page offers 先发后审 from the options), not only task managers', async () => {
    const sender = (await c.account('sub', ['bigdata.send'])).call;
    expect((await sender('GET', '/api/bigdata/approval/settings')).status).toBe(403);
    expect((await sender('GET', '/api/bigdata/options')).body.fastPathTypes).toEqual(['earthquake']);
    await c.admin('PUT', '/api/bigdata/approval/settings', { required: false, fastPathTypes: ['earthquake'] });
    expect((await sender('GET', '/api/bigdata/options')).body.fastPathTypes).toEqual([]);
    await c.admin('PUT', '/api/bigdata/approval/settings', { required: true, fastPathTypes: ['earthquake'] });
  });

  it('holds a submitted task as 待审批 until another approver approves it; who and when are recorded', async () => {
    const before = await balance();
    const r = await maker('POST', '/api/bigdata/tasks', { form: form({ subject: '待审批任务' }) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ state: 'pending_approval', approval: 'pending' });
    const id = r.body.id as string;
    // Reserved at submit as today; alerting holds it without sending.
    expect(await balance()).toBe(before - 300);
    expect((await c.bus.get(id))?.state).toBe('paused');

    // The list filtered by state shows it as 待审批, approvable by the admin, not by its maker.
    const list = await c.admin('GET', '/api/bigdata/tasks?state=pending_approval');
    expect(list.status).toBe(200);
    expect(list.body.items.map((t: any) => t.id)).toEqual([id]);
    expect(list.body.items[0]).toMatchObject({ stateLabel: '待审批', approval: 'pending', canApprove: true, fastPath: false });
    expect((await maker('GET', '/api/bigdata/tasks?state=pending_approval')).body.items[0].canApprove).toBe(false);

    // Nobody resumes it past the approver.
    expect((await maker('POST', `/api/bigdata/tasks/${id}/resume`)).status).toBe(409);
    expect((await c.bus.get(id))?.state).toBe('paused');

    // Its maker cannot approve it, even given the permission; a weaker account gets 403; another enterprise 404.
    const self = await maker('POST', `/api/bigdata/tasks/${id}/approve`);
    expect(self.status).toBe(403);
    const selfAdmin = await c.admin('POST', '/api/bigdata/tasks', { form: form({ subject: '管理员自己的任务' }) });
    const own = await c.admin('POST', `/api/bigdata/tasks/${selfAdmin.body.id}/approve`);
    expect(own.status).toBe(403);
    expect(own.body.error.message).toMatch(/不能审批自己提交的任务/);
    expect((await viewer('POST', `/api/bigdata/tasks/${id}/approve`)).status).toBe(403);
    expect((await viewer('POST', `/api/bigdata/tasks/${id}/reject`, { reason: 'x' })).status).toBe(403);
    expect((await outsider('POST', `/api/bigdata/tasks/${id}/approve`)).status).toBe(404);
    expect((await outsider('POST', `/api/bigdata/tasks/${id}/reject`, { reason: 'x' })).status).toBe(404);
    expect((await c.bus.get(id))?.state).toBe('paused');

    const ok = await approver('POST', `/api/bigdata/tasks/${id}/approve`);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ id, state: 'submitted', stateLabel: '已提交' });
    expect((await c.bus.get(id))?.state).toBe('submitted');
    expect(await balance()).toBe(before - 300 * 2);

    const detail = await c.admin('GET', `/api/bigdata/tasks/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ approval: 'approved', approvalLabel: '已审批', approvedBy: approverName, accountName: makerName });
    expect(Date.now() - Date.parse(detail.body.approvedAt)).toBeLessThan(60_000);
    expect(detail.body.canApprove).toBe(false);

    // Decided once: a second approval is refused.
    expect((await c.admin('POST', `/api/bigdata/tasks/${id}/approve`)).status).toBe(409);
  });

  it('rejects with a reason: the task never sends and its reservation goes back', async () => {
    const before = await balance();
    const r = await maker('POST', '/api/bigdata/tasks', { form: form({ subject: '将被驳回' }) });
    const id = r.body.id as string;
    expect(await balance()).toBe(before - 300);

    const noReason = await approver('POST', `/api/bigdata/tasks/${id}/reject`, { reason: '  ' });
    expect(noReason.status).toBe(400);
    expect(JSON.stringify(noReason.body)).toMatch(/请填写驳回原因/);

    const rej = await approver('POST', `/api/bigdata/tasks/${id}/reject`, { reason: '区域过大' });
    expect(rej.status, JSON.stringify(rej.body)).toBe(200);
    expect(rej.body).toMatchObject({ state: 'rejected', stateLabel: '已驳回' });
    expect(await balance()).toBe(before);
    expect((await c.bus.get(id))?.state).toBe('stopped');
    const detail = await c.admin('GET', `/api/bigdata/tasks/${id}`);
    expect(detail.body).toMatchObject({ state: 'rejected', approval: 'rejected', approvedBy: approverName, approvalReason: '区域过大' });
    expect((await approver('POST', `/api/bigdata/tasks/${id}/approve`)).status).toBe(409);
  });

  it('sends an allowed emergency type at once on the fast path, marked, and records the approval afterwards', async () => {
    const refused = await maker('POST', '/api/bigdata/tasks', { form: form(), fastPath: true });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toMatch(/不允许先发后审/);

    const r = await maker('POST', '/api/bigdata/tasks', { form: form({ alertType: 'earthquake', subject: '地震速报' }), fastPath: true });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ state: 'submitted', approval: 'fast_path' });
    const id = r.body.id as string;
    expect((await c.bus.get(id))?.state).toBe('submitted');
    const listed = (await c.admin('GET', '/api/bigdata/tasks?name=地震速报')).body.items[0];
    expect(listed).toMatchObject({ id, fastPath: true, approval: 'fast_path', approvalLabel: '先发后审（待补审）', canApprove: true });

    expect((await maker('POST', `/api/bigdata/tasks/${id}/approve`)).status).toBe(403);
    const ok = await approver('POST', `/api/bigdata/tasks/${id}/approve`);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const detail = await c.admin('GET', `/api/bigdata/tasks/${id}`);
    expect(detail.body).toMatchObject({ fastPath: true, approval: 'approved', approvedBy: approverName });
  });

  it('holds a task sent from a draft the same way', async () => {
    const d = await maker('POST', '/api/bigdata/drafts', { form: form({ subject: '草稿待审批' }) });
    expect(d.status).toBe(200);
    const r = await maker('POST', '/api/bigdata/tasks', { form: form({ subject: '草稿待审批' }), draftId: d.body.id });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ id: d.body.id, state: 'pending_approval', approval: 'pending' });
    expect((await c.bus.get(d.body.id))?.state).toBe('paused');
    expect((await c.admin('GET', `/api/bigdata/tasks/${d.body.id}`)).body).toMatchObject({ stateLabel: '待审批', canApprove: true });
  });

  it('an emergency sent ahead and rejected afterwards is stopped', async () => {
    const r = await maker('POST', '/api/bigdata/tasks', { form: form({ alertType: 'earthquake', subject: '误发地震' }), fastPath: true });
    const id = r.body.id as string;
    const rej = await c.admin('POST', `/api/bigdata/tasks/${id}/reject`, { reason: '误报' });
    expect(rej.status, JSON.stringify(rej.body)).toBe(200);
    expect(rej.body.state).toBe('stopped');
    expect((await c.bus.get(id))?.state).toBe('stopped');
    expect((await c.admin('GET', `/api/bigdata/tasks/${id}`)).body).toMatchObject({
      fastPath: true,
      approval: 'rejected',
      approvalReason: '误报',
    });
  });

  it('holds an alert imported from CAP for approval too, like any submitted task', async () => {
    await c.admin('PUT', '/api/bigdata/approval/settings', { required: true, fastPathTypes: ['earthquake'] });
    const run = Date.now().toString(36);
    const xml = capFixture('rainstorm-polygons').replaceAll('NMC-RAIN-', `approval${run}-`);
    const r = await maker('POST', '/api/bigdata/cap', {
      xml,
      form: { quota: { cmcc: { total: 300, dailyCap: 300 } }, authorizationLetter: c.letter },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ state: 'pending_approval', action: 'submitted' });
    expect((await c.bus.get(r.body.id))?.state).toBe('paused');
  });
});
