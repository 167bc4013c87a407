import { z } from 'zod';
import { Carrier, CARRIERS } from '@geo/ingest';
import { MAX_HYSTERESIS_BUFFER_M, MAX_HYSTERESIS_OUTSIDE_S } from '@geo/infra/basics';
import { regionIssues } from './geofence/validate-region.ts';

/** Carriers, re-exported for users of this contract (ingest owns them). */
export { CARRIERS, Carrier };

/**
 * Alerting's contracts: the big-data SMS task (a command alerting carries out, so alerting owns it),
 * its progress events and the reach-estimate request/reply.
 *
 * Why one file of ~450 lines: it is the task's schema as integrators and the portal read it (the
 * OpenAPI document is generated from it), one zod object whose parts refer to each other (region,
 * rules, windows, quotas, hysteresis, texts); split, a reader would chase one schema across files.
 *
 * Tasks travel through the KV bucket `alert_tasks` (key = task id, value = {@link AlertTask} JSON):
 * the portal (or `alerting/src/cli.ts`) writes them, every alerting instance watches the bucket, so
 * a restarted instance sees every active task at once. State changes go through
 * {@link canTransition}; writers use KV compare-and-swap so concurrent writers cannot lose a stop.
 */

export const ALERT_TYPES = ['typhoon', 'rainstorm', 'flood', 'fire', 'geological', 'earthquake', 'heat', 'cold', 'snow', 'other'] as const;
export const AlertType = z.enum(ALERT_TYPES);
export type AlertType = z.infer<typeof AlertType>;

const finite = z.number().refine(Number.isFinite, 'expected a finite number');
/** A WGS-84 position as GeoJSON orders it: [longitude, latitude]. */
export const LngLat = z.tuple([finite, finite]);
export type LngLat = z.infer<typeof LngLat>;
/** A linear ring: closed (first = last) or not; validation closes it. Outer ring first, then holes. */
export const Ring = z.array(LngLat);
export type Ring = z.infer<typeof Ring>;

export const GB_CODE = /^\d{6}$/;
const gbCode = z.string().regex(GB_CODE, 'expected a six-digit GB/T 2260 code');

/** GeoJSON geometry of an administrative area (the resolver's output, or supplied with the task). */
export const AreaGeometry = z.union([
  z.object({ type: z.literal('Polygon'), coordinates: z.array(Ring) }),
  z.object({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(Ring)) }),
]);
export type AreaGeometry = z.infer<typeof AreaGeometry>;

/**
 * One part of a region; a region is the union of its parts.
 * - `admin`: a province/city/district by GB/T 2260 code. Its geometry comes from the admin-area
 *   resolver (ingest's geography, later) or, until then, with the task itself.
 * - `polygon` (rings: outer then holes), `multipolygon`, `rectangle`, `circle` (centre + radius in
 *   metres), `polyline` (path + buffer width in metres on each side).
 */
export const RegionPart = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('admin'), code: gbCode, name: z.string().max(100).optional(), geometry: AreaGeometry.optional() }),
  z.object({ kind: z.literal('polygon'), rings: z.array(Ring) }),
  z.object({ kind: z.literal('multipolygon'), polygons: z.array(z.array(Ring)) }),
  z.object({ kind: z.literal('rectangle'), west: finite, south: finite, east: finite, north: finite }),
  z.object({ kind: z.literal('circle'), center: LngLat, radiusM: finite }),
  z.object({ kind: z.literal('polyline'), path: z.array(LngLat), bufferM: finite }),
]);
export type RegionPart = z.infer<typeof RegionPart>;

export const Region = z.object({
  parts: z.array(RegionPart),
  /**
   * Extra metres around polygons, rectangles and admin areas that still count as inside. Explicit and
   * 0 by default: the region test is exact on the serving cell's position (DESIGN.md, geo-targeting).
   * @default 0
   */
  edgeBufferM: z.number().min(0).max(5_000).default(0),
});
export type Region = z.infer<typeof Region>;
export type RegionInput = z.input<typeof Region>;

const ruleAction = z.enum(['keep', 'exclude']);
/**
 * Keep/exclude rules on crowd attributes. A person passes when they match every `keep` rule and no
 * `exclude` rule. An attribute the carrier did not supply matches nothing (so a `keep` rule on it
 * skips the person, counted under `rule`; an `exclude` rule does not exclude them).
 * Home codes match by GB/T 2260 hierarchy: `440000` is all of Guangdong, `440300` all of Shenzhen.
 */
export const CrowdRule = z.discriminatedUnion('attribute', [
  z.object({ attribute: z.literal('gender'), action: ruleAction, values: z.array(z.enum(['m', 'f'])).min(1) }),
  z.object({
    attribute: z.literal('age'),
    action: ruleAction,
    min: z.number().int().min(0).max(120),
    max: z.number().int().min(0).max(120),
  }),
  z.object({ attribute: z.literal('home'), action: ruleAction, codes: z.array(gbCode).min(1).max(500) }),
  /**
   * Local (本地) vs roaming (外地): a person is local when their home city (归属地) is the city their
   * current serving cell lies in, the same for drawn shapes and picked areas; or, when `localCodes`
   * is given, one of those (hierarchical match as for `home`). A person whose home or whose cell's
   * city is unknown is neither.
   */
  z.object({
    attribute: z.literal('locality'),
    action: ruleAction,
    value: z.enum(['local', 'roaming']),
    localCodes: z.array(gbCode).max(500).optional(),
  }),
  z.object({ attribute: z.literal('carrier'), action: ruleAction, values: z.array(Carrier).min(1) }),
]);
export type CrowdRule = z.infer<typeof CrowdRule>;

/** Per-carrier budget: total sends for the whole task, and at most `dailyCap` per day (Asia/Shanghai). */
export const CarrierQuota = z.object({ total: z.number().int().positive(), dailyCap: z.number().int().positive() });
export type CarrierQuota = z.infer<typeof CarrierQuota>;

/** See {@link AlertTaskSpecShape}'s `hysteresis`. */
export const EdgeHysteresisSpec = z.object({
  bufferMeters: z.number().min(0).max(MAX_HYSTERESIS_BUFFER_M).optional(),
  minOutsideSeconds: z.number().int().min(0).max(MAX_HYSTERESIS_OUTSIDE_S).optional(),
});

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;
/** A daily send window in Asia/Shanghai time, `start` inclusive, `end` exclusive, e.g. 08:00–20:00. */
export const SendWindow = z.object({ start: z.string().regex(HHMM, 'expected HH:MM'), end: z.string().regex(HHMM, 'expected HH:MM') });
export type SendWindow = z.infer<typeof SendWindow>;

const DATE = /^\d{4}-\d{2}-\d{2}$/;
export const MAX_TASK_DAYS = 366;

export const AlertTaskSpecShape = z.object({
  alertType: AlertType,
  region: Region,
  /** Internal title (发送主题), never shown on the handset. */
  subject: z.string().min(1).max(100),
  content: z.string().min(1).max(2000),
  /** Signature without brackets (an approved one of the enterprise). */
  signature: z.string().min(1).max(20),
  /** First and last day of sending, inclusive, Asia/Shanghai dates. */
  startDate: z.string().regex(DATE, 'expected YYYY-MM-DD'),
  endDate: z.string().regex(DATE, 'expected YYYY-MM-DD'),
  /** Daily send windows; empty means all day. */
  windows: z.array(SendWindow).max(24).default([]),
  /** `once`: once per person for the task; `daily`: once per person per day (按日去重). */
  frequency: z.enum(['once', 'daily']),
  /** Minimum continuous dwell in the region before sending, minutes. @default 0 */
  minDwellMin: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 60)
    .default(0),
  rules: z.array(CrowdRule).max(50).default([]),
  /**
   * Edge hysteresis (`@geo/infra/basics` edge-hysteresis): someone jittering across the region's edge
   * has left only after being more than `bufferMeters` outside it for `minOutsideSeconds` on end; until
   * then a return is no new entry (dwell goes on from the first entry). Absent: every step out is a leave.
   * @example { bufferMeters: 500, minOutsideSeconds: 600 }
   */
  hysteresis: EdgeHysteresisSpec.optional(),
  /** Carriers to send on, with their budgets; carriers not listed are not sent (skip reason `no_quota`). */
  quota: z.partialRecord(Carrier, CarrierQuota),
  /** The account's available SMS count when submitted; the sum of totals may not exceed it. */
  balance: z.number().int().min(0),
  accountId: z.string().min(1).max(64),
  enterpriseId: z.string().min(1).max(64),
  /** Reference to the uploaded authorization letter (授权函), e.g. a file id. */
  authorizationLetter: z.string().max(500).optional(),
  /**
   * An exercise (演练): the whole pipeline runs as for a real alert (reach, rules, caps, progress,
   * receipts), every SMS begins with {@link exercisePrefix} of its language (【演练】, or [EXERCISE] in
   * English), and the portal never charges it.
   * @default false
   */
  exercise: z.boolean().optional(),
  /**
   * The reply extension (扩展码) of an alert asking for check-in answers (#21, "回复1表示安全"): its
   * SMS go out from the access number + this, so that answers find the task. The portal gives it.
   */
  replyExtension: z
    .string()
    .regex(/^\d{1,8}$/)
    .optional(),
  /**
   * The body in other languages than Chinese (`content` is the Chinese one): a person whose profile
   * speaks one of them gets it instead (see `languageFor`).
   * @example { en: 'Typhoon warning: stay indoors tonight.' }
   */
  contents: z.object({ en: z.string().min(1).max(2000).optional() }).optional(),
  /**
   * The signature of the text in another language, when the enterprise has an approved one in
   * Latin letters: an English body signed `[Hangzhou EMA]` stays GSM-7 (160 characters an SMS),
   * signed 【杭州应急】 it is UCS-2 (70). Absent: `signature` (#21).
   * @example { en: 'Hangzhou EMA' }
   */
  signatures: z.object({ en: z.string().min(1).max(20).optional() }).optional(),
});

/** The mandatory start of every Chinese SMS of an exercise; it counts in the billing count like any text. */
export const EXERCISE_PREFIX = '【演练】';

/**
 * The English SMS's: a foreign visitor reads it, and it is GSM-7 (`[` and `]` are two septets each,
 * 13 in all), so an English exercise stays 160 letters an SMS where 【演练】 made it UCS-2 (70).
 */
export const EXERCISE_PREFIX_EN = '[EXERCISE] ';

/** Languages a task's body may be written in: `zh` is `content`, the others are `contents`. */
export const TEXT_LANGUAGES = ['zh', 'en'] as const;
export type TextLanguage = (typeof TEXT_LANGUAGES)[number];

/**
 * The exercise prefix of a text in `lang`.
 * @example exercisePrefix('en') // '[EXERCISE] '
 */
export const exercisePrefix = (lang: TextLanguage): string => (lang === 'en' ? EXERCISE_PREFIX_EN : EXERCISE_PREFIX);

/**
 * The text of one SMS of a task (without the signature messaging adds): the body in `lang` when the
 * task has it (else the Chinese one), after the exercise prefix of the body's language when it is an
 * exercise (an English reader of a task with no English text gets the Chinese body behind 【演练】).
 * @example smsContent({ content: '台风演练', exercise: true }) // '【演练】台风演练'
 * @example smsContent({ content: '台风演练', contents: { en: 'Typhoon drill' }, exercise: true }, 'en') // '[EXERCISE] Typhoon drill'
 */
export function smsContent(spec: { content: string; exercise?: boolean; contents?: { en?: string } }, lang: TextLanguage = 'zh'): string {
  const en = lang === 'en' ? spec.contents?.en : undefined;
  const body = en ?? spec.content;
  return spec.exercise ? exercisePrefix(en === undefined ? 'zh' : 'en') + body : body;
}

/**
 * The signature of one SMS of a task in `lang` (messaging puts it in brackets before the text): the
 * task's English signature when the SMS carries its English text and the task has one (a Latin
 * `[Hangzhou EMA]` keeps an English text GSM-7), else the Chinese `signature`, which also signs the
 * Chinese body an English reader gets when the task has no English text. Alerting signs its jobs
 * with it; the portal costs each language's SMS with it.
 * @example smsSignature({ signature: '杭州应急', signatures: { en: 'Hangzhou EMA' }, contents: { en: 'Typhoon' } }, 'en') // 'Hangzhou EMA'
 * @example smsSignature({ signature: '杭州应急', signatures: { en: 'Hangzhou EMA' } }, 'en') // '杭州应急'
 */
export function smsSignature(
  spec: {
    signature: string;
    signatures?: { en?: string | undefined } | undefined;
    contents?: { en?: string | undefined } | undefined;
  },
  lang: TextLanguage = 'zh',
): string {
  return (lang === 'en' && spec.contents?.en ? spec.signatures?.en : undefined) ?? spec.signature;
}

/** The task as the operator submits it, with every check done at submit time (region, dates, budget). */
export const AlertTaskSpec = AlertTaskSpecShape.superRefine((t, ctx) => {
  for (const issue of regionIssues(t.region))
    ctx.addIssue({ code: 'custom', path: ['region', ...issue.path], message: issue.message, params: { reason: issue.reason } });
  if (t.endDate < t.startDate) ctx.addIssue({ code: 'custom', path: ['endDate'], message: 'the end date is before the start date' });
  const days = (Date.parse(t.endDate) - Date.parse(t.startDate)) / 86_400_000;
  if (days >= MAX_TASK_DAYS) ctx.addIssue({ code: 'custom', path: ['endDate'], message: `a task lasts at most ${MAX_TASK_DAYS} days` });
  t.windows.forEach((w, i) => {
    if (w.end <= w.start)
      ctx.addIssue({ code: 'custom', path: ['windows', i], message: `the window ${w.start}–${w.end} ends before it starts` });
  });
  const carriers = CARRIERS.filter((c) => t.quota[c]);
  if (carriers.length === 0) ctx.addIssue({ code: 'custom', path: ['quota'], message: 'give at least one carrier a quota' });
  let sum = 0;
  for (const c of carriers) {
    const q = t.quota[c]!;
    sum += q.total;
    if (q.dailyCap > q.total)
      ctx.addIssue({ code: 'custom', path: ['quota', c, 'dailyCap'], message: `the daily cap of ${c} exceeds its total` });
  }
  if (sum > t.balance)
    ctx.addIssue({ code: 'custom', path: ['quota'], message: `the carriers' totals (${sum}) exceed the available balance (${t.balance})` });
  t.rules.forEach((r, i) => {
    if (r.attribute === 'age' && r.max < r.min)
      ctx.addIssue({ code: 'custom', path: ['rules', i, 'max'], message: 'the age range ends before it starts' });
  });
});
export type AlertTaskSpec = z.infer<typeof AlertTaskSpec>;
export type AlertTaskSpecInput = z.input<typeof AlertTaskSpec>;

/**
 * States: submitted → scheduled → running → completed; paused only before execution (from submitted
 * or scheduled, back to submitted); stopped (emergency stop) from any live state; rejected when a
 * spec fails validation on arrival (it should have failed at submit already).
 */
export const TASK_STATES = ['submitted', 'scheduled', 'running', 'paused', 'stopped', 'completed', 'rejected'] as const;
export const TaskState = z.enum(TASK_STATES);
export type TaskState = z.infer<typeof TaskState>;

const TRANSITIONS: Record<TaskState, readonly TaskState[]> = {
  submitted: ['scheduled', 'paused', 'stopped', 'rejected'],
  scheduled: ['running', 'paused', 'stopped', 'rejected'],
  paused: ['submitted', 'stopped'],
  running: ['completed', 'stopped'],
  stopped: [],
  completed: [],
  rejected: [],
};
export const canTransition = (from: TaskState, to: TaskState): boolean => TRANSITIONS[from].includes(to);
/** States in which alerting tracks who is in the region (scheduled, so dwell is known at start). */
export const isTracked = (s: TaskState): boolean => s === 'scheduled' || s === 'running';
export const isTerminal = (s: TaskState): boolean => TRANSITIONS[s].length === 0;

/** The KV record of a task. `version` grows on every spec update (a running task may change region or content). */
export const AlertTask = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1–64 letters, digits, _ or -'),
  version: z.number().int().min(1),
  spec: AlertTaskSpec,
  state: TaskState,
  /** Why the state is what it is (rejection reasons, who stopped it). */
  reason: z.string().max(2000).optional(),
  /** When it first became running (epoch ms): after that it may no longer be paused. */
  startedAt: z.number().int().optional(),
  updatedAt: z.number().int(),
});
export type AlertTask = z.infer<typeof AlertTask>;

/** Named reasons a qualifying-by-region person was not sent (DESIGN.md invariant 3). */
export const SKIP_REASONS = ['window', 'dwell', 'rule', 'no_quota', 'daily_cap', 'total_cap', 'balance'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export const PerCarrier = z.object({ cmcc: z.number().int(), cucc: z.number().int(), ctcc: z.number().int() });
export type PerCarrier = z.infer<typeof PerCarrier>;

/**
 * Live progress of one task on one alerting instance, published at most once a second while it
 * changes, on {@link progressSubject}. Counts are cumulative since the instance started; the portal
 * sums the latest event of each instance. `matched` = distinct people seen inside the region while
 * running; `skipped` = distinct people held back today (Asia/Shanghai), each once, under their
 * latest reason (a cap retried every few seconds does not count anyone again), people sent since
 * not counted.
 */
export const TaskProgress = z.object({
  v: z.literal(1),
  taskId: z.string(),
  instance: z.string(),
  at: z.number().int(),
  state: TaskState,
  matched: z.number().int(),
  sent: PerCarrier,
  skipped: z.partialRecord(z.enum(SKIP_REASONS), z.number().int()),
  /** Authoritative sends so far (all instances), read from the cap counters. */
  usedTotal: PerCarrier.optional(),
});
export type TaskProgress = z.infer<typeof TaskProgress>;
export const progressSubject = (taskId: string): string => `alert.progress.${taskId}`;
export const PROGRESS_SUBJECTS = 'alert.progress.>';

/**
 * Reach estimate for a draft task (request/reply on {@link REACH_SUBJECT}, every instance answers
 * for its shards; {@link estimateReach} in `reach/estimate-client.ts` sums the answers).
 */
export const ReachRequest = z.object({
  v: z.literal(1),
  region: Region,
  rules: z.array(CrowdRule).default([]),
  quota: z.partialRecord(Carrier, CarrierQuota).default({}),
  /** Task id, when estimating an existing task: "allowed today" then accounts for what it already sent. */
  taskId: z.string().optional(),
});
export type ReachRequest = z.infer<typeof ReachRequest>;
/**
 * People per serving cell of one carrier, in parallel arrays: cell ids (unique within the carrier)
 * and, per cell, the people present in the region now and those of them passing the rules.
 */
export const ReachCells = z.object({ ids: z.array(z.string()), present: z.array(z.number().int()), passing: z.array(z.number().int()) });
export type ReachCells = z.infer<typeof ReachCells>;

/**
 * One instance's answer, possibly in several messages (`part` 0 … `parts` − 1, each with its share of
 * `cells`; a big region's cells would not fit one NATS message).
 *
 * Privacy (invariant 7): the per-cell counts are raw, for the portal only. Instances answer for their
 * own shards, so a cell's count is known only once the portal has summed every instance's; it then
 * releases, per carrier, the sum over cells of each (cell, carrier) count taken as 0 below k, shown
 * as a number ≥ k or as "< k". The totals `present`, `passing` and `allowedToday` are this
 * instance's raw sums, kept for older readers; never release them.
 */
export const ReachReply = z.object({
  v: z.literal(1),
  instance: z.string(),
  shards: z.array(z.number().int()),
  /** People present in the region now, per carrier (raw, this instance). */
  present: PerCarrier,
  /** Of those, passing the rules (raw, this instance). */
  passing: PerCarrier,
  /** Of those, how many today's caps and totals allow (raw, this instance). */
  allowedToday: PerCarrier,
  /** Per carrier and cell (cells with anyone present in the region). */
  cells: z.partialRecord(Carrier, ReachCells).optional(),
  /**
   * How many more sends today's caps and totals allow per carrier (the task's counters when
   * `taskId` is given); a carrier missing here is unlimited (no quota in the request).
   */
  remaining: z.partialRecord(Carrier, z.number().int()).optional(),
  part: z.number().int().min(0).default(0),
  parts: z.number().int().min(1).default(1),
  tookMs: z.number(),
  error: z.string().optional(),
});
export type ReachReply = z.infer<typeof ReachReply>;
export type ReachReplyInput = z.input<typeof ReachReply>;
export const REACH_SUBJECT = 'alert.reach';

/**
 * Where a task's people were when they were messaged (request/reply on {@link REACHED_SUBJECT}):
 * each instance answers from the claim log, per carrier and serving cell with the cell's position,
 * for the people of the shards it holds now (lease mode; static shards: the people it claimed), so
 * that the sum of the answers counts each person once. Raw counts for the portal, which releases them by the same rule as reach
 * (each (cell, carrier) count under k taken as 0).
 */
export const ReachedRequest = z.object({ v: z.literal(1), taskId: z.string().min(1).max(64) });
export type ReachedRequest = z.infer<typeof ReachedRequest>;
export const ReachedCells = z.object({
  ids: z.array(z.string()),
  lng: z.array(z.number()),
  lat: z.array(z.number()),
  count: z.array(z.number().int()),
});
export type ReachedCells = z.infer<typeof ReachedCells>;
export const ReachedReply = z.object({
  v: z.literal(1),
  instance: z.string(),
  shards: z.array(z.number().int()),
  /** Whether this instance tracks the task now (false: it answers nothing about it). */
  tracked: z.boolean(),
  cells: z.partialRecord(Carrier, ReachedCells),
  part: z.number().int().min(0).default(0),
  parts: z.number().int().min(1).default(1),
  error: z.string().optional(),
});
export type ReachedReply = z.infer<typeof ReachedReply>;
export const REACHED_SUBJECT = 'alert.reached';

/**
 * Why a number did (not) get a task, from what alerting knows (request/reply on {@link WHY_SUBJECT};
 * each instance answers, and the one that has seen the number knows):
 * - `not_tracked`: this instance does not track the task (not scheduled or running, or unknown);
 * - `not_seen`: no event of the number reached this instance (it may hold other shards);
 * - `absent`: seen, but detached or silent past the staleness limit;
 * - `outside`: present outside the task's region; `not_running`: the task has not started;
 * - `sent`: already sent (dedup), at `sentAt` (when it was claimed); `send_failed`: claimed, its
 *   job not yet accepted by SMS_JOBS (retried); what the carrier did with it is messaging's record;
 * - `queued`: qualifies now and is being sent;
 * - a skip reason ({@link SKIP_REASONS}): rule, window (dates or daily windows), dwell, no quota for
 *   the carrier, daily cap, task total, balance.
 * The answer names a reason only: no cell, position or time of any event of the person.
 */
export const WHY_REASONS = [
  'not_tracked',
  'not_seen',
  'absent',
  'outside',
  'not_running',
  'sent',
  'send_failed',
  'queued',
  ...SKIP_REASONS,
] as const;
export type WhyReason = (typeof WHY_REASONS)[number];
export const WhyRequest = z.object({
  v: z.literal(1),
  taskId: z.string().min(1).max(64),
  msisdn: z.string().regex(/^1[3-9]\d{9}$/, 'expected an 11-digit mainland mobile number'),
});
export type WhyRequest = z.infer<typeof WhyRequest>;
export const WhyReply = z.object({
  v: z.literal(1),
  instance: z.string(),
  shards: z.array(z.number().int()),
  tracked: z.boolean(),
  /** Whether this instance has seen an event of the number (since it started, or in its replay). */
  seen: z.boolean(),
  reason: z.enum(WHY_REASONS),
  /** When it was sent (claimed), epoch ms, for `sent`. */
  sentAt: z.number().int().optional(),
  error: z.string().optional(),
});
export type WhyReply = z.infer<typeof WhyReply>;
export const WHY_SUBJECT = 'alert.why';

/**
 * One answer from every instance's: the one that has seen the number (it holds the number's shard),
 * else `not_seen` when some instance tracks the task, else `not_tracked`.
 */
export function whyAnswer(replies: readonly WhyReply[]): { reason: WhyReason; sentAt?: number } {
  const seen = replies.find((r) => r.tracked && r.seen);
  if (seen) return seen.sentAt === undefined ? { reason: seen.reason } : { reason: seen.reason, sentAt: seen.sentAt };
  return { reason: replies.some((r) => r.tracked) ? 'not_seen' : 'not_tracked' };
}

/** The SMS job id (and Nats-Msg-Id) of one send: one per task and person, per day when `daily`. */
export const alertJobId = (taskId: string, msisdn: string, day?: string): string =>
  day ? `alert:${taskId}:${msisdn}:${day}` : `alert:${taskId}:${msisdn}`;
