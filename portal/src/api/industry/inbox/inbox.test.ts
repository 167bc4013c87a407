import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { START_TIMEOUT } from '../../../test/harness.ts';
import { runtimeOf } from '../dispatch/runtime.ts';
import { recordReply } from './replies.ts';
import { mailboxFixture, type MailboxFixture } from '../test-app.ts';

/** 收件箱: replies filed under their send, once each. */
describe('inbox', () => {
  let f: MailboxFixture;
  beforeAll(async () => {
    f = await mailboxFixture();
  }, START_TIMEOUT);
  afterAll(async () => f?.t.stop());

  it('files replies in the inbox under their send, once each, searchable by keyword and subject', async () => {
    const s = await f.admin('POST', '/api/industry/sends', {
      recipients: '13800138000',
      subject: '满意度调查',
      content: '请回复1-5',
      needReply: true,
      forwardReplies: true,
      forwardTo: '13700137000',
    });
    const reply = {
      replyId: 'r1',
      enterpriseId: 'demo-enterprise',
      from: '13800138000',
      to: `1069088811${s.body.extension}`,
      text: '5 非常满意',
      carrier: 'cmcc' as const,
      at: Date.now(),
    };
    await recordReply(runtimeOf(f.t.portal.deps), reply);
    await recordReply(runtimeOf(f.t.portal.deps), reply);
    await recordReply(runtimeOf(f.t.portal.deps), {
      ...reply,
      replyId: 'r2',
      sendId: f.firstId,
      enterpriseId: 'demo-enterprise',
      text: '收到',
    });
    const inbox = await f.admin('GET', '/api/industry/inbox');
    expect(inbox.body.total).toBe(2);
    expect((await f.admin('GET', '/api/industry/inbox?keyword=满意')).body.items).toEqual([
      expect.objectContaining({ sendId: s.body.id, subject: '满意度调查', from: '13800138000' }),
    ]);
    const subjects = await f.admin('GET', '/api/industry/inbox/subjects');
    expect(subjects.body.items.map((x: { subject: string; replies: number }) => `${x.subject}:${x.replies}`).sort()).toEqual([
      '季度会议:1',
      '满意度调查:1',
    ]);
    expect((await f.admin('GET', `/api/industry/sends/${s.body.id}/replies`)).body.items[0].text).toBe('5 非常满意');
    expect((await f.other('GET', '/api/industry/inbox')).body.total).toBe(0);
    expect((await f.sub('GET', '/api/industry/inbox')).status).toBe(403); // the demo sub has no 收件箱 permission
  });
});
