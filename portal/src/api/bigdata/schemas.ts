import { CrowdRule, ReachRequest, Region, RegionPart } from '@geo/alerting';
import { z } from '../../http/openapi.ts';
import { ACCEPTED_PARTS_MESSAGE, GeoJsonFeature, GeoJsonMultiPolygon, GeoJsonPolygon, TaskForm } from './task-form.ts';
import { APPROVAL_STATES, TASK_ROW_STATES } from './task-store.ts';

/**
 * The console's request and response shapes, for the OpenAPI document (`/api/openapi.json`).
 * Handlers still parse requests themselves (field-level Chinese messages); these say what they take
 * and what they answer.
 */

const Carrier = z.enum(['cmcc', 'cucc', 'ctcc']);

export const AreaNode = z
  .object({
    code: z.string().openapi({ example: '330106' }),
    name: z.string().openapi({ example: '西湖区' }),
    level: z.enum(['province', 'city', 'district']),
    parent: z.string().nullable(),
    center: z.tuple([z.number(), z.number()]).nullable(),
    hasBoundary: z.boolean(),
  })
  .openapi('BigdataArea');

export const Options = z
  .object({
    alertTypes: z.array(z.object({ value: z.string(), label: z.string(), template: z.string() })),
    signatures: z.array(z.object({ id: z.string(), text: z.string(), isDefault: z.boolean() })),
    balance: z.number().int(),
    carriers: z.array(Carrier),
    today: z.string().openapi({ description: '上海时区的今天（YYYY-MM-DD）' }),
    fastPathTypes: z
      .array(z.string())
      .openapi({ description: '可“先发后审”的预警类型（集团开启审批时；未开启时为空）', example: ['earthquake'] }),
  })
  .openapi('BigdataOptions');

export const CountBody = z.object({ signature: z.string().max(20).default(''), content: z.string().max(2000) });
export const CountResult = z
  .union([
    z.object({ ok: z.literal(true), chars: z.number().int(), segments: z.number().int(), tasks: z.number().int() }).passthrough(),
    z.object({ ok: z.literal(false), reason: z.string() }).passthrough(),
  ])
  .openapi('BigdataCount');

export const ReachBody = z
  .object({ region: Region, rules: z.array(CrowdRule).default([]), quota: ReachRequest.shape.quota })
  .openapi('BigdataReachRequest');
const Released = z
  .object({ value: z.number().int().nullable(), suppressed: z.boolean() })
  .openapi('BigdataReleasedCount', { description: '人数：k 的整数倍；合计少于 k（含 0）时不显示（value 为 null，界面显示“< k”）' });
const ReleasedPerCarrier = z.object({ cmcc: Released, cucc: Released, ctcc: Released });
export const Reach = z
  .object({
    instances: z.number().int().openapi({ description: '作答的预警服务实例数（0 表示没有实例在运行）' }),
    k: z.number().int().openapi({ description: '隐私阈值：每个（基站小区，运营商）人数按 k 人取整（少于 k 计 0），合计少于 k 时不显示' }),
    present: ReleasedPerCarrier.openapi({ description: '区域内当前人数' }),
    passing: ReleasedPerCarrier.openapi({ description: '符合筛选规则' }),
    allowedToday: ReleasedPerCarrier.openapi({ description: '今日可发送（扣除上限与已发送）' }),
    total: z.object({ present: Released, passing: Released, allowedToday: Released }).openapi({ description: '三网合计' }),
    errors: z.array(z.string()),
    at: z.string(),
  })
  .openapi('BigdataReach');

export const Letter = z
  .object({ id: z.string(), name: z.string(), size: z.number().int(), contentType: z.string() })
  .openapi('BigdataLetter');
export const LetterForm = {
  body: {
    required: true,
    content: {
      'multipart/form-data': {
        schema: z.object({ file: z.any().openapi({ type: 'string', format: 'binary', description: 'PDF、PNG 或 JPEG，≤ 5 MB' }) }),
      },
    },
  },
};

export const DraftBody = z
  .object({ form: z.record(z.string(), z.unknown()).openapi({ description: '发送页表单（任意填写程度）' }) })
  .openapi('BigdataDraft');
/** A region part as documented: the console's shapes or GeoJSON (the handler turns GeoJSON into polygon parts). */
export const RegionPartDoc = z
  .union([RegionPart, GeoJsonPolygon, GeoJsonMultiPolygon, GeoJsonFeature])
  .openapi('BigdataRegionPart', { description: ACCEPTED_PARTS_MESSAGE });

const exampleForm = {
  alertType: 'typhoon',
  region: {
    parts: [
      { kind: 'admin', code: '330106', name: '西湖区' },
      { kind: 'circle', center: [120.16, 30.25], radiusM: 2000 },
      {
        type: 'Polygon',
        coordinates: [
          [
            [120.1, 30.2],
            [120.3, 30.2],
            [120.3, 30.4],
            [120.1, 30.4],
            [120.1, 30.2],
          ],
          [
            [120.15, 30.25],
            [120.2, 30.25],
            [120.2, 30.3],
            [120.15, 30.3],
            [120.15, 30.25],
          ],
        ],
      },
    ],
    edgeBufferM: 0,
  },
  subject: '台风“海葵”防御提醒',
  content: '台风“海葵”预计今夜登陆，请减少外出，远离广告牌和危房。',
  texts: [{ language: 'en-US', content: 'Typhoon Haikui lands tonight: stay indoors, keep away from billboards and old buildings.' }],
  signature: '杭州应急',
  startDate: '2026-12-07',
  endDate: '2026-12-08',
  windows: [{ start: '07:00', end: '22:00' }],
  frequency: 'once',
  minDwellMin: 10,
  rules: [{ attribute: 'age', action: 'keep', min: 18, max: 80 }],
  quota: { cmcc: { total: 100000, dailyCap: 50000 }, cucc: { total: 30000, dailyCap: 30000 } },
  authorizationLetter: '0b9f3f0e-2f4a-4c55-9b7e-7f6d2b1f0c11',
  exercise: false,
};

/** The task form, fully typed for integrators (the same fields the handler checks, with the region's accepted shapes). */
export const TaskFormDoc = TaskForm.extend({
  region: z
    .object({
      parts: z.array(RegionPartDoc).max(100).openapi({ description: '区域为各部分的并集（最多 100 个）' }),
      edgeBufferM: z.number().min(0).max(5000).default(0).openapi({ description: '多边形、矩形和行政区域向外扩展的米数' }),
    })
    .openapi({ description: '发送区域' }),
}).openapi('BigdataTaskForm', {
  description:
    '任务表单。alertType 预警类型；region 区域；subject 发送主题；content 短信内容；signature 已审核的签名；' +
    'startDate / endDate 上海时区日期（YYYY-MM-DD，最长任务天数见 MAX_TASK_DAYS）；windows 每日发送时段（空为全天）；' +
    'frequency once（每人一次）或 daily（每天一次）；minDwellMin 区域内最短驻留分钟数；rules 人群筛选规则；' +
    'quota 各运营商发送总条数与日上限（至少一个）；authorizationLetter 授权函编号（POST /api/bigdata/letters 的 id）；' +
    'texts 其他语言的文本（language 如 en-US、content）：英文文本发给号码画像语言不是中文的人（外籍漫入人员），其余人收中文 content；' +
    '预留余量按计费条数较多的语言计（每种语言的条数按短信编码分别计算；签名的【】使英文短信同样按 UCS-2 计，70/67 字一条）；' +
    '其他语言（如 CAP 的 ja-JP）仅随 CAP 导出；cap 从 CAP 1.2 导入时的来源（只读）；' +
    'exercise 演练：照常触达、筛选、限额、进度与回执，每条短信前加“【演练】”（计入字数与计费条数），' +
    '但不计费——提交时不预留、结束时不扣减，企业与账户的短信余量及余量流水在演练前后不变；' +
    '其总条数仍不得超过可用余量（按含“【演练】”的计费条数计）。CAP 导入时 status 为 Exercise 或 Test 即为演练，导出为 Exercise',
  example: exampleForm,
});

export const SubmitBody = z
  .object({
    // Checked by the handler (each message beside its field, paths as in the form), documented as BigdataTaskForm.
    form: z.record(z.string(), z.unknown()).openapi({
      allOf: [{ $ref: '#/components/schemas/BigdataTaskForm' }],
      description: '任务表单，见 BigdataTaskForm',
    }),
    draftId: z.string().max(64).optional().openapi({ description: '从草稿提交' }),
    copiedFrom: z.string().max(64).optional().openapi({ description: '再次发送的原任务' }),
    fastPath: z
      .boolean()
      .optional()
      .openapi({ description: '紧急先发后审：企业开启审批且该预警类型允许先发后审时，立即发送、事后补审（任务标记为先发后审）' }),
  })
  .openapi('BigdataSubmit', { example: { form: exampleForm } });
export const Submitted = z
  .object({
    id: z.string(),
    state: z.enum(TASK_ROW_STATES).openapi({ description: 'pending_approval：待审批（企业开启审批时）' }),
    approval: z.enum(APPROVAL_STATES),
  })
  .openapi('BigdataSubmitted');
export const IdOnly = z.object({ id: z.string() });

const CarrierProgress = z.object({ sent: z.number(), delivered: z.number(), failed: z.number() });
const CarrierQueue = z.object({
  published: z.number().openapi({ description: '告警服务已生成的短信数' }),
  submitted: z.number().openapi({ description: '已提交运营商的短信数（发送记录）' }),
  queued: z.number().openapi({ description: '排队中（受运营商限速或分条影响）' }),
  perMinute: z.number().openapi({ description: '最近一分钟提交数' }),
  etaAt: z
    .number()
    .nullable()
    .openapi({ description: '按最近一分钟速率，最后一条预计提交时间（毫秒时间戳）；无排队或最近一分钟无提交时为 null' }),
});
export const ProgressView = z
  .object({
    state: z.enum(TASK_ROW_STATES).nullable(),
    at: z.number().nullable(),
    matched: z.number(),
    carriers: z.object({ cmcc: CarrierProgress, cucc: CarrierProgress, ctcc: CarrierProgress }),
    skipped: z.record(z.string(), z.number()),
    receiptsSince: z.number(),
    queue: z
      .object({ cmcc: CarrierQueue, cucc: CarrierQueue, ctcc: CarrierQueue })
      .nullable()
      .optional()
      .openapi({ description: '各运营商的发送队列与预计完成时间（读取发送记录之前为 null）' }),
  })
  .openapi('BigdataProgress');

export const TaskSummary = z
  .object({
    id: z.string(),
    subject: z.string(),
    alertType: z.string(),
    alertTypeLabel: z.string(),
    state: z.enum(TASK_ROW_STATES),
    stateLabel: z.string(),
    startDate: z.string().nullable(),
    endDate: z.string().nullable(),
    accountName: z.string(),
    reason: z.string(),
    createdAt: z.string().nullable(),
    submittedAt: z.string().nullable(),
    updatedAt: z.string().nullable(),
    progress: ProgressView.nullable(),
    sent: z.number().nullable().optional().openapi({ description: '已发送人数（同一号码只计一次；尚无数据时为 null）' }),
    approval: z.enum(APPROVAL_STATES).openapi({
      description: '审批：none 无需审批；pending 待审批；fast_path 紧急先发后审、待补审；approved 已审批；rejected 已驳回',
    }),
    approvalLabel: z.string(),
    fastPath: z.boolean().openapi({ description: '紧急先发后审（立即发送、事后审批）' }),
    exercise: z.boolean().openapi({ description: '演练任务：每条短信以“【演练】”开头，不计费（不预留、不扣减短信余量）' }),
    approvedBy: z.string().nullable().openapi({ description: '审批人（审批或驳回后）' }),
    approvedAt: z.string().nullable(),
    approvalReason: z.string().openapi({ description: '驳回原因' }),
    canApprove: z.boolean().optional().openapi({ description: '当前账户可审批（有审批权限且不是提交人）' }),
  })
  .openapi('BigdataTask');
export const TaskPage = z
  .object({ total: z.number().int(), page: z.number().int(), pageSize: z.number().int(), items: z.array(TaskSummary) })
  .openapi('BigdataTaskPage');
export const TaskDetail = TaskSummary.extend({
  /** The form in force (after an update while running, the updated one). */
  form: TaskFormDoc,
  spec: z.record(z.string(), z.unknown()).nullable(),
  version: z.number().int().nullable().openapi({ description: '任务版本（每次修改加 1；不在执行中时为 null）' }),
  copiedFrom: z.string().nullable(),
}).openapi('BigdataTaskDetail');
export const DraftDetail = TaskSummary.extend({ form: z.record(z.string(), z.unknown()) }).openapi('BigdataDraftDetail');
export const Transitioned = z
  .object({ id: z.string(), state: z.enum(TASK_ROW_STATES), stateLabel: z.string() })
  .openapi('BigdataTransition');

/** The list query, as documented (the handler parses the same fields). */
export const TaskQuery = z.object({
  from: z.string().optional().openapi({ description: '发送期起（日期或 ISO 时间）：与任务发送期有交集者；草稿按创建时间' }),
  to: z.string().optional().openapi({ description: '发送期止（日期表示当天结束）：与任务发送期有交集者；草稿按创建时间' }),
  alertType: z.string().max(20).optional(),
  state: z.enum(TASK_ROW_STATES).optional(),
  name: z.string().max(100).optional().openapi({ description: '按发送主题模糊查询' }),
  exercise: z.enum(['true', 'false']).optional().openapi({ description: 'true 只列演练任务，false 只列真实预警；省略为全部' }),
  page: z.string().optional(),
  pageSize: z.string().optional(),
});
export const IdParam = z.object({ id: z.string().max(64) });
export const RejectBody = z
  .object({ reason: z.string().openapi({ description: '驳回原因（必填，最多 200 字）' }) })
  .openapi('BigdataReject');
export const ApprovalSettingsDoc = z
  .object({
    required: z.boolean().openapi({ description: '开启后，任务须由同企业另一位有审批权限的账户审批后才发送' }),
    fastPathTypes: z.array(z.string()).optional().openapi({ description: '允许紧急先发后审的预警类型（须开启审批；省略为无）' }),
  })
  .openapi('BigdataApprovalSettings');
export const LevelParam = z.object({ level: z.enum(['province', 'city', 'district']) });

/** A response that is not JSON, described by its content type. */
export const fileOk = (type: string, description: string) => ({
  200: {
    description,
    content: { [type]: { schema: z.string().openapi({ type: 'string', format: type.includes('sheet') ? 'binary' : undefined }) } },
  },
});
export const sse = (description: string) => ({ 200: { description, content: { 'text/event-stream': { schema: z.string() } } } });
