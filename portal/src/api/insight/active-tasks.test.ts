import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal } from '../../test/harness.ts';
import { consoleApp, onApp } from '../bigdata/console-harness.ts';
import { insertTask } from '../bigdata/task-store.ts';
import { INSIGHT_ROUTES } from './index.ts';

describe('GET /api/insight/active-tasks (PGlite)', () => {
  let portal: Portal;
  beforeAll(async () => {
    portal = await testPortal({ insightUrl: 'http://127.0.0.1:9' });
  }, START_TIMEOUT);
  afterAll(async () => {
    await portal?.stop();
  });

  it('says which running tasks are exercises (演练), read from the task form as the task list does', async () => {
    const client = await loginAdmin(portal);
    const enterpriseId = client.me.enterpriseId!;
    const base = { enterpriseId, accountId: client.me.id, accountName: 'admin', state: 'running' as const, alertType: 'earthquake' };
    await insertTask(portal.deps.db, { ...base, id: 'at-drill', subject: '地震演练', form: { exercise: true } });
    await insertTask(portal.deps.db, { ...base, id: 'at-real', subject: '地震预警', form: {} });
    const r = await onApp(consoleApp(portal, INSIGHT_ROUTES), client)('GET', '/api/insight/active-tasks');
    expect(r.status).toBe(200);
    const byId = new Map((r.body.items as { id: string; exercise: boolean }[]).map((t) => [t.id, t.exercise]));
    expect(byId.get('at-drill')).toBe(true);
    expect(byId.get('at-real')).toBe(false);
  });

  it('lists the running alerts first: twenty newer tasks that have not started do not hide them (#23)', async () => {
    const client = await loginAdmin(portal);
    const enterpriseId = client.me.enterpriseId!;
    const base = { enterpriseId, accountId: client.me.id, accountName: 'admin', alertType: 'typhoon' };
    await insertTask(portal.deps.db, { ...base, id: 'at-running-old', state: 'running' as const, subject: '早先的台风预警', form: {} });
    // created_at is now(): the scheduled ones are newer than the running one.
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 20; i++)
      await insertTask(portal.deps.db, { ...base, id: `at-later-${i}`, state: 'scheduled' as const, subject: `明日预警 ${i}`, form: {} });
    const r = await onApp(consoleApp(portal, INSIGHT_ROUTES), client)('GET', '/api/insight/active-tasks');
    expect(r.status).toBe(200);
    const items = r.body.items as { id: string; state: string }[];
    expect(items.map((t) => t.id)).toContain('at-running-old');
    expect(items.findIndex((t) => t.state !== 'running')).toBeGreaterThan(items.findLastIndex((t) => t.state === 'running'));
  });
});
