import { CarrierQuota, CrowdRule, MAX_TASK_DAYS, Region, RegionPart } from '@geo/alerting';
import { z } from '../../http/openapi.ts';
import { ACCEPTED_PARTS_MESSAGE, CapOrigin, GeoJsonFeature, GeoJsonMultiPolygon, GeoJsonPolygon, TaskForm, TaskText } from './task-form.ts';
import { APPROVAL_STATES, TASK_ROW_STATES } from './task-store.ts';

/**
 * The console's request and response shapes, for the OpenAPI document (`/api/openapi.json`).
 * Handlers still parse requests themselves (field-level Chinese messages); these say what they take
 * and what they answer.
 */

const Carrier = z.enum(['cmcc', 'cucc', 'ctcc']);

export const AreaNode = z
  .object({
    code: z.string().openapi({ description: '行政区划代码（GB/T 2260）', example: '330106' }),
    name: z.string().openapi({ description: '名称', example: '西湖区' }),
    level: z
      .enum(['province', 'city', 'district'])
      .openapi({ description: '级别：province 省，city 市，district 区/县', example: 'district' }),
    parent: z.string().nullable().openapi({ description: '上级区划代码，省为 null', example: '330100' }),
    center: z
      .tuple([z.number(), z.number()])
      .nullable()
      .openapi({ description: '中心点 [经度, 纬度]（WGS-84），用于标注；无边界时为 null', example: [120.13, 30.26] }),
    hasBoundary: z
      .boolean()
      .openapi({ description: '是否有边界数据；没有的区县（如临平区、钱塘区）不能作为发送区域，请在地图上圈选', example: true }),
  })
  .openapi('BigdataArea');

export const Options = z
  .object({
    alertTypes: z
      .array(
        z.object({
          value: z.string().openapi({ description: '预警类型代码', example: 'rainstorm' }),
          label: z.string().openapi({ description: '名称', example: '暴雨' }),
          template: z.string().openapi({ description: '参考内容', example: '今日有暴雨，请减少外出，注意防范城市内涝。' }),
        }),
      )
      .openapi({ description: '可选的预警类型' }),
    signatures: z
      .array(
        z.object({
          id: z.string().openapi({ description: '签名编号', example: '5b9e0d1c-2a3f-4b6e-8d7c-1f0e2d3c4b5a' }),
          text: z.string().openapi({ description: '签名文字（含【】）', example: '【杭州应急】' }),
          isDefault: z.boolean().openapi({ description: '是否为默认签名', example: true }),
        }),
      )
      .openapi({ description: '可用的（已审核通过的）签名' }),
    balance: z.number().int().openapi({ description: '可用余量（计费条数）：各运营商发送总条数之和不得超过它', example: 100000 }),
    carriers: z.array(Carrier).openapi({ description: '运营商：cmcc 移动，cucc 联通，ctcc 电信', example: ['cmcc', 'cucc', 'ctcc'] }),
    today: z.string().openapi({ description: '上海时区的今天（YYYY-MM-DD）' }),
    fastPathTypes: z
      .array(z.string())
      .openapi({ description: '可“先发后审”的预警类型（集团开启审批时；未开启时为空）', example: ['earthquake'] }),
  })
  .openapi('BigdataOptions');

export const CountBody = z.object({
  signature: z.string().max(20).default('').openapi({ description: '签名文字（含【】），可为空', example: '【杭州应急】' }),
  content: z.string().max(2000).openapi({ description: '短信内容（不含签名），最多 2,000 字', example: '今日有暴雨，请减少外出。' }),
});
export const CountResult = z
  .union([
    z.object({ ok: z.literal(true), chars: z.number().int(), segments: z.number().int(), tasks: z.number().int() }).passthrough(),
    z.object({ ok: z.literal(false), reason: z.string() }).passthrough(),
  ])
  .openapi('BigdataCount');

const CARRIER_NAME = { cmcc: '移动', cucc: '联通', ctcc: '电信' } as const;
type QuotaShape = typeof CarrierQuota.shape;
/** One carrier's budget as the form (`base`: its Chinese messages) or the reach estimate (alerting's) checks it. */
const quotaDoc = (c: keyof typeof CARRIER_NAME, base: { shape: QuotaShape } = CarrierQuota) =>
  z
    .object({
      total: base.shape.total.meta({
        description: `${CARRIER_NAME[c]}号码本任务发送总条数（人次，正整数）；各运营商之和不得超过可用余量`,
        example: 100000,
      }),
      dailyCap: base.shape.dailyCap.meta({
        description: `${CARRIER_NAME[c]}号码每日（上海时区）最多发送条数，不大于总条数；达到后当天不再发送`,
        example: 50000,
      }),
    })
    .optional()
    .openapi({ description: `${CARRIER_NAME[c]}的发送条数；不填则不向${CARRIER_NAME[c]}号码发送` });
const quotasDoc = (base?: { shape: QuotaShape }) =>
  z.object({ cmcc: quotaDoc('cmcc', base), cucc: quotaDoc('cucc', base), ctcc: quotaDoc('ctcc', base) });
const RULES_DOC =
  '人群筛选规则（最多 50 条）：attribute 为 gender（values m/f）、age（min–max 岁，0–120）、home（归属地区划代码 codes，按层级匹配）、' +
  'locality（local 本地 / roaming 外地）或 carrier（values）；action keep 保留或 exclude 排除。符合全部 keep 且不符合任何 exclude 的人才发送；空为不筛选';
const EDGE_BUFFER_DOC = '多边形、矩形和行政区域向外扩展的米数（0–5,000），落在扩展带内的基站小区也算区域内；默认 0，按基站位置精确判断';

export const ReachBody = z
  .object({
    region: z
      .object({
        parts: z.array(RegionPart).openapi({ description: `区域为各部分的并集。${ACCEPTED_PARTS_MESSAGE}` }),
        edgeBufferM: Region.shape.edgeBufferM.meta({ description: EDGE_BUFFER_DOC, example: 0 }),
      })
      .openapi({ description: '要估算的区域（同任务表单的 region）' }),
    rules: z
      .array(CrowdRule)
      .default([])
      .openapi({ description: RULES_DOC, example: [{ attribute: 'age', action: 'keep', min: 18, max: 80 }] }),
    quota: quotasDoc()
      .default({})
      .openapi({
        description: '各运营商的发送条数（可省略）：给出时“今日可发送”按日上限与已发送扣减，未给的运营商今日可发送为 0',
        example: { cmcc: { total: 100000, dailyCap: 50000 } },
      }),
  })
  .openapi('BigdataReachRequest');
export const Released = z
  .object({
    value: z.number().int().nullable().openapi({ description: '人数（k 的整数倍）；不显示时为 null', example: 120 }),
    suppressed: z.boolean().openapi({ description: '是否因少于 k 而不显示', example: false }),
  })
  .openapi('BigdataReleasedCount', { description: '人数：k 的整数倍；合计少于 k（含 0）时不显示（value 为 null，界面显示“< k”）' });
const ReleasedPerCarrier = z.object({ cmcc: Released, cucc: Released, ctcc: Released });

/** Where a task's recipients were when messaged (`GET /api/bigdata/tasks/{id}/reached`), as H3 cells. */
export const ReachedMap = z
  .object({
    at: z.string().openapi({ description: '统计时刻（ISO 8601，UTC）', example: '2026-12-07T03:00:00.000Z' }),
    k: z
      .number()
      .int()
      .openapi({ description: '隐私阈值 k：每个（基站小区，运营商）人数按 k 人取整，格内合计少于 k 时不显示', example: 10 }),
    resolution: z.number().int().openapi({ description: '按 zoom 参数选用的 H3 分辨率（5–9，放大越多越细）', example: 8 }),
    cells: z
      .array(z.object({ h3: z.string().openapi({ description: 'H3 格子编号', example: '8830e1d8b7fffff' }), count: Released }))
      .openapi({ description: '有已触达人员的格子：发送时他们所在基站小区的位置落在格内' }),
  })
  .openapi('BigdataReachedMap');
export const Reach = z
  .object({
    instances: z.number().int().openapi({ description: '作答的预警服务实例数（0 表示没有实例在运行）' }),
    k: z.number().int().openapi({ description: '隐私阈值：每个（基站小区，运营商）人数按 k 人取整（少于 k 计 0），合计少于 k 时不显示' }),
    present: ReleasedPerCarrier.openapi({ description: '区域内当前人数' }),
    passing: ReleasedPerCarrier.openapi({ description: '符合筛选规则' }),
    allowedToday: ReleasedPerCarrier.openapi({ description: '今日可发送（扣除上限与已发送）' }),
    total: z.object({ present: Released, passing: Released, allowedToday: Released }).openapi({ description: '三网合计' }),
    errors: z.array(z.string()).openapi({ description: '未能作答的实例的错误说明；空为全部作答', example: [] }),
    at: z.string().openapi({ description: '估算时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
  })
  .openapi('BigdataReach');

export const Letter = z
  .object({
    id: z
      .string()
      .openapi({ description: '授权函编号，提交任务时填入 authorizationLetter', example: 'l1a2b3c4-0000-4000-8000-000000000001' }),
    name: z.string().openapi({ description: '文件名', example: '授权函.pdf' }),
    size: z.number().int().openapi({ description: '文件大小（字节）', example: 204800 }),
    contentType: z.string().openapi({ description: '文件类型', example: 'application/pdf' }),
  })
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

/**
 * The task form's fields, described for the API document: the same schemas the handler checks
 * (`task-form.ts`), each with what it means, its unit and range, and what the server does with it.
 */
function formFieldDocs() {
  const f = TaskForm.shape;
  return {
    alertType: f.alertType.openapi({
      description: '预警类型代码（GET /api/bigdata/options 的 alertTypes），决定参考内容与先发后审资格',
      example: 'typhoon',
    }),
    subject: f.subject.openapi({ description: '发送主题（1–100 字），便于查询，不发给收信人', example: '台风“海葵”防御提醒' }),
    content: f.content.openapi({
      description: '短信内容（1–2,000 字，不含签名）；超过一条的长度按运营商拆分计费（70/67 字一条）',
      example: '台风“海葵”预计今夜登陆，请减少外出。',
    }),
    signature: f.signature.openapi({
      description: '已审核通过的签名，与 GET /api/bigdata/options 的 signatures[].text 一致；发出时加在内容前',
      example: '【杭州应急】',
    }),
    startDate: f.startDate.openapi({ description: '开始日期（上海时区，YYYY-MM-DD），不早于今天', example: '2026-12-07' }),
    endDate: f.endDate.openapi({
      description: `结束日期（上海时区，YYYY-MM-DD），不早于开始日期，任务最长 ${MAX_TASK_DAYS} 天；当天结束后任务停止`,
      example: '2026-12-08',
    }),
    windows: z
      .array(
        z.object({
          start: f.windows.unwrap().element.shape.start.openapi({ description: '时段开始（HH:MM，上海时区）', example: '07:00' }),
          end: f.windows.unwrap().element.shape.end.openapi({ description: '时段结束（HH:MM，可为 24:00），须晚于开始', example: '22:00' }),
        }),
      )
      .max(24)
      .default([])
      .openapi({ description: '每日发送时段（最多 24 个）；时段外进入区域的人不发送，空为全天' }),
    frequency: f.frequency.openapi({ description: 'once 每人只发一次；daily 每人每天最多一次', example: 'once' }),
    minDwellMin: f.minDwellMin.openapi({
      description: '区域内最短驻留分钟数（0–10,080）：连续在区域内满这么久才发送；0 为进入即发',
      example: 10,
    }),
    rules: f.rules.openapi({ description: RULES_DOC, example: [{ attribute: 'age', action: 'keep', min: 18, max: 80 }] }),
    quota: quotasDoc(f.quota.shape.cmcc.unwrap()).openapi({
      description: '各运营商的发送总条数与日上限，至少一个运营商；提交时按计费条数从余量中预留，结束时按实发扣减',
      example: { cmcc: { total: 100000, dailyCap: 50000 } },
    }),
    authorizationLetter: f.authorizationLetter.openapi({
      description: '授权函编号（POST /api/bigdata/letters 返回的 id），提交时必填；本企业上传的才有效',
      example: '0b9f3f0e-2f4a-4c55-9b7e-7f6d2b1f0c11',
    }),
    texts: z
      .array(
        z.object({
          language: TaskText.shape.language.openapi({
            description: '语言标签（BCP 47，如 en-US）；en 开头的文本发给号码画像语言不是中文的人',
            example: 'en-US',
          }),
          subject: TaskText.shape.subject.openapi({ description: '该语言的主题（≤ 200 字，可省略）', example: 'Typhoon warning' }),
          content: TaskText.shape.content.openapi({
            description: '该语言的短信内容（≤ 2,000 字）',
            example: 'Typhoon Haikui lands tonight: stay indoors.',
          }),
        }),
      )
      .max(10)
      .optional()
      .openapi({ description: '其他语言的文本（最多 10 种）；英文发给外籍漫入人员，其他语言仅随 CAP 导出' }),
    cap: capOriginDoc(),
    exercise: f.exercise.openapi({
      description: '演练：照常触达与回执，每条短信前加“【演练】”（英文文本前加“[EXERCISE] ”）并计入字数，不预留、不扣减余量；默认 false',
      example: false,
    }),
  };
}

/** Where a task imported from CAP 1.2 came from (read only: set by POST /api/bigdata/cap). */
function capOriginDoc() {
  const c = CapOrigin.shape;
  return z
    .object({
      sender: c.sender.openapi({ description: 'CAP 的 sender：发布机构标识', example: 'hz-ema@zj.gov.cn' }),
      identifier: c.identifier.openapi({ description: 'CAP 的 identifier：该机构内预警编号', example: 'ZJ-2026-0731-001' }),
      sent: c.sent.openapi({ description: 'CAP 的 sent：发布时间（带时区的 ISO 8601）', example: '2026-07-31T08:00:00+08:00' }),
      refs: c.refs.openapi({ description: '本预警及其后每次更新（Update）的引用“sender,identifier,sent”，最多 200 条' }),
      status: c.status.openapi({ description: 'CAP 的 status：Actual 实际；Exercise / Test 为演练', example: 'Actual' }),
      scope: c.scope.openapi({ description: 'CAP 的 scope：Public 公开等', example: 'Public' }),
      infos: c.infos.openapi({
        description: 'CAP 的各 info 块（每种语言一块，最多 20 个）：事件、紧急程度、严重程度、标题、描述、指引等，导出时原样写回',
      }),
    })
    .optional()
    .openapi({ description: '从 CAP 1.2 导入时的来源（由 POST /api/bigdata/cap 填写，用于 CAP 更新与导出；自行提交表单时不填）' });
}

/** The task form, fully typed for integrators (the same fields the handler checks, with the region's accepted shapes). */
export const TaskFormDoc = TaskForm.extend({
  region: z
    .object({
      parts: z.array(RegionPartDoc).max(100).openapi({ description: '区域为各部分的并集（最多 100 个）' }),
      edgeBufferM: z.number().min(0).max(5000).default(0).openapi({ description: EDGE_BUFFER_DOC }),
    })
    .openapi({ description: '发送区域' }),
  ...formFieldDocs(),
}).openapi('BigdataTaskForm', {
  description:
    '任务表单。alertType 预警类型；region 区域；subject 发送主题；content 短信内容；signature 已审核的签名；' +
    'startDate / endDate 上海时区日期（YYYY-MM-DD，最长任务天数见 MAX_TASK_DAYS）；windows 每日发送时段（空为全天）；' +
    'frequency once（每人一次）或 daily（每天一次）；minDwellMin 区域内最短驻留分钟数；rules 人群筛选规则；' +
    'quota 各运营商发送总条数与日上限（至少一个）；authorizationLetter 授权函编号（POST /api/bigdata/letters 的 id）；' +
    'texts 其他语言的文本（language 如 en-US、content）：英文文本发给号码画像语言不是中文的人（外籍漫入人员），其余人收中文 content；' +
    '预留余量按计费条数较多的语言计（每种语言的条数按短信编码分别计算；签名的【】使英文短信同样按 UCS-2 计，70/67 字一条）；' +
    '其他语言（如 CAP 的 ja-JP）仅随 CAP 导出；cap 从 CAP 1.2 导入时的来源（只读）；' +
    'exercise 演练：照常触达、筛选、限额、进度与回执，每条短信前加“【演练】”（英文文本前加“[EXERCISE] ”；计入字数与计费条数），' +
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
    id: z.string().openapi({ description: '新任务的编号', example: 't1a2b3c4-0000-4000-8000-000000000001' }),
    state: z.enum(TASK_ROW_STATES).openapi({ description: 'pending_approval：待审批（企业开启审批时）' }),
    approval: z
      .enum(APPROVAL_STATES)
      .openapi({ description: '审批状态：none 无需审批，pending 待审批，fast_path 先发后审', example: 'none' }),
  })
  .openapi('BigdataSubmitted');
export const IdOnly = z.object({ id: z.string().openapi({ description: '编号', example: 't1a2b3c4-0000-4000-8000-000000000001' }) });

const CarrierProgress = z.object({
  sent: z.number().openapi({ description: '已发送条数', example: 1200 }),
  delivered: z.number().openapi({ description: '已送达条数（回执）', example: 1150 }),
  failed: z.number().openapi({ description: '失败条数（回执）', example: 12 }),
});
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
    state: z.enum(TASK_ROW_STATES).nullable().openapi({ description: '告警服务报告的任务状态', example: 'running' }),
    at: z.number().nullable().openapi({ description: '进度的时间（毫秒时间戳）', example: 1772352000000 }),
    matched: z.number().openapi({
      description: '匹配人数（在区域内且符合规则的人），按 k 人取整（少于 k 人为 0，表示“少于 k 人”）：未发送的人不公布精确人数',
      example: 2360,
    }),
    carriers: z
      .object({
        cmcc: CarrierProgress.openapi({ description: '移动' }),
        cucc: CarrierProgress.openapi({ description: '联通' }),
        ctcc: CarrierProgress.openapi({ description: '电信' }),
      })
      .openapi({ description: '各运营商的发送、送达、失败条数' }),
    skipped: z.record(z.string(), z.number()).openapi({
      description: '未发送的人数，按原因（daily_cap 日上限、balance 余量、window 时段、rule 规则等），按 k 人取整；少于 k 人的原因不列出',
      example: { daily_cap: 10 },
    }),
    receiptsSince: z.number().openapi({ description: '回执从此时起计（门户开始接收的时间，毫秒时间戳）', example: 1772352000000 }),
    k: z.number().int().optional().openapi({ description: '隐私阈值 k：matched 与 skipped 按 k 人取整', example: 10 }),
    queue: z
      .object({
        cmcc: CarrierQueue.openapi({ description: '移动的发送队列' }),
        cucc: CarrierQueue.openapi({ description: '联通的发送队列' }),
        ctcc: CarrierQueue.openapi({ description: '电信的发送队列' }),
      })
      .nullable()
      .optional()
      .openapi({ description: '各运营商的发送队列与预计完成时间（读取发送记录之前为 null）' }),
  })
  .openapi('BigdataProgress');

export const TaskSummary = z
  .object({
    id: z.string().openapi({ description: '任务编号', example: 't1a2b3c4-0000-4000-8000-000000000001' }),
    subject: z.string().openapi({ description: '发送主题（仅用于查询，不发送）', example: '台风“海葵”防御提醒' }),
    alertType: z.string().openapi({ description: '预警类型代码', example: 'typhoon' }),
    alertTypeLabel: z.string().openapi({ description: '预警类型名称', example: '台风' }),
    state: z.enum(TASK_ROW_STATES).openapi({
      description:
        '状态：draft 草稿，pending_approval 待审批，submitted 已提交，scheduled 待执行，running 执行中，paused 已暂停，completed 已完成，stopped 已停止，rejected 已驳回',
      example: 'running',
    }),
    stateLabel: z.string().openapi({ description: '状态的中文名', example: '执行中' }),
    startDate: z.string().nullable().openapi({ description: '开始日期（YYYY-MM-DD，北京时间）；草稿未填为 null', example: '2026-12-07' }),
    endDate: z.string().nullable().openapi({ description: '结束日期（YYYY-MM-DD，北京时间）；草稿未填为 null', example: '2026-12-08' }),
    accountName: z.string().openapi({ description: '提交人（姓名或账户名）', example: '张三' }),
    reason: z.string().openapi({ description: '停止或失败的原因，无为空串', example: '' }),
    createdAt: z.string().nullable().openapi({ description: '创建时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
    submittedAt: z.string().nullable().openapi({ description: '提交时间（ISO 8601）；草稿为 null', example: '2026-03-01T08:00:00.000Z' }),
    updatedAt: z.string().nullable().openapi({ description: '最后修改时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
    progress: ProgressView.nullable().openapi({ description: '实时进度；未开始或告警服务未作答时为 null' }),
    sent: z.number().nullable().optional().openapi({ description: '已发送人数（同一号码只计一次；尚无数据时为 null）' }),
    approval: z.enum(APPROVAL_STATES).openapi({
      description: '审批：none 无需审批；pending 待审批；fast_path 紧急先发后审、待补审；approved 已审批；rejected 已驳回',
    }),
    approvalLabel: z.string().openapi({ description: '审批状态的中文名', example: '无需审批' }),
    fastPath: z.boolean().openapi({ description: '紧急先发后审（立即发送、事后审批）' }),
    exercise: z
      .boolean()
      .openapi({ description: '演练任务：每条短信以“【演练】”开头（英文文本以“[EXERCISE] ”开头），不计费（不预留、不扣减短信余量）' }),
    approvedBy: z.string().nullable().openapi({ description: '审批人（审批或驳回后）' }),
    approvedAt: z.string().nullable().openapi({ description: '审批或驳回时间（ISO 8601），未审批为 null' }),
    approvalReason: z.string().openapi({ description: '驳回原因' }),
    canApprove: z.boolean().optional().openapi({ description: '当前账户可审批（有审批权限且不是提交人）' }),
  })
  .openapi('BigdataTask');
export const TaskPage = z
  .object({
    total: z.number().int().openapi({ description: '符合条件的任务总数', example: 19 }),
    page: z.number().int().openapi({ description: '页码', example: 1 }),
    pageSize: z.number().int().openapi({ description: '每页条数', example: 10 }),
    items: z.array(TaskSummary).openapi({ description: '本页的任务，新的在前' }),
  })
  .openapi('BigdataTaskPage');
export const TaskDetail = TaskSummary.extend({
  /** The form in force (after an update while running, the updated one). */
  form: TaskFormDoc,
  spec: z.record(z.string(), z.unknown()).nullable().openapi({ description: '交给告警服务的任务规格（区域已展开）；未提交为 null' }),
  version: z.number().int().nullable().openapi({ description: '任务版本（每次修改加 1；不在执行中时为 null）' }),
  copiedFrom: z.string().nullable().openapi({ description: '再次发送时的原任务编号，否则为 null', example: null }),
}).openapi('BigdataTaskDetail');
export const DraftDetail = TaskSummary.extend({
  form: z.record(z.string(), z.unknown()).openapi({ description: '保存时的发送页表单（任意填写程度）' }),
}).openapi('BigdataDraftDetail');
export const Transitioned = z
  .object({
    id: z.string().openapi({ description: '任务编号', example: 't1a2b3c4-0000-4000-8000-000000000001' }),
    state: z.enum(TASK_ROW_STATES).openapi({ description: '新的状态', example: 'paused' }),
    stateLabel: z.string().openapi({ description: '新状态的中文名', example: '已暂停' }),
  })
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
