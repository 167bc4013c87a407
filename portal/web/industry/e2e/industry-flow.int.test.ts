import ExcelJS from 'exceljs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { loginAdmin, type Client } from '../../../src/test/harness.ts';
import { ARTIFACTS, startIndustryStack, type IndustryStack } from './industry-stack.ts';

/**
 * The 行业短信 pages in a real browser (chromium) against the real pipeline: portal → NATS
 * SMS_JOBS → messaging → SMPP → simulated carrier SMSC → receipts → ClickHouse send log → the sent
 * list; replies (MO) → messaging → NATS → the portal's inbox, and forwarded to a phone. Each send
 * mode is walked to delivered: 普通发送 (typed numbers and a picked group), 批量发送 from an Excel
 * file with bad rows, 定制发送 from a TXT file, a scheduled send (made early, checked to have fired
 * at the end, so the wait overlaps the other steps), and a send that needs a reply. Screenshots at
 * 1920×1080 go to $ARTIFACTS_DIR for a person to look at.
 */

const FORWARD_PHONE = '13912340000';

/** Waits until `cond` holds, re-running `refresh` (a click on 搜索) between tries. */
async function until(
  what: string,
  cond: () => Promise<boolean>,
  refresh: () => Promise<unknown> = async () => undefined,
  ms = 60_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
    await refresh();
  }
}

describe('行业短信 in a real browser, through messaging and the simulated SMSC', () => {
  let stack: IndustryStack;
  let context: BrowserContext;
  let page: Page;
  let files: string;
  const problems: string[] = [];
  let client: Client;

  beforeAll(async () => {
    stack = await startIndustryStack(inject('natsUrl'), inject('clickhouseUrl'));
    const { portal } = stack;
    client = await loginAdmin(portal);
    const [name, value] = client.cookie.split('=') as [string, string];
    context = await stack.browser.newContext({
      viewport: { width: 1920, height: 1080 },
      locale: 'zh-CN',
      timezoneId: 'Asia/Shanghai',
      acceptDownloads: true,
    });
    await context.addCookies([{ name, value, url: portal.url }]);
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(String(e.stack).slice(0, 600)));
    // The portal uses its own dialogs: a native one would be a defect (#23).
    page.on('dialog', (d) => (problems.push(`native ${d.type()}() dialog: ${d.message()}`), void d.dismiss()));
    files = mkdtempSync(join(tmpdir(), 'portal-industry-e2e-files-'));
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await stack?.stop();
    if (files) rmSync(files, { recursive: true, force: true });
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await shot(`failed-${ctx.task.name.slice(0, 20)}`).catch(() => undefined);
  });

  /** Sending despite rejected numbers asks in the app's dialog: accept it when it comes. */
  const acceptIfAsked = async () => {
    const ok = page.locator('[data-testid="app-dialog"] [data-action="ok"]');
    if (
      await ok.waitFor({ timeout: 5_000 }).then(
        () => true,
        () => false,
      )
    )
      await ok.click();
  };
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `industry-${name}.png`), fullPage: true });
  /**
   * Records whether an element matching `selector` ever appears (a MutationObserver in the page: a
   * progress bar of a small file may show for less than one poll, too briefly to wait for).
   */
  const watchFor = (selector: string) =>
    page.evaluate((sel) => {
      const w = window as unknown as { __seen?: Record<string, boolean> };
      w.__seen = { ...w.__seen, [sel]: !!document.querySelector(sel) };
      new MutationObserver((_, obs) => {
        if (document.querySelector(sel)) {
          w.__seen![sel] = true;
          obs.disconnect();
        }
      }).observe(document.body, { childList: true, subtree: true });
    }, selector);
  const sawIt = (selector: string) =>
    page.evaluate((sel) => !!(window as unknown as { __seen?: Record<string, boolean> }).__seen?.[sel], selector);
  const open = async (path: string) => {
    await page.goto(`${stack.portal.url}${path}`);
    await page.waitForSelector('.industry-main');
  };
  const sentRow = (subject: string) => page.locator(`[data-testid=sent-list] tr[data-subject="${subject}"]`);
  /** On the sent list, waits until every recipient of the send is delivered (messaging's send log). */
  async function expectDelivered(subject: string, recipients: number): Promise<void> {
    await page.waitForURL('**/industry/sent');
    await until(
      `${subject}: ${recipients} delivered`,
      async () =>
        (await sentRow(subject)
          .getAttribute('data-delivered')
          .catch(() => null)) === String(recipients),
      () => page.click('.industry-main .toolbar button.primary'),
    ).catch(async (e) => {
      await shot(`failed-${subject}`);
      throw new Error(`${(e as Error).message}\n${problems.join('\n')}\n${stack.logs()}`);
    });
    expect(await sentRow(subject).getAttribute('data-recipients')).toBe(String(recipients));
    // Its status follows its numbers: every one delivered is 全部成功, not 已提交.
    expect(await sentRow(subject).getAttribute('data-status')).toBe('delivered');
    expect(await sentRow(subject).textContent()).toContain('全部成功');
    // The details list each number as delivered (成功).
    await sentRow(subject).locator('button:text-is("查看")').click();
    const rows = page.locator('.modal tr[data-msisdn]');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(Math.min(recipients, 50)); // the details page 50 numbers at a time
    expect(new Set(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-state'))))).toEqual(new Set(['delivered']));
    await page.click('.modal header button');
  }

  it('address book: imports a file with a progress bar, exports it, and the export imports into the enterprise book', async () => {
    await open('/industry/contacts');
    await page.click('.tree button:has-text("新增分组")');
    const dialog = page.locator('[data-testid="app-dialog"]');
    await dialog.locator('input[name="value"]').fill('端到端组');
    await shot('new-group-dialog');
    await dialog.locator('[data-action="ok"]').click();
    await page.waitForSelector('[data-testid=group-tree] .node:has-text("端到端组")');
    const lines = [
      '姓名,手机号码,性别,生日,邮箱,单位',
      '赵一,13800000001,男,,zhao@example.com,翼讯通',
      '钱二,13800000002,女',
      '孙三,1380000',
      ',13800000004',
      '李四,13000000005',
      '周五,18900000006',
    ];
    for (let i = 0; i < 300; i++) lines.push(`批量${i},${15100000000 + i}`);
    writeFileSync(join(files, 'contacts.txt'), lines.join('\r\n'));
    await page.click('button:has-text("通讯录导入")');
    await page.setInputFiles('.modal input[type=file]', join(files, 'contacts.txt'));
    await page.locator('.modal .picker label:has-text("端到端组") input').check();
    await watchFor('[data-testid=import-progress]');
    await page.click('.modal button:has-text("导入")');
    await page.waitForSelector('[data-testid=import-done]', { timeout: 60_000 });
    expect(await sawIt('[data-testid=import-progress]')).toBe(true);
    expect(await page.textContent('[data-testid=import-done]')).toBe('导入 304 个联系人，2 行未导入');
    expect(await page.locator('.modal ul.rejected li').allTextContents()).toEqual([
      '第 4 行：“1380000”不是有效的手机号码',
      '第 5 行：缺少姓名',
    ]);
    await shot('import-done');
    await page.click('.modal header button');

    await page.click('[data-testid=group-tree] .node:has-text("端到端组")');
    const download = page.waitForEvent('download');
    await page.click('button:has-text("导出")');
    const file = join(files, 'export.xlsx');
    await (await download).saveAs(file);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(readFileSync(file) as unknown as ArrayBuffer);
    const sheet = wb.worksheets[0]!;
    expect(sheet.rowCount).toBe(1 + 304);
    const byPhone = new Map<string, ExcelJS.CellValue[]>();
    sheet.eachRow((r, n) => n > 1 && byPhone.set(String(r.getCell(2).value), (r.values as ExcelJS.CellValue[]).slice(1)));
    const zhao = byPhone.get('13800000001')!;
    expect([zhao[0], zhao[1], zhao[2], zhao[4], zhao[5], zhao[9]]).toEqual([
      '赵一',
      '13800000001',
      '男',
      'zhao@example.com',
      '翼讯通',
      '端到端组',
    ]);

    // Round trip: the exported file imports into the enterprise book as the same people.
    await open('/industry/enterprise-contacts');
    await page.click('button:has-text("通讯录导入")');
    await page.setInputFiles('.modal input[type=file]', file);
    await page.locator('.modal .picker label:has-text("运营部") input').check();
    await page.click('.modal button:has-text("导入")');
    await page.waitForSelector('[data-testid=import-done]', { timeout: 60_000 });
    expect(await page.textContent('[data-testid=import-done]')).toBe('导入 304 个联系人，0 行未导入');
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const api = await (
      await stack.portal.request('/api/industry/books/enterprise/contacts?keyword=13800000001', { headers: { cookie } })
    ).json();
    expect(api.items[0]).toMatchObject({
      name: '赵一',
      phone: '13800000001',
      gender: 'male',
      email: 'zhao@example.com',
      company: '翼讯通',
      groupNames: ['运营部'],
    });

    // Renaming a group, sorting contacts and a contact's details: the app's own dialogs too (#23; a
    // native prompt() or alert() is recorded in `problems`, which the last test checks).
    await open('/industry/contacts');
    const node = page.locator('[data-testid=group-tree] .node', { hasText: '端到端组' });
    await node.click();
    await node.locator('button[title="重命名"]').click();
    expect(await dialog.locator('input[name="value"]').inputValue()).toBe('端到端组');
    await dialog.locator('input[name="value"]').fill('端到端组甲');
    await shot('rename-group-dialog');
    await dialog.locator('[data-action="ok"]').click();
    await page.waitForSelector('[data-testid=group-tree] .node:has-text("端到端组甲")');
    await page.fill('.list .toolbar input[placeholder="姓名或号码"]', '13800000001');
    await page.click('.list .toolbar button:has-text("搜索")');
    const zhaoRow = page.locator('[data-testid=contacts] tbody tr', { hasText: '13800000001' });
    await expect.poll(() => page.locator('[data-testid=contacts] tbody tr').count()).toBe(1);
    await zhaoRow.locator('input[type=checkbox]').check();
    await page.click('.list .toolbar button:has-text("设置排序")');
    expect(await dialog.locator('input[name="value"]').getAttribute('type')).toBe('number');
    await dialog.locator('input[name="value"]').fill('5');
    await dialog.locator('[data-action="ok"]').click();
    await expect.poll(() => zhaoRow.locator('td').nth(5).textContent()).toBe('5');
    await zhaoRow.locator('[data-action="contact-detail"]').click();
    await expect.poll(() => dialog.textContent()).toContain('zhao@example.com');
    expect(await dialog.textContent()).toContain('翼讯通');
    await shot('contact-detail-dialog');
    await dialog.locator('[data-action="ok"]').click();
    await dialog.waitFor({ state: 'detached' });
    expect(problems).toEqual([]);
  }, 180_000);

  it('a scheduled send waits in the outbox', async () => {
    await open('/industry/send');
    await page.fill('[data-testid=recipients]', '13400000041');
    await page.fill('input[placeholder^="不填写时"]', '端到端定时');
    await page.fill('[data-testid=content]', '端到端测试：定时发送');
    // datetime-local in the page's zone (Asia/Shanghai, UTC+8), 40 s from now: it fires while the
    // next steps run, and is checked at the end.
    const at = new Date(Date.now() + 8 * 3600_000 + 40_000).toISOString().slice(0, 19);
    await page.fill('input[type=datetime-local]', at);
    await page.click('button:has-text("定时发送")');
    await page.waitForURL('**/industry/schedules');
    await page.waitForSelector('[data-testid=schedules] tr[data-subject="端到端定时"]');
    await shot('scheduled-outbox');
    // Editing its time starts from the time it is set for (China time), not an empty field.
    await page.click('[data-testid=schedules] tr[data-subject="端到端定时"] [data-action="edit-time"]');
    expect(await page.locator('.modal input[type=datetime-local]').inputValue()).toBe(at.slice(0, 16));
    await shot('schedule-edit-time');
    await page.click('.modal header button');
    expect(await stack.smsc.messages('13400000041')).toEqual([]);
  }, 120_000);

  it('normal send: typed numbers and a picked group, an invalid number reported, all delivered', async () => {
    await open('/industry/send');
    await page.fill('[data-testid=recipients]', '13700000011；13700000012, 1370000, 13700000011');
    await page.locator('.picker label:has-text("运营部") input').check();
    await page.fill('input[placeholder^="不填写时"]', '端到端普通');
    await page.fill('[data-testid=content]', '端到端测试：普通发送');
    await page.waitForSelector('[data-testid=counts]:has-text("计费条数 1")');
    await page.click('button:has-text("发送前检查")');
    await page.waitForSelector('[data-testid=rejected] li');
    const reported = await page.locator('[data-testid=rejected] li').allTextContents();
    expect(reported.join('\n')).toContain('1370000');
    await page.click('[data-testid=send-now]');
    await acceptIfAsked();
    // 2 typed + 304 in 运营部 (the duplicate and the invalid one are reported, not sent).
    await expectDelivered('端到端普通', 306);
    const got = await stack.smsc.messages('13700000012');
    expect(got[0]!.text).toBe('【翼讯通】端到端测试：普通发送');
    await shot('normal-delivered');
  }, 240_000);

  it('address-book picker: children under their parent, counts with sub-groups, a single contact picked', async () => {
    // The server lists groups by name: 丙组 (甲组's child) comes first, before both roots 乙组 and 甲组.
    const books = '/api/industry/books/personal';
    const group = async (name: string, parentId: string | null = null) =>
      (await client.req('POST', `${books}/groups`, { name, parentId })).body.id as string;
    const jia = await group('甲组');
    await group('乙组');
    const bing = await group('丙组', jia);
    const contact = async (name: string, phone: string, groupIds: string[]) =>
      expect((await client.req('POST', `${books}/contacts`, { name, phone, groupIds })).status).toBe(200);
    await contact('甲一', '13700000031', [jia]);
    await contact('丙一', '13700000032', [bing]);
    await contact('丙二', '13700000033', [bing]);
    await contact('单选人', '13700000034', []);

    await open('/industry/send');
    const picker = page.locator('[data-testid=book-picker]');
    await picker.locator(`label[data-group="${bing}"]`).waitFor();
    const tree = await picker
      .locator('label[data-group]')
      .evaluateAll((ls) => ls.map((l) => [l.textContent!.replace(/（.*$/, '').trim(), l.getAttribute('data-depth')]));
    const at = tree.findIndex(([n]) => n === '甲组');
    expect(tree[at + 1]).toEqual(['丙组', '1']);
    expect(tree.find(([n]) => n === '乙组')?.[1]).toBe('0');
    // 甲组 sends to its own 1 and 丙组's 2.
    expect(await picker.locator(`label[data-group="${jia}"] [data-count]`).textContent()).toBe('3');
    expect(await picker.locator(`label[data-group="${bing}"] [data-count]`).textContent()).toBe('2');

    await picker.locator(`label[data-group="${jia}"] input`).check();
    await picker.locator('[data-testid=contact-search]').fill('单选人');
    await picker.locator('label[data-contact]:has-text("单选人") input').check();
    expect(await picker.locator('[data-testid=picked-contacts] li').allTextContents()).toEqual([expect.stringContaining('13700000034')]);
    await page.screenshot({ path: join(ARTIFACTS, 'industry-book-picker.png') });
    await page.fill('input[placeholder^="不填写时"]', '端到端通讯录');
    await page.fill('[data-testid=content]', '端到端测试：通讯录选择');
    await page.waitForSelector('[data-testid=counts]:has-text("计费条数 1")');
    await page.click('[data-testid=send-now]');
    await acceptIfAsked();
    await expectDelivered('端到端通讯录', 4);
    for (const m of ['13700000031', '13700000032', '13700000033', '13700000034'])
      expect((await stack.smsc.messages(m)).map((x) => x.text)).toContain('【翼讯通】端到端测试：通讯录选择');
  }, 240_000);

  it('batch send from an Excel file with a few bad rows: the rows are reported and the rest delivered', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('号码');
    ws.addRow(['手机号码']);
    for (const n of [13600000021, '13600000022', 'abc', 13600000023, 13600000021, '136000000', 18600000024]) ws.addRow([n]);
    const file = join(files, 'batch.xlsx');
    writeFileSync(file, new Uint8Array(await wb.xlsx.writeBuffer()));
    await open('/industry/send');
    await page.click('nav.tabs button:has-text("批量发送")');
    await watchFor('[data-testid=upload-progress]');
    await page.setInputFiles('[data-testid=upload]', file);
    await page.waitForSelector('[data-testid=upload-report]', { timeout: 60_000 });
    // The file was read and checked as a background job with a progress bar, as imports are.
    expect(await sawIt('[data-testid=upload-progress]')).toBe(true);
    await shot('batch-report');
    expect(await page.locator('[data-testid=upload-report] p').first().textContent()).toBe('共 8 行，可发送 4 条，无效 2 行，重复 1 条');
    expect(await page.locator('[data-testid=upload-report] ul.rejected li').allTextContents()).toEqual([
      '第 4 行：“abc”不是有效的手机号码',
      '第 6 行：号码 13600000021 重复，只发送一次',
      '第 7 行：“136000000”不是有效的手机号码',
    ]);
    await page.fill('input[placeholder^="不填写时"]', '端到端批量');
    await page.fill('[data-testid=content]', '端到端测试：批量发送');
    // 发送前检查 keeps one list of the rows that will not be sent (the file's report), not a second copy.
    await page.click('button:has-text("发送前检查")');
    await page.waitForSelector('.toast-ok:has-text("有效号码")');
    expect(await page.locator('ul.rejected').count()).toBe(1);
    await page.click('[data-testid=send-now]');
    await acceptIfAsked();
    await expectDelivered('端到端批量', 4);
    await shot('batch-delivered');
  }, 180_000);

  it('mail-merge send: previews the merged messages, sends each number its own text once', async () => {
    const txt = [
      '13500000031,张先生您好，,您的快递已到',
      '13500000032,李女士您好，,您的账单为 100 元',
      '13500000031,张先生您好，,您的快递已到',
      '13500000031,张先生您好，,明天有雨',
    ].join('\n');
    writeFileSync(join(files, 'merge.txt'), txt);
    await open('/industry/send');
    await page.click('nav.tabs button:has-text("定制发送")');
    await watchFor('[data-testid=upload-progress]');
    await page.setInputFiles('[data-testid=upload]', join(files, 'merge.txt'));
    await page.waitForSelector('[data-testid=upload-report] table', { timeout: 60_000 });
    expect(await sawIt('[data-testid=upload-progress]')).toBe(true);
    await shot('merge-preview');
    expect(await page.locator('[data-testid=upload-report] table tr').allTextContents()).toEqual([
      '13500000031张先生您好，您的快递已到',
      '13500000032李女士您好，您的账单为 100 元',
      '13500000031张先生您好，明天有雨',
    ]);
    await page.click('button:has-text("发送前检查")');
    await page.waitForSelector('.toast-ok:has-text("有效号码")');
    expect(await page.locator('h3:has-text("预览")').count()).toBe(1);
    await page.fill('input[placeholder^="不填写时"]', '端到端定制');
    await page.click('[data-testid=send-now]');
    await acceptIfAsked();
    await expectDelivered('端到端定制', 3);
    const zhang = (await stack.smsc.messages('13500000031')).map((m) => m.text).sort();
    expect(zhang).toEqual(['【翼讯通】张先生您好，您的快递已到', '【翼讯通】张先生您好，明天有雨']);
    await shot('merge-delivered');
  }, 180_000);

  it('a reply lands in the inbox under its send and is forwarded to the phone', async () => {
    await stack.smsc.behaviour({ moRate: 1, moDelayMs: 100, moTexts: ['收到，马上到'] });
    try {
      await open('/industry/send');
      await page.fill('[data-testid=recipients]', '13300000051');
      await page.fill('input[placeholder^="不填写时"]', '端到端回复');
      await page.fill('[data-testid=content]', '明天开会，能来请回复');
      await page.locator('label:has-text("需要对方回复") input').check();
      await page.locator('label:has-text("回复转发到手机") input').check();
      await page.fill('input[placeholder="转发手机号码"]', FORWARD_PHONE);
      await page.click('[data-testid=send-now]');
      await acceptIfAsked();
      await acceptIfAsked();
      await expectDelivered('端到端回复', 1);
      await until(
        'the reply in the inbox',
        async () => (await stack.portal.deps.db.query(`SELECT 1 FROM sms_inbox WHERE from_msisdn = '13300000051'`)).rows.length > 0,
      );
    } finally {
      await stack.smsc.behaviour({ moRate: 0 });
    }
    await page.click('.industry-main .toolbar button.primary');
    await sentRow('端到端回复').locator('button:has-text("查看回复")').click();
    await page.waitForURL('**/industry/inbox?sendId=*');
    const row = page.locator('[data-testid=inbox] tr[data-from="13300000051"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('收到，马上到');
    expect(await row.textContent()).toContain('端到端回复');
    await until('the forwarded reply', async () => (await stack.smsc.messages(FORWARD_PHONE)).some((m) => m.text.includes('收到，马上到')));
    await until(
      'the inbox to show it forwarded',
      async () => (await row.getAttribute('data-forwarded')) === FORWARD_PHONE,
      () => page.click('.industry-main .toolbar button.primary'),
    );
    await shot('inbox-forwarded');
  }, 180_000);

  it('the scheduled send fired on time: delivered, and gone from the outbox', async () => {
    await open('/industry/sent');
    await expectDelivered('端到端定时', 1);
    await shot('scheduled-delivered');
    await open('/industry/schedules');
    await page.waitForSelector('[data-testid=schedules] tbody tr');
    expect(await page.locator('[data-testid=schedules] tr[data-subject="端到端定时"]').count()).toBe(0);
    expect(problems).toEqual([]);
  }, 180_000);
});
