import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { login, loginAdmin, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';

/**
 * Issue 17: a sub-account's subordinates are the accounts below its own department and the
 * sub-accounts it created, nothing above or beside it. A sub-account in the root department
 * listed the admin's sends. Seen through the sent list's account filter (/api/industry/senders).
 */
describe('subordinates are below, never above or beside', () => {
  let portal: Portal;
  let admin: Client;
  let rootSub: Client;
  const senders = async (c: Client) =>
    ((await c.req('GET', '/api/industry/senders')).body.items as { name: string }[]).map((a) => a.name).sort();
  beforeAll(async () => {
    portal = await testPortal();
    admin = await loginAdmin(portal);
    const add = async (by: Client, name: string, departmentId: string, permissions: string[]) => {
      const r = await by.req('POST', '/api/accounts', { name, password: 'Start-pass-1234', departmentId, permissions });
      if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    };
    await add(admin, 'root-peer', 'demo-dept-root', ['home', 'sms.sent']);
    await add(admin, 'root-sub', 'demo-dept-root', ['home', 'sms.sent', 'accounts']);
    await add(admin, 'ops-member', 'demo-dept-ops', ['home']);
    await add(admin, 'sales-member', 'demo-dept-sales', ['home']);
    rootSub = await login(portal, 'root-sub', 'Start-pass-1234');
    await add(rootSub, 'my-helper', 'demo-dept-root', ['home']);
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  it('a sub-account in the root department sees itself, the departments below and its own sub-accounts, not the admin nor its peers', async () => {
    expect(await senders(rootSub)).toEqual(['demo-sub', 'my-helper', 'ops-member', 'root-sub', 'sales-member']);
  });

  it('a sub-account in a leaf department sees only itself', async () => {
    await admin.req('PUT', `/api/accounts/demo-sub/permissions`, {
      permissions: ['home', 'sms.send', 'sms.sent', 'contacts', 'signatures'],
    });
    const sub = await login(portal, 'demo-sub', 'DemoSub-2024');
    expect(await senders(sub)).toEqual(['demo-sub']);
  });

  it('the enterprise admin still sees everyone', async () => {
    expect(await senders(admin)).toEqual(
      expect.arrayContaining(['demo', 'root-peer', 'root-sub', 'my-helper', 'ops-member', 'sales-member']),
    );
  });
});
