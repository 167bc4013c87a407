import {
  ALERT_TYPES,
  AlertTaskSpec,
  AlertTaskSpecShape,
  CrowdRule,
  MAX_TASK_DAYS,
  regionIssues,
  RegionPart,
  Ring,
  installIngestAdminAreas,
  smsContent,
  exercisePrefix,
  type RegionIssueReason,
} from '@geo/alerting';
import { normalizeAnswer } from '@geo/messaging';
import { z } from '../../http/openapi.ts';
import { HysteresisForm } from './hysteresis-form.ts';
import { taskCost } from '../ledger/reservations.ts';
import { areaByCode, withActiveBoundaries } from './geography.ts';
import { promptedTexts } from './checkins/prompt.ts';
import { specContents } from './languages/task-texts.ts';
import { costedSpec } from './task-store.ts';

/** Chinese messages for the region validator's stable reasons (its own messages are English). */
export const REGION_REASONS: Record<RegionIssueReason, string> = {
  empty: '区域为空：请添加行政区域或在地图上圈选',
  too_many_parts: '区域最多由 100 个部分组成',
  too_few_vertices: '图形的顶点太少',
  too_many_vertices: '图形的顶点太多（最多 10000 个）',
  out_of_range: '坐标超出经纬度范围',
  crosses_antimeridian: '图形跨越了 180° 经线，请在该处分成两个图形',
  self_intersection: '多边形的边相互交叉，请重新绘制',
  zero_area: '图形的面积为零',
  hole_outside: '多边形的洞在外环之外',
  radius_not_positive: '圆的半径必须大于 0',
  radius_too_large: '圆的半径最大 1000 公里',
  buffer_not_positive: '折线的缓冲宽度必须大于 0 米',
  buffer_too_large: '折线的缓冲宽度最大 50 公里',
  degenerate_rectangle: '矩形的宽或高为零',
  admin_geometry_missing: '该行政区域暂无边界数据，请改选上级区域或在地图上圈选',
};

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const Quota = z.object({
  total: z.number({ error: '请填写发送总条数' }).int('须为整数').positive('须大于 0'),
  dailyCap: z.number({ error: '请填写日下发上限' }).int('须为整数').positive('须大于 0'),
});

/** GeoJSON geometries an integrator may send as region parts (RFC 7946: [longitude, latitude], outer ring then holes). */
export const GeoJsonPolygon = z
  .object({ type: z.literal('Polygon'), coordinates: z.array(Ring) })
  .openapi('GeoJsonPolygon', { description: 'GeoJSON Polygon：第一个环为外环，其后为洞（内环）；坐标为 [经度, 纬度]' });
export const GeoJsonMultiPolygon = z
  .object({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(Ring)) })
  .openapi('GeoJsonMultiPolygon', { description: 'GeoJSON MultiPolygon：多个多边形，每个可带洞' });
export const GeoJsonFeature = z
  .object({
    type: z.literal('Feature'),
    geometry: z.discriminatedUnion('type', [GeoJsonPolygon, GeoJsonMultiPolygon]),
    properties: z.record(z.string(), z.unknown()).nullable().optional(),
  })
  .openapi('GeoJsonFeature', { description: 'GeoJSON Feature，几何为 Polygon 或 MultiPolygon（properties 不使用）' });
const GeoJsonPart = z.discriminatedUnion('type', [GeoJsonPolygon, GeoJsonMultiPolygon, GeoJsonFeature]);

const PART_KINDS = ['admin', 'polygon', 'multipolygon', 'rectangle', 'circle', 'polyline'];
const GEOJSON_TYPES = ['Polygon', 'MultiPolygon', 'Feature'];
/** The answer to a region part of no known kind: what is accepted, instead of “无效输入”. */
export const ACCEPTED_PARTS_MESSAGE =
  '区域的每个部分须为以下之一：控制台图形 kind = admin（行政区域代码）、polygon（可带洞）、multipolygon、rectangle、circle、polyline，' +
  '或 GeoJSON type = Polygon（可带洞）、MultiPolygon、Feature（几何为前两者）';

/** A GeoJSON geometry as the console's own shape (alerting takes polygons with holes and multipolygons as they are). */
function fromGeoJson(g: z.infer<typeof GeoJsonPart>): RegionPart {
  const geom = g.type === 'Feature' ? g.geometry : g;
  return geom.type === 'Polygon' ? { kind: 'polygon', rings: geom.coordinates } : { kind: 'multipolygon', polygons: geom.coordinates };
}

/**
 * One part of a submitted region: a console shape (alerting's {@link RegionPart}) or a GeoJSON
 * Polygon / MultiPolygon / Feature, which becomes a `polygon` / `multipolygon` part. A part of
 * neither form is answered with {@link ACCEPTED_PARTS_MESSAGE}; a known kind with bad fields keeps
 * the field's own message and path.
 */
export const FormRegionPart = z.unknown().transform((v, ctx): RegionPart => {
  const o = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const geo = o && typeof o.type === 'string' && GEOJSON_TYPES.includes(o.type) && o.kind === undefined;
  if (!o || (!geo && !(typeof o.kind === 'string' && PART_KINDS.includes(o.kind)))) {
    ctx.addIssue({ code: 'custom', message: ACCEPTED_PARTS_MESSAGE, input: v });
    return z.NEVER;
  }
  const r = geo ? GeoJsonPart.safeParse(o) : RegionPart.safeParse(o);
  if (!r.success) {
    for (const i of r.error.issues) ctx.addIssue({ ...i, code: 'custom', message: i.message, path: i.path, input: v } as never);
    return z.NEVER;
  }
  return 'kind' in r.data ? r.data : fromGeoJson(r.data);
});

/** The region of the form: the union of its parts. */
export const FormRegion = z.object(
  {
    parts: z.array(FormRegionPart, { error: '区域须为 { parts: [...] }：parts 为区域各部分的数组' }).max(100, '区域最多由 100 个部分组成'),
    edgeBufferM: z.number().min(0).max(5000).default(0),
  },
  { error: '请选择区域：{ parts: [...] }，' + ACCEPTED_PARTS_MESSAGE },
);

/**
 * A text of the task in another language (a CAP alert's other `info` blocks, or typed in the
 * console): an English one (en, en-US …) is sent to people whose profile names another language
 * than Chinese (roaming-in foreigners); others are kept for the CAP export.
 */
export const TaskText = z.object({
  language: z.string().min(1).max(35).openapi({ example: 'en-US' }),
  subject: z.string().max(200).optional(),
  content: z.string().max(2000),
});

/** Where a task imported from CAP came from: its identity, the references it answers to, its info blocks. */
export const CapOrigin = z.object({
  sender: z.string().max(200),
  identifier: z.string().max(200),
  sent: z.string().max(40),
  /** "sender,identifier,sent" of this alert and of every Update applied to the task. */
  refs: z.array(z.string().max(500)).max(200),
  status: z.string().max(20),
  scope: z.string().max(20),
  infos: z
    .array(
      z.object({
        language: z.string().max(35),
        category: z.array(z.string().max(20)).max(12),
        event: z.string().max(500),
        responseType: z.array(z.string().max(20)).max(9),
        urgency: z.string().max(20),
        severity: z.string().max(20),
        certainty: z.string().max(20),
        senderName: z.string().max(500).optional(),
        headline: z.string().max(500).optional(),
        description: z.string().max(4000).optional(),
        instruction: z.string().max(4000).optional(),
        web: z.string().max(2000).optional(),
        contact: z.string().max(500).optional(),
      }),
    )
    .max(20),
});
export type CapOrigin = z.infer<typeof CapOrigin>;

/** One answer a check-in offers (回复 1 表示安全). */
export const CheckInOptionForm = z.object({
  code: z
    .string({ error: '请填写回复代码' })
    .trim()
    .regex(/^[0-9A-Za-z]{1,4}$/, '回复代码为 1–4 位数字或字母')
    .openapi({ description: '回复代码：收信人回复的内容（全角数字、“1.”、“回复1”等写法同样识别）', example: '1' }),
  label: z
    .string({ error: '请填写含义' })
    .trim()
    .min(1, '请填写含义')
    .max(20, '含义最多 20 字')
    .openapi({ description: '含义，如“安全”；回复含义本身也识别', example: '安全' }),
  help: z.boolean().optional().openapi({ description: '求助选项：选此项的人列入求助名单（有任务权限的账户可见）', example: false }),
  labelEn: z
    .string()
    .trim()
    .min(1, '请填写英文含义，或不填此项')
    .max(40, '英文含义最多 40 个字符')
    .regex(/^[A-Za-z0-9 ,.'/-]+$/, "英文含义只能包含英文字母、数字、空格和 , . ' / -")
    .optional()
    .openapi({
      description:
        '英文含义：英文短信的回复提示里这样说明此选项（以 if / for / when 开头的照写，如 “if trapped” → “Reply 3 if trapped”；其他写作 “for …”）。不填时常用含义（安全、需要帮助、已撤离等）自动翻译，其他写作 “for option 3”',
      example: 'if trapped',
    }),
});

/**
 * Reply check-in (#21): the alert asks for answers (回复1表示安全，回复2表示需要帮助). The task gets its
 * own reply extension, so its SMS go out from access number + extension; each answer is matched to the
 * task and the replying number and counted per answer and area.
 */
export const CheckInForm = z
  .object({
    options: z
      .array(CheckInOptionForm, { error: '请填写回复选项' })
      .min(2, '至少两个回复选项')
      .max(9, '最多 9 个回复选项')
      .openapi({ description: '回复选项（2–9 个），代码互不相同' }),
  })
  .superRefine((v, ctx) => {
    const seen = new Set<string>();
    v.options.forEach((o, i) => {
      const code = normalizeAnswer(o.code);
      if (seen.has(code)) ctx.addIssue({ code: 'custom', path: ['options', i, 'code'], message: `回复代码 ${o.code} 重复` });
      seen.add(code);
    });
  })
  .openapi('BigdataCheckIn', {
    description: '回复报平安：短信请收信人回复代码（如“回复1表示安全，回复2表示需要帮助”），按回复统计人数与区域，列出求助的人',
    example: {
      options: [
        { code: '1', label: '安全' },
        { code: '2', label: '需要帮助', help: true },
      ],
    },
  });
export type CheckInForm = z.infer<typeof CheckInForm>;

/** The send form (发短信) as the page submits it; every message is one a person reads beside the field. */
export const TaskForm = z.object({
  alertType: z.enum(ALERT_TYPES, { error: '请选择预警类型' }),
  region: FormRegion,
  subject: z.string().trim().min(1, '请填写发送主题').max(100, '发送主题最多 100 字'),
  content: z.string().trim().min(1, '请填写发送内容').max(2000, '发送内容最多 2000 字'),
  signature: z.string().min(1, '请选择签名').max(20),
  /**
   * The English SMS's signature (an approved one in Latin letters, e.g. "Hangzhou EMA"): English
   * texts are sent to visitors signed [Hangzhou EMA], one GSM-7 SMS of 160 letters; without it they
   * carry the Chinese signature in 【】 and are UCS-2 (67 characters a part).
   */
  signatureEn: z
    .string()
    .max(20)
    .regex(/^[A-Za-z0-9 .,'&()/-]+$/, '英文签名只能包含英文字母、数字和空格')
    .optional()
    .describe('英文短信的签名（已审核通过、仅英文字母）：英文内容以 [签名] 发出，为 GSM-7 编码；不填则用中文签名，按 UCS-2 计费'),
  startDate: z.string().regex(DATE, '请选择开始日期'),
  endDate: z.string().regex(DATE, '请选择结束日期'),
  windows: z
    .array(z.object({ start: z.string().regex(HHMM, '时间格式为 HH:MM'), end: z.string().regex(HHMM, '时间格式为 HH:MM') }))
    .max(24)
    .default([]),
  frequency: z.enum(['once', 'daily'], { error: '请选择发送频率' }),
  minDwellMin: z
    .number()
    .int('须为整数')
    .min(0, '不能为负')
    .max(7 * 24 * 60, '最长 7 天')
    .default(0),
  rules: z.array(CrowdRule).max(50).default([]),
  quota: z.object({ cmcc: Quota.optional(), cucc: Quota.optional(), ctcc: Quota.optional() }),
  authorizationLetter: z.string().max(64).optional(),
  /** Texts in other languages (from a CAP alert's other info blocks). */
  texts: z.array(TaskText).max(10).optional(),
  /** Set when the task came from a CAP 1.2 alert. */
  cap: CapOrigin.optional(),
  /**
   * An exercise (演练): sent like a real alert, every SMS beginning with 【演练】 ([EXERCISE] in
   * English), never charged (nothing is reserved or taken from the balance). From CAP: status
   * Exercise or Test.
   */
  exercise: z.boolean({ error: '演练须为 true 或 false' }).optional(),
  /** Reply check-in (回复报平安): the answers the alert asks for. */
  checkIn: CheckInForm.optional(),
  /** Edge hysteresis (边缘防抖): a person jittering across the region's edge is not a new entry each time. */
  hysteresis: HysteresisForm.optional(),
});
export type TaskForm = z.infer<typeof TaskForm>;

export interface FieldIssue {
  path: string;
  message: string;
}

let resolverSet = false;
/** Admin parts carry only their code: the validator resolves boundaries from ingest's geography. */
export function useIngestGeography(): void {
  if (resolverSet) return;
  installIngestAdminAreas();
  resolverSet = true;
}

/**
 * Every problem of a parsed form that a schema cannot see: dates, windows, budgets against the
 * balance, and the region (alerting's validator, its reasons in Chinese).
 */
export function formIssues(f: TaskForm, balance: number, today: string): FieldIssue[] {
  const out = regionAndRuleIssues(f.region, f.rules);
  if (f.startDate < today) out.push({ path: 'startDate', message: '开始日期不能早于今天' });
  if (f.endDate < f.startDate) out.push({ path: 'endDate', message: '结束日期不能早于开始日期' });
  else if ((Date.parse(f.endDate) - Date.parse(f.startDate)) / 86_400_000 >= MAX_TASK_DAYS)
    out.push({ path: 'endDate', message: `任务最长 ${MAX_TASK_DAYS} 天` });
  f.windows.forEach((w, i) => {
    if (w.end <= w.start) out.push({ path: `windows.${i}`, message: `时段 ${w.start}–${w.end} 的结束时间须晚于开始时间` });
  });
  let sum = 0;
  let any = false;
  for (const c of ['cmcc', 'cucc', 'ctcc'] as const) {
    const q = f.quota[c];
    if (!q) continue;
    any = true;
    sum += q.total;
    if (q.dailyCap > q.total) out.push({ path: `quota.${c}.dailyCap`, message: '日下发上限不能大于发送总条数' });
  }
  if (!any) out.push({ path: 'quota', message: '请至少为一个运营商设置发送条数' });
  // The exercise prefix of each language (【演练】, [EXERCISE] in English) is part of every SMS of an
  // exercise: the form's limit and the segments count it.
  if (f.exercise && smsContent(f).length > 2000)
    out.push({ path: 'content', message: `演练的发送内容连同“${exercisePrefix('zh')}”最多 2000 字` });
  f.texts?.forEach((t, i) => {
    if (
      /^en\b/i.test(t.language) &&
      f.exercise &&
      smsContent({ content: t.content, contents: { en: t.content }, exercise: true }, 'en').length > 2000
    )
      out.push({ path: `texts.${i}.content`, message: `演练的英文内容连同“${exercisePrefix('en').trim()}”最多 2000 字` });
  });
  // The ledger charges billing units: a message of two segments takes two from the balance. The form
  // is costed as the reservation will be (insertTask: costedSpec of the prompted spec): each
  // language's SMS with its own signature, exercise prefix and check-in prompt, the costliest
  // reserved. An exercise is never charged, but may be no larger than the balance would allow a
  // real alert.
  const prompted = promptedTexts(
    {
      signature: f.signature,
      content: f.content,
      contents: specContents(f),
      signatures: f.signatureEn ? { en: f.signatureEn } : undefined,
      exercise: f.exercise,
      quota: f.quota,
    },
    f.checkIn?.options,
  );
  out.push(...prompted.issues);
  const { perMessage, units } = taskCost(costedSpec(prompted.spec));
  if (f.signatureEn && !specContents(f)) out.push({ path: 'signatureEn', message: '没有英文内容时无需英文签名' });
  if (units > balance)
    out.push({
      path: 'quota',
      message:
        perMessage > 1
          ? `三网发送总条数 ${sum}（每条计费 ${perMessage} 条，共 ${units} 条）超过可用短信余量 ${balance}`
          : `三网发送总条数 ${sum} 超过可用短信余量 ${balance}`,
    });
  return out;
}

/**
 * What submission says about a region and its rules alone (a self-crossing polygon, an empty
 * region, an unknown area, an age range ending before it starts): part of {@link formIssues}, and
 * the reach estimate's check, so that the two never disagree about a region. Paths as in the form.
 */
export function regionAndRuleIssues(region: TaskForm['region'], rules: readonly TaskForm['rules'][number][]): FieldIssue[] {
  useIngestGeography();
  const out: FieldIssue[] = [];
  for (const i of regionIssues(region)) {
    if (isAdminGeometryIssue({ region }, i.path)) continue;
    out.push({ path: ['region', ...i.path].join('.'), message: REGION_REASONS[i.reason] ?? i.message });
  }
  region.parts.forEach((p, i) => {
    if (p.kind !== 'admin') return;
    const a = areaByCode(p.code);
    if (!a) out.push({ path: `region.parts.${i}.code`, message: `未知的行政区域代码 ${p.code}` });
    else if (!a.geometry) out.push({ path: `region.parts.${i}.code`, message: `${a.name}${REGION_REASONS.admin_geometry_missing}` });
  });
  rules.forEach((r, i) => {
    if (r.attribute === 'age' && r.max < r.min) out.push({ path: `rules.${i}.max`, message: '年龄上限不能小于下限' });
  });
  return out;
}

/**
 * True for a problem inside an administrative area's own boundary. Those outlines are the
 * project's reference data (ingest's), not the operator's input: an operator cannot fix them, so
 * they are not held against the form. (93 of Zhejiang's 102 source outlines touch or cross
 * themselves at quantised vertices and fail the validator's self-intersection test.)
 */
function isAdminGeometryIssue(f: { region: { parts: { kind: string }[] } }, path: (string | number)[]): boolean {
  const at = path[0] === 'region' ? path.slice(1) : path;
  return at[0] === 'parts' && f.region.parts[at[1] as number]?.kind === 'admin' && at[2] === 'geometry';
}

/**
 * The spec for the KV bucket; alerting's own schema has the last word, except on the reference
 * outlines of administrative areas (see {@link isAdminGeometryIssue}).
 */
export function toSpec(
  f: TaskForm,
  /** `replyExtension`: a check-in task's extension, given by the portal (never from the form); keep it on updates. */
  who: { accountId: string; enterpriseId: string; balance: number; replyExtension?: string },
): { success: true; data: AlertTaskSpec } | { success: false; error: z.ZodError } {
  useIngestGeography();
  // The English text (a form's texts) goes to alerting as contents.en, sent to roaming-in foreigners.
  const contents = specContents(f);
  const { checkIn: _checkIn, signatureEn, ...form } = f;
  const spec = {
    ...form,
    // Areas an operator loaded boundaries for go with their outline: alerting and a replay test exactly it (boundaries/README.md).
    region: withActiveBoundaries(form.region).region,
    ...(contents ? { contents } : {}),
    ...(contents && signatureEn ? { signatures: { en: signatureEn } } : {}),
    ...(who.replyExtension ? { replyExtension: who.replyExtension } : {}),
    balance: who.balance,
    accountId: who.accountId,
    enterpriseId: who.enterpriseId,
  };
  const r = AlertTaskSpec.safeParse(spec);
  if (r.success) return r;
  const rest = r.error.issues.filter((i) => !isAdminGeometryIssue(f, i.path as (string | number)[]));
  if (rest.length) return { success: false, error: new z.ZodError(rest) };
  const shape = AlertTaskSpecShape.safeParse(spec);
  return shape.success ? { success: true, data: shape.data as AlertTaskSpec } : shape;
}
