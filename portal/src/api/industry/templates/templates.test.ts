import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { START_TIMEOUT } from '../../../test/harness.ts';
import { mailboxFixture, type MailboxFixture } from '../test-app.ts';

/** 短信模板: kept per enterprise, changed only with the 短信模板 permission. */
describe('SMS templates', () => {
  let f: MailboxFixture;
  beforeAll(async () => {
    f = await mailboxFixture();
  }, START_TIMEOUT);
  afterAll(async () => f?.t.stop());

  it('manages templates with the 短信模板 permission only', async () => {
    const c = await f.admin('POST', '/api/industry/templates', { title: '节日问候', content: '祝您节日快乐' });
    expect(c.status).toBe(200);
    expect((await f.admin('PUT', `/api/industry/templates/${c.body.id}`, { title: '节日问候', content: '祝您中秋快乐' })).status).toBe(200);
    expect((await f.admin('GET', '/api/industry/templates')).body.items[0].content).toBe('祝您中秋快乐');
    const empty = await f.admin('POST', '/api/industry/templates', { title: '', content: 'x' });
    expect(empty.body.error.message).toContain('请输入模板名称');
    expect((await f.sub('POST', '/api/industry/templates', { title: 'a', content: 'b' })).status).toBe(403);
    expect((await f.other('DELETE', `/api/industry/templates/${c.body.id}`)).status).toBe(404);
    expect((await f.admin('DELETE', `/api/industry/templates/${c.body.id}`)).status).toBe(200);
  });
});
