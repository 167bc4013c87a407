import { shanghaiDate, shanghaiDateTime } from '@geo/infra/basics';
import { ht } from '../hysteresis/zh-CN.ts';
import { bt } from '../zh-CN.ts';

/* The task list's and detail's data as the API sends it, and the small readings of it both show. */

export interface TaskSummary {
  id: string;
  subject: string;
  alertType: string;
  alertTypeLabel: string;
  state: string;
  stateLabel: string;
  startDate: string | null;
  endDate: string | null;
  accountName: string;
  reason: string;
  createdAt: string | null;
  submittedAt: string | null;
  /** People sent to so far (null: nothing known yet). */
  sent?: number | null;
  /** Maker-checker (#21): none, pending, fast_path, approved or rejected. */
  approval?: string;
  approvalLabel?: string;
  fastPath?: boolean;
  /** An exercise (演练, #21). */
  exercise?: boolean;
  approvedBy?: string | null;
  approvedAt?: string | null;
  approvalReason?: string;
  /** This account may approve or reject it (the permission, and not its own task). */
  canApprove?: boolean;
}
/** The form fields the detail shows (the API's form holds more). */
export interface DetailForm {
  content?: string;
  texts?: { language: string; content: string }[];
  signature?: string;
  endDate?: string;
  windows?: { start: string; end: string }[];
  frequency?: string;
  minDwellMin?: number;
  rules?: Rule[];
  quota?: Record<string, { total: number; dailyCap: number } | undefined>;
  region?: { parts?: RegionPartView[] };
  hysteresis?: { bufferMeters?: number; minOutsideSeconds?: number };
}
export interface Detail extends TaskSummary {
  form: DetailForm;
  spec: { region?: { parts?: RegionPartView[] } } | null;
  version: number | null;
}
export interface Recipient {
  msisdn: string;
  carrierLabel: string;
  state: string;
  stateLabel: string;
  code: string;
  submittedAt: string;
  statusAt: string;
}
export type Rule =
  | { attribute: 'gender'; action: string; values: string[] }
  | { attribute: 'age'; action: string; min: number; max: number }
  | { attribute: 'home'; action: string; codes: string[] }
  | { attribute: 'locality'; action: string; value: string }
  | { attribute: 'carrier'; action: string; values: string[] };

/** A region part as the detail reads it (alerting's RegionPart, the fields it names). */
export interface RegionPartView {
  kind: string;
  code?: string;
  name?: string;
  radiusM?: number;
}

/**
 * A region in words: 上城区、西湖区、圆形（半径 5 公里）、多边形 2 个. Areas by name (their code
 * when the part has none), circles with their radius, other shapes counted by kind.
 */
export function regionText(parts: RegionPartView[], names: (code: string) => string | undefined = () => undefined): string {
  const out: string[] = [];
  const counts = new Map<string, number>();
  for (const p of parts) {
    if (p.kind === 'admin') out.push(p.name ?? names(p.code ?? '') ?? p.code ?? '');
    else if (p.kind === 'circle' && p.radiusM) out.push(bt.tasks.circleOf(String(Math.round(p.radiusM / 100) / 10)));
    else counts.set(p.kind, (counts.get(p.kind) ?? 0) + 1);
  }
  for (const [kind, n] of counts) {
    const what = bt.tasks.shapes[kind] ?? kind;
    out.push(n === 1 ? what : bt.tasks.shapeCount(what, n));
  }
  return bt.tasks.regionJoin(out);
}

/** One crowd rule as a sentence: 保留 性别 女. */
export function ruleText(r: Rule): string {
  const a = r.action === 'keep' ? bt.send.keep : bt.send.exclude;
  const what =
    r.attribute === 'gender'
      ? bt.tasks.joinValues(r.values.map((v) => (v === 'f' ? bt.send.female : bt.send.male)))
      : r.attribute === 'age'
        ? bt.tasks.ageRange(r.min, r.max)
        : r.attribute === 'home'
          ? bt.tasks.joinValues(r.codes)
          : r.attribute === 'locality'
            ? r.value === 'local'
              ? bt.send.local
              : bt.send.roaming
            : bt.tasks.joinValues(r.values.map((c) => bt.carriers[c] ?? c));
  return `${a} ${bt.send.attrs[r.attribute] ?? r.attribute} ${what}`;
}
export interface ProgressView {
  state: string | null;
  /** People inside the region, on the grid of k (0: fewer than k, or none). */
  matched: number;
  /** The privacy threshold the people counts are rounded to (#17). */
  k?: number;
  carriers: Record<string, { sent: number; delivered: number; failed: number }>;
  skipped: Record<string, number>;
  /** Per carrier: queued behind the carrier's rate, the rate over the last minute, when the last goes. */
  queue?: Record<string, { published: number; submitted: number; queued: number; perMinute: number; etaAt: number | null }> | null;
}

/** When the last queued message should go, China time (hh:mm:ss, with the date when not today). */
export function etaText(at: number | null | undefined): string {
  if (!at) return '—';
  const text = shanghaiDateTime(at);
  return shanghaiDate(at) === shanghaiDate(Date.now()) ? text.slice(11) : text;
}

/**
 * A time as the whole detail writes it, China time `YYYY-MM-DD HH:mm:ss` (the format 查看明细's
 * times come in from the server), '—' when there is none.
 */
export function chinaTime(at: string | null | undefined): string {
  const ms = at ? Date.parse(at) : NaN;
  return Number.isFinite(ms) ? shanghaiDateTime(ms) : '—';
}

export const STATE_KIND: Record<string, 'ok' | 'warn' | 'err' | 'muted'> = {
  pending_approval: 'warn',
  submitted: 'muted',
  scheduled: 'warn',
  running: 'ok',
  paused: 'warn',
  stopped: 'err',
  completed: 'ok',
  rejected: 'err',
};
export const canPause = (s: string) => s === 'submitted' || s === 'scheduled';
export const canStop = (s: string) => ['submitted', 'scheduled', 'running', 'paused'].includes(s);

/** A task's 边缘防抖 as a sentence, or that it is off. */
export function hysteresisText(h: DetailForm['hysteresis']): string {
  const b = h?.bufferMeters ?? 0,
    s = h?.minOutsideSeconds ?? 0;
  return b > 0 || s > 0 ? ht.summary(b, Math.round(s / 60)) : ht.off;
}
