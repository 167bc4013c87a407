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
    mode: z
      .enum(['normal', 'batch', 'merge'])
      .default('normal')
      .openapi({ description: '发送方式：normal 普通，batch 批量（上传号码文件），merge 个性化（每行自己的内容）', example: 'normal' }),
    recipients: z
      .string()
      .max(2_000_000, '号码内容过长，请改用批量发送上传文件')
      .optional()
      .openapi({ description: '手工输入的号码，任意分隔符', example: '13800000000,13900000000' }),
    numbers: z
      .array(z.string().max(32))
      .max(100_000, '一次最多 100000 个号码')
      .optional()
      .openapi({ description: '号码列表（接口调用），最多 100000 个', example: ['13800000000', '13900000000'] }),
    contactIds: ids.openapi({ description: '通讯录联系人编号', example: ['9a7b5c3d-1e2f-4a6b-8c0d-2e4f6a8b0c1d'] }),
    groupIds: ids.openapi({ description: '通讯录分组编号（组内全部联系人）', example: ['9a7b5c3d-1e2f-4a6b-8c0d-2e4f6a8b0c1d'] }),
    departmentIds: ids.openapi({ description: '部门编号（部门内全部联系人）', example: ['9a7b5c3d-1e2f-4a6b-8c0d-2e4f6a8b0c1d'] }),
    uploadId: z
      .string()
      .max(64)
      .optional()
      .openapi({ description: '批量 / 个性化发送时上传文件的编号', example: '9a7b5c3d-1e2f-4a6b-8c0d-2e4f6a8b0c1d' }),
    messages: z
      .array(
        z.object({
          msisdn: z.string().max(32).openapi({ description: '手机号码', example: '13800000000' }),
          content: z
            .string()
            .max(2000, '每条短信内容最多 2000 字')
            .openapi({ description: '发给该号码的内容（不含签名），最多 2,000 字', example: '张先生，您的燃气表将于明日 9:00 检修。' }),
        }),
      )
      .max(100_000, '一次最多 100000 条')
      .optional()
      .openapi({
        description: '定制发送：每个号码自己的内容（接口调用）',
        example: [{ msisdn: '13800000000', content: '张先生，您的燃气表将于明日 9:00 检修。' }],
      }),
    subject: z.string().max(100, '主题最多 100 字').optional().openapi({ description: '任务主题，最多 100 字', example: '燃气检修通知' }),
    content: z
      .string()
      .max(10_000, '短信内容过长')
      .optional()
      .openapi({ description: '短信内容（不含签名）', example: '明日 9:00–12:00 西湖区部分路段燃气检修，请提前做好准备。' }),
    signatureId: z
      .string()
      .max(64)
      .optional()
      .openapi({ description: '短信签名编号，不填用默认签名', example: '5b9e0d1c-2a3f-4b6e-8d7c-1f0e2d3c4b5a' }),
    needReply: z.boolean().default(false).openapi({ description: '是否需要回复（分配扩展码以收取回复）', example: false }),
    forwardReplies: z.boolean().default(false).openapi({ description: '是否把回复转发到手机', example: false }),
    forwardTo: z.string().max(32).optional().openapi({ description: '回复转发到的手机号，不填用集团管理员的号码', example: '13800000000' }),
    action: z
      .enum(['now', 'schedule', 'draft'])
      .default('now')
      .openapi({ description: 'now 立即发送，schedule 定时发送，draft 存为草稿', example: 'now' }),
    scheduledAt: z
      .string()
      .datetime({ offset: true, message: '定时时间格式有误' })
      .optional()
      .openapi({ description: '定时发送时间（ISO 8601，带时区）', example: '2026-03-02T09:00:00+08:00' }),
    draftId: z
      .string()
      .max(64)
      .optional()
      .openapi({ description: '从草稿发送时的草稿编号', example: '9a7b5c3d-1e2f-4a6b-8c0d-2e4f6a8b0c1d' }),
    acceptRejected: z.boolean().default(false).openapi({ description: '已确认跳过无效和重复的号码', example: true }),
  })
  .openapi('IndustrySend');
export type SendBody = z.infer<typeof SendBody>;

export const RejectedItem = z
  .object({
    source: z.string().openapi({ description: '号码来源：输入、通讯录等', example: '输入' }),
    input: z.string().openapi({ description: '被拒的原始输入', example: '1380000' }),
    reason: z
      .string()
      .openapi({ description: '原因代码：invalid 无效，duplicate 重复，unroutable 无法路由，empty_content 内容为空', example: 'invalid' }),
    message: z.string().openapi({ description: '原因说明', example: '“1380000”不是有效的中国大陆手机号码' }),
  })
  .openapi('RejectedRecipient');

export const CheckResult = z
  .object({
    recipients: z.number().openapi({ description: '有效号码数', example: 1200 }),
    rejected: z.array(RejectedItem).openapi({ description: '被拒的号码（最多列出一部分）' }),
    rejectedTotal: z.number().openapi({ description: '被拒号码总数', example: 3 }),
    duplicates: z.number().openapi({ description: '重复号码数', example: 5 }),
    perCarrier: z.record(z.string(), z.number()).openapi({ description: '按运营商的号码数', example: { cmcc: 700, cucc: 300, ctcc: 200 } }),
    subject: z.string().openapi({ description: '任务主题', example: '燃气检修通知' }),
    billing: z.number().openapi({ description: '计费条数（号码数 × 每条拆分数）', example: 1200 }),
    chars: z.number().openapi({ description: '短信字数（含签名）', example: 42 }),
    tasks: z.number().openapi({ description: '将生成的任务数', example: 1 }),
    segments: z.number().openapi({ description: '每条短信拆分的条数', example: 1 }),
    preview: z
      .array(
        z.object({
          msisdn: z.string().openapi({ description: '号码', example: '138****0000' }),
          content: z.string().openapi({ description: '该号码收到的内容', example: '【杭州燃气】明日 9:00–12:00 部分路段燃气检修。' }),
        }),
      )
      .optional()
      .openapi({ description: '内容预览（前几条）' }),
    balances: z
      .object({
        account: z.number().nullable().openapi({ description: '本账户剩余可发送量，不限为 null', example: 8800 }),
        enterprise: z.number().openapi({ description: '集团余额（条）', example: 120000 }),
      })
      .openapi({ description: '发送前的余额' }),
  })
  .openapi('IndustrySendCheck');

export const SendResult = z
  .object({
    id: z.string().nullable().openapi({ description: '任务编号，存为草稿时为 null', example: null }),
    state: z.string().openapi({ description: '任务状态（存为草稿时为 draft）', example: 'draft' }),
    draftId: z.string().nullable().openapi({ description: '草稿编号，不是草稿为 null', example: '9a7b5c3d-1e2f-4a6b-8c0d-2e4f6a8b0c1d' }),
    recipients: z.number().openapi({ description: '有效号码数', example: 1200 }),
    billing: z.number().openapi({ description: '计费条数', example: 0 }),
    extension: z.string().nullable().openapi({ description: '需要回复时分配的扩展码，否则为 null', example: '0321' }),
    rejected: z.array(RejectedItem).openapi({ description: '被跳过的号码' }),
  })
  .openapi('IndustrySendResult');

/** A batch / mail-merge upload's row-level report and preview (also an upload job's result). */
export const UploadResult = z
  .object({
    uploadId: z.string().openapi({ description: '上传文件编号，发送时填入 uploadId', example: '9a7b5c3d-1e2f-4a6b-8c0d-2e4f6a8b0c1d' }),
    kind: z.enum(['batch', 'merge']).openapi({ description: 'batch 批量号码，merge 个性化内容', example: 'batch' }),
    fileName: z.string().openapi({ description: '文件名', example: '号码.xlsx' }),
    format: z.string().openapi({ description: '识别出的文件格式', example: 'xlsx' }),
    encoding: z.string().nullable().openapi({ description: '文本文件的字符编码，表格为 null', example: 'GB18030' }),
    rows: z.number().openapi({ description: '文件行数', example: 1208 }),
    accepted: z.number().openapi({ description: '有效行数', example: 1200 }),
    duplicates: z.number().openapi({ description: '重复号码数', example: 5 }),
    rejectedTotal: z.number().openapi({ description: '无效行总数', example: 3 }),
    rejected: z
      .array(
        z.object({
          line: z.number().openapi({ description: '行号', example: 17 }),
          text: z.string().openapi({ description: '该行原文', example: '1380000' }),
          reason: z.string().openapi({ description: '原因代码', example: 'invalid' }),
          message: z.string().openapi({ description: '原因说明', example: '号码格式不正确' }),
        }),
      )
      .openapi({ description: '无效行（最多列出一部分）' }),
    preview: z
      .array(
        z.object({
          line: z.number().openapi({ description: '行号', example: 2 }),
          msisdn: z.string().openapi({ description: '号码', example: '138****0000' }),
          content: z.string().optional().openapi({ description: '个性化内容（merge）', example: '张先生，您的燃气表将于明日检修。' }),
        }),
      )
      .openapi({ description: '前几行预览' }),
  })
  .openapi('IndustryUpload');
