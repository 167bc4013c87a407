import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { START_TIMEOUT } from '../../../test/harness.ts';
import ExcelJS from 'exceljs';
import { mailboxFixture, type MailboxFixture } from '../test-app.ts';

/** 发送统计: by scope (mine, direct, all subordinates), exported to Excel. */
describe('statistics', () => {
  let f: MailboxFixture;
  beforeAll(async () => {
    f = await mailboxFixture();
  }, START_TIMEOUT);
  afterAll(async () => f?.t.stop());

  it('gives statistics for mine, direct and all subordinates, and exports them to Excel', async () => {
    const mine = await f.admin('GET', '/api/industry/stats?scope=mine');
    const all = await f.admin('GET', '/api/industry/stats?scope=all');
    expect(all.body.totals.sends).toBeGreaterThan(mine.body.totals.sends);
    expect(all.body.items.some((r: { accountName: string }) => r.accountName === 'demo-sub')).toBe(true);
    expect(mine.body.items.every((r: { accountName: string }) => r.accountName === 'demo')).toBe(true);
    const direct = await f.admin('GET', '/api/industry/stats?scope=direct');
    expect(direct.body.items.some((r: { accountName: string }) => r.accountName === 'demo-sub')).toBe(true);
    expect((await f.admin('GET', '/api/industry/stats?keyword=季度')).body.total).toBe(0);
    expect((await f.admin('GET', '/api/industry/stats?scope=all&keyword=季度')).body.total).toBe(1);
    const exp = await f.admin('GET', '/api/industry/stats/export?scope=all');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(exp.bytes.buffer as ArrayBuffer);
    const ws = wb.worksheets[0]!;
    expect(ws.getRow(1).values).toEqual([undefined, '账户', '主题', '提交时间', '发送时间', '号码数', '计费条数', '成功', '失败']);
    expect(ws.getRow(ws.rowCount).getCell(1).value).toBe('合计');
    expect((await f.sub('GET', '/api/industry/stats')).status).toBe(403);
  });
});
