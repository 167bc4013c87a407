import { ident, list, sql, type ClickHouseClient } from '@geo/infra';
import { z } from 'zod';
import { foldState, type RecipientState } from '../industry/send-log.ts';
import { CARRIER_LABELS } from './alert-types.ts';

/**
 * 查看明细: the per-recipient record of a sent task, read from messaging's send log (ClickHouse
 * `sms_log`, one row per job, the highest `version` current). Numbers leave the portal masked
 * (the middle four digits hidden), as everywhere else in the console. ClickHouse 18.16 has no
 * query parameters: values go through `sql`.
 */

/** 138****8000: the middle four digits hidden. */
export const maskMsisdn = (m: string): string => `${m.slice(0, 3)}****${m.slice(7)}`;

const STATE_LABELS: Record<RecipientState, string> = { pending: '待发送', submitted: '已提交', delivered: '发送成功', failed: '发送失败' };

/** A time as people in China read it: `2026-12-09 08:30:05` (Asia/Shanghai, no daylight saving). */
export function chinaTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms <= 0) return '';
  return new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}

export const Recipient = z
  .object({
    msisdn: z.string().openapi({ description: '号码（中间四位隐藏）', example: '138****8000' }),
    carrier: z.string().openapi({ description: '运营商：cmcc 移动，cucc 联通，ctcc 电信', example: 'cmcc' }),
    carrierLabel: z.string().openapi({ description: '运营商名称', example: '中国移动' }),
    state: z.enum(['pending', 'submitted', 'delivered', 'failed']).openapi({
      description: 'pending 排队中，submitted 已提交运营商（待回执），delivered 发送成功，failed 发送失败',
      example: 'delivered',
    }),
    stateLabel: z.string().openapi({ description: '状态的中文说明', example: '发送成功' }),
    code: z.string().openapi({ description: '运营商状态码（失败时）', example: 'DELIVRD' }),
    segments: z.number().int().openapi({ description: '计费条数' }),
    submittedAt: z.string().openapi({ description: '提交时间（北京时间）', example: '2026-12-09 08:30:05' }),
    statusAt: z.string().openapi({ description: '状态时间（北京时间）', example: '2026-12-09 08:30:07' }),
  })
  .openapi('BigdataRecipient');
export type Recipient = z.infer<typeof Recipient>;

export const RecipientPage = z
  .object({
    total: z.number().int().openapi({ description: '该任务的收信记录总数（每条短信一条）', example: 1200 }),
    page: z.number().int().openapi({ description: '页码（从 1 开始）', example: 1 }),
    pageSize: z.number().int().openapi({ description: '每页条数（1–200，默认 20）', example: 20 }),
    logAvailable: z.boolean().openapi({ description: '发送记录（ClickHouse）不可用时为 false，列表为空' }),
    items: z.array(Recipient).openapi({ description: '本页的收信记录，最近提交的在前' }),
  })
  .openapi('BigdataRecipientPage');

export const RecipientQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(20),
});

/** One page of a task's recipients, the latest first (by when they were submitted). */
export async function taskRecipients(
  ch: ClickHouseClient,
  table: string,
  enterpriseId: string,
  taskId: string,
  page: number,
  pageSize: number,
): Promise<{ total: number; items: Recipient[] }> {
  const where = sql`enterprise_id = ${enterpriseId} AND send_id = ${taskId}`;
  const count = await ch.query({
    query: sql`SELECT uniqExact(job_id) AS n FROM ${ident(table)} WHERE ${where}`.text,
    format: 'JSONEachRow',
  });
  const total = Number(((await count.json()) as { n: string | number }[])[0]?.n ?? 0);
  const rs = await ch.query({
    query: sql`SELECT job_id, argMax(msisdn, version) AS msisdn, argMax(carrier, version) AS carrier, argMax(status, version) AS status,
        argMax(code, version) AS code, argMax(segments, version) AS segments,
        toUnixTimestamp(argMax(submit_time, version)) AS submitted, toUnixTimestamp(argMax(status_time, version)) AS at
      FROM ${ident(table)} WHERE ${where} GROUP BY job_id
      ORDER BY submitted DESC, job_id LIMIT ${pageSize} OFFSET ${(page - 1) * pageSize}`.text,
    format: 'JSONEachRow',
  });
  const rows = (await rs.json()) as {
    msisdn: string;
    carrier: string;
    status: string;
    code: string;
    segments: number | string;
    submitted: number | string;
    at: number | string;
  }[];
  return {
    total,
    items: rows.map((r) => {
      const state = foldState(r.status);
      return {
        msisdn: maskMsisdn(r.msisdn),
        carrier: r.carrier,
        carrierLabel: CARRIER_LABELS[r.carrier as keyof typeof CARRIER_LABELS] ?? r.carrier,
        state,
        stateLabel: STATE_LABELS[state],
        code: state === 'failed' ? r.code : '',
        segments: Number(r.segments),
        submittedAt: chinaTime(Number(r.submitted) * 1000),
        statusAt: chinaTime(Number(r.at) * 1000),
      };
    }),
  };
}

/** How many people each task has sent to (jobs in the send log), for the task list. */
export async function sentCounts(
  ch: ClickHouseClient,
  table: string,
  enterpriseId: string,
  taskIds: readonly string[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (taskIds.length === 0) return out;
  const rs = await ch.query({
    query:
      sql`SELECT send_id, uniqExact(job_id) AS n FROM ${ident(table)} WHERE enterprise_id = ${enterpriseId} AND send_id IN ${list(taskIds)} GROUP BY send_id`
        .text,
    format: 'JSONEachRow',
  });
  for (const r of (await rs.json()) as { send_id: string; n: string | number }[]) out.set(r.send_id, Number(r.n));
  return out;
}
