import type { WhyReason } from '@geo/alerting';
import { createRoute } from '@hono/zod-openapi';
import { resolutionForZoom } from '@geo/insight';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { caller } from '../../http/context.ts';
import { jsonOk, router } from '../../http/openapi.ts';
import { requires } from '../../http/route-access.ts';
import { SEND_LOG_TABLE } from '../industry/send-log.ts';
import { alertBus } from './alert-bus.ts';
import { recordedProgress } from './progress.ts';
import { maskMsisdn, RecipientPage, RecipientQuery, taskRecipients } from './recipients.ts';
import { guarded, parse } from './route-kit.ts';
import { IdParam, ReachedMap, sse } from './schemas.ts';
import { setProgress, setState } from './task-store.ts';
import { taskOr404 } from './task-views.ts';

/*
 * What a submitted task shows while it runs and after: live progress (Server-Sent Events), why a
 * number did not get it, where the people reached were, and the per-recipient record (查看明细).
 */

/**
 * Why a number did (not) get a task, as the task page says it. Only what the enterprise did itself
 * is told apart (#17, invariant 7): it messaged the number (sent, with the time), is messaging it
 * (queued, send_failed), or no alerting instance runs the task. Every other reason alerting knows —
 * outside the region, inside but excluded by a rule, not there long enough, outside the window,
 * a cap, phone off, never seen — says where someone it did not message is, or what their profile
 * is: a task of its own, even one that can never send, would be a free location oracle over any
 * number. Those all answer `not_sent`, one answer for everybody.
 */
export const WHY_RELEASED = ['sent', 'queued', 'send_failed', 'not_tracked', 'not_sent'] as const;
export type WhyReleased = (typeof WHY_RELEASED)[number];
export const WHY_LABELS: Record<WhyReleased, string> = {
  not_tracked: '任务未在执行（未开始、已停止或已结束），预警服务不再评估该任务',
  sent: '已发送（同一号码不重复发送）',
  send_failed: '已决定发送，短信提交失败，正在重试',
  queued: '符合条件，正在发送',
  not_sent: '未向该号码发送。为保护个人位置隐私，不提供未发送号码的具体原因',
};
/** The reason as released: alerting's reasons about a person not messaged all become `not_sent`. */
export const releasedWhy = (reason: WhyReason): WhyReleased =>
  (WHY_RELEASED as readonly string[]).includes(reason) ? (reason as WhyReleased) : 'not_sent';

/** A mainland mobile number after removing spaces and dashes and a +86 / 0086 prefix (DESIGN.md). */
const Msisdn = z
  .string({ error: '请输入手机号码' })
  .transform((s) => s.replace(/[\s-]/g, '').replace(/^(\+86|0086)/, ''))
  .pipe(z.string().regex(/^1[3-9]\d{9}$/, '请输入 11 位手机号码'));

const WhyAnswer = z
  .object({
    msisdn: z.string().openapi({ description: '号码（中间四位隐藏）', example: '138****8000' }),
    reason: z.enum(WHY_RELEASED).openapi({
      description:
        '原因代码：sent 已发送，queued 正在发送，send_failed 提交失败重试中，not_tracked 任务未在执行，not_sent 未发送（不说明是否在区域内、属性或信令，保护个人位置隐私）',
      example: 'sent',
    }),
    reasonLabel: z.string().openapi({ description: '原因的中文说明', example: '已发送（同一号码不重复发送）' }),
    sentAt: z.string().nullable().openapi({ description: '发送时间（reason 为 sent 时）' }),
  })
  .openapi('BigdataWhy');

const tags = ['大数据短信'];

export const taskLiveRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks/{id}/progress',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '实时进度（Server-Sent Events：state，然后每次变化一个 progress 事件，见 BigdataProgress）',
      request: { params: IdParam },
      responses: sse('事件流'),
    }),
    guarded(async (c) => {
      const { enterpriseId } = caller(c);
      const row = await taskOr404(c, enterpriseId);
      const deps = c.get('deps');
      const bus = await alertBus(deps);
      return streamSSE(c, async (stream) => {
        const fold = bus.progress(row.id);
        let shown = -1;
        let closed = false;
        stream.onAbort(() => {
          closed = true;
        });
        await stream.writeSSE({ event: 'state', data: JSON.stringify({ state: row.state, progress: row.progress }) });
        // What the send log already holds: an instance started after the task began has heard only
        // the statuses since, and another instance may have been the one hearing them. Read at
        // once and every 10 s; each figure shows the larger of what was heard and what is recorded.
        const catchUp = async () => {
          if (!deps.ch) return;
          try {
            fold.catchUp(await recordedProgress(deps.ch, deps.cfg.smsLogTable ?? SEND_LOG_TABLE, row.id));
          } catch (err) {
            deps.log.warn({ err, task: row.id }, 'progress: the send log could not be read; showing what this instance heard');
          }
        };
        await catchUp();
        let ticks = 0;
        let loops = 0;
        while (!closed) {
          if (++loops % 10 === 0) await catchUp();
          if (fold.version !== shown) {
            shown = fold.version;
            const v = fold.view();
            await stream.writeSSE({ event: 'progress', data: JSON.stringify(v) });
            if (v.state && v.state !== row.state) {
              row.state = v.state;
              await setState(deps.db, row.id, v.state);
            }
            // Keep the last figures for the list and for people who open the page later.
            if (v.at) await setProgress(deps.db, row.id, v);
          } else if (++ticks % 15 === 0) await stream.writeSSE({ event: 'ping', data: '{}' });
          await stream.sleep(1000);
        }
      });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks/{id}/why',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '查询某号码是否收到本任务短信：已发送（及时间）、正在发送、未发送（未发送的具体原因不提供：保护个人位置隐私）',
      request: { params: IdParam, query: z.object({ msisdn: z.string() }) },
      responses: jsonOk(WhyAnswer),
    }),
    guarded(async (c) => {
      // Scoped like the task itself: only the task's enterprise, with the task-list permission.
      const { enterpriseId } = caller(c);
      const row = await taskOr404(c, enterpriseId);
      const msisdn = parse(Msisdn, c.req.query('msisdn'));
      const a = await (await alertBus(c.get('deps'))).why(row.id, msisdn);
      const reason = releasedWhy(a.reason);
      return c.json({
        msisdn: maskMsisdn(msisdn),
        reason,
        reasonLabel: WHY_LABELS[reason],
        sentAt: a.sentAt === undefined ? null : new Date(a.sentAt).toISOString(),
      });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks/{id}/reached',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '触达人群分布：已发送的人在发送时所在位置（H3 格；每个基站小区同一运营商人数按 k 人取整，少于 k 人计 0）',
      request: { params: IdParam, query: z.object({ zoom: z.string().optional() }) },
      responses: jsonOk(ReachedMap),
    }),
    guarded(async (c) => {
      // The people messaged, where they were when messaged (alerting knows; insight's live heat map
      // would show whoever is inside the region now, messaged or not).
      const { enterpriseId } = caller(c);
      const row = await taskOr404(c, enterpriseId);
      const zoom = parse(z.coerce.number().min(0).max(22).default(11), c.req.query('zoom'));
      const resolution = resolutionForZoom(zoom);
      const bus = await alertBus(c.get('deps'));
      const r = await bus.reached(row.id, resolution);
      return c.json({ at: new Date().toISOString(), k: r.k, resolution, cells: r.cells });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks/{id}/recipients',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '查看明细：任务的逐号码发送记录（号码中间四位隐藏、运营商、状态、时间；分页）',
      request: { params: IdParam, query: z.object({ page: z.string().optional(), pageSize: z.string().optional() }) },
      responses: jsonOk(RecipientPage),
    }),
    guarded(async (c) => {
      const { enterpriseId } = caller(c);
      const row = await taskOr404(c, enterpriseId);
      const q = parse(RecipientQuery, c.req.query());
      const deps = c.get('deps');
      if (!deps.ch) return c.json({ total: 0, page: q.page, pageSize: q.pageSize, logAvailable: false, items: [] });
      try {
        const r = await taskRecipients(deps.ch, deps.cfg.smsLogTable ?? SEND_LOG_TABLE, enterpriseId, row.id, q.page, q.pageSize);
        return c.json({ ...r, page: q.page, pageSize: q.pageSize, logAvailable: true });
      } catch (err) {
        deps.log.warn({ err, task: row.id }, 'recipients: the send log could not be read');
        return c.json({ total: 0, page: q.page, pageSize: q.pageSize, logAvailable: false, items: [] });
      }
    }),
  );
