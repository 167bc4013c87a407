import { z } from '../../http/openapi.ts';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIME = z.iso.datetime({ offset: true });

/** True for a real calendar day `YYYY-MM-DD` or an ISO 8601 time with its offset. */
export function isDateParam(s: string): boolean {
  if (DAY.test(s)) {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
  }
  return ISO_TIME.safeParse(s).success;
}

/** A list filter's date: a day (Asia/Shanghai) or an ISO time; anything else is a 400, never a database error. */
export const DateParam = z.string().max(40, '日期过长').refine(isDateParam, '日期格式有误，请填写 YYYY-MM-DD 格式的日期');

const ids = z.array(z.string().min(1).max(64)).max(10_000).optional();

export const SendBody = z
  .object({
    mode: z.enum(['normal', 'batch', 'merge']).default('normal'),
    recipients: z.string().max(2_000_000, '号码内容过长，请改用批量发送上传文件').optional().describe('手工输入的号码，任意分隔符'),
    numbers: z.array(z.string().max(32)).max(100_000, '一次最多 100000 个号码').optional(),
    contactIds: ids,
    groupIds: ids,
    departmentIds: ids,
    uploadId: z.string().max(64).optional(),
    messages: z
      .array(z.object({ msisdn: z.string().max(32), content: z.string().max(2000, '每条短信内容最多 2000 字') }))
      .max(100_000, '一次最多 100000 条')
      .optional()
      .describe('定制发送：每个号码自己的内容（接口调用）'),
    subject: z.string().max(100, '主题最多 100 字').optional(),
    content: z.string().max(10_000, '短信内容过长').optional(),
    signatureId: z.string().max(64).optional(),
    needReply: z.boolean().default(false),
    forwardReplies: z.boolean().default(false),
    forwardTo: z.string().max(32).optional(),
    action: z.enum(['now', 'schedule', 'draft']).default('now'),
    scheduledAt: z.string().datetime({ offset: true, message: '定时时间格式有误' }).optional(),
    draftId: z.string().max(64).optional(),
    acceptRejected: z.boolean().default(false).describe('已确认跳过无效和重复的号码'),
  })
  .openapi('IndustrySend');
export type SendBody = z.infer<typeof SendBody>;

export const RejectedItem = z
  .object({ source: z.string(), input: z.string(), reason: z.string(), message: z.string() })
  .openapi('RejectedRecipient');

export const CheckResult = z
  .object({
    recipients: z.number(),
    rejected: z.array(RejectedItem),
    rejectedTotal: z.number(),
    duplicates: z.number(),
    perCarrier: z.record(z.string(), z.number()),
    subject: z.string(),
    billing: z.number(),
    chars: z.number(),
    tasks: z.number(),
    segments: z.number(),
    preview: z.array(z.object({ msisdn: z.string(), content: z.string() })).optional(),
    balances: z.object({ account: z.number().nullable(), enterprise: z.number() }),
  })
  .openapi('IndustrySendCheck');

export const SendResult = z
  .object({
    id: z.string().nullable(),
    state: z.string(),
    draftId: z.string().nullable(),
    recipients: z.number(),
    billing: z.number(),
    extension: z.string().nullable(),
    rejected: z.array(RejectedItem),
  })
  .openapi('IndustrySendResult');

/** A batch / mail-merge upload's row-level report and preview (also an upload job's result). */
export const UploadResult = z
  .object({
    uploadId: z.string(),
    kind: z.enum(['batch', 'merge']),
    fileName: z.string(),
    format: z.string(),
    encoding: z.string().nullable(),
    rows: z.number(),
    accepted: z.number(),
    duplicates: z.number(),
    rejectedTotal: z.number(),
    rejected: z.array(z.object({ line: z.number(), text: z.string(), reason: z.string(), message: z.string() })),
    preview: z.array(z.object({ line: z.number(), msisdn: z.string(), content: z.string().optional() })),
  })
  .openapi('IndustryUpload');
