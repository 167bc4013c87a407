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
});
