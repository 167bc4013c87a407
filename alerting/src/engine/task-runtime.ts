import { SKIP_REASONS, type AlertTask, type PerCarrier, type SkipReason } from '../contract.ts';
import type { CompiledRegion } from '../geofence/point-in-region.ts';
import { shanghaiDay, shanghaiMidnight } from '../rules/shanghai-time.ts';
import { Membership } from './membership.ts';

/**
 * What alerting holds per tracked task, and the small per-person bit sets and counters that
 * detection (membership, `consider`) and delivery (send, claims) both touch. Plain data and
 * functions: the engine's parts share a runtime, none of them owns it.
 */
export interface TaskRuntime {
  slot: number;
  task: AlertTask;
  region: CompiledRegion;
  /** Who is inside the region, and since when. */
  inside: Membership;
  /** Subscriber index → why they are held back now. */
  pending: Map<number, SkipReason>;
  /** Sent (or being sent) by this instance, or known claimed; for `daily`, of `sentDay` only. */
  sent: Uint8Array;
  sentDay: string;
  /** Seen inside while running (for `matched`). */
  seen: Uint8Array;
  matched: number;
  sentBy: PerCarrier;
  /** Distinct people held back today (Asia/Shanghai), by their latest reason; people sent since are not counted. */
  skipped: Partial<Record<SkipReason, number>>;
  /** Per subscriber index: the reason (its {@link REASON_CODE}) they are counted under in `skipped` today, 0 when not. */
  heldAs: Uint8Array;
  heldDay: string;
  dirty: boolean;
  windowOpen: boolean;
  /** Per carrier: no budget until this time (skip the KV round trip while a cap is reached). */
  blockedUntil: number[];
  blockedReason: SkipReason[];
  removed: boolean;
}

/** One person (subscriber index `i`) to send one task to. */
export interface Candidate {
  rt: TaskRuntime;
  i: number;
}

export function newRuntime(slot: number, task: AlertTask, region: CompiledRegion): TaskRuntime {
  return {
    slot,
    task,
    region,
    inside: new Membership(),
    pending: new Map(),
    sent: new Uint8Array(0),
    sentDay: '',
    seen: new Uint8Array(0),
    matched: 0,
    sentBy: { cmcc: 0, cucc: 0, ctcc: 0 },
    skipped: {},
    heldAs: new Uint8Array(0),
    heldDay: '',
    dirty: true,
    windowOpen: false,
    blockedUntil: [0, 0, 0],
    blockedReason: ['daily_cap', 'daily_cap', 'daily_cap'],
    removed: false,
  };
}

/** A skip reason's code in {@link TaskRuntime.heldAs} (0 = not held). */
export const REASON_CODE = Object.fromEntries(SKIP_REASONS.map((r, k) => [r, k + 1])) as Record<SkipReason, number>;

export const bit = (a: Uint8Array, i: number) => (i >> 3 < a.length ? (a[i >> 3] >> (i & 7)) & 1 : 0);
export function setBit(a: Uint8Array, i: number, capacity: number): Uint8Array {
  if (i >> 3 >= a.length) {
    const b = new Uint8Array(Math.max(a.length * 2, (capacity >> 3) + 1, (i >> 3) + 1));
    b.set(a);
    a = b;
  }
  a[i >> 3] |= 1 << (i & 7);
  return a;
}
export const clearBit = (a: Uint8Array, i: number) => {
  if (i >> 3 < a.length) a[i >> 3] &= ~(1 << (i & 7));
};

/** Today in Asia/Shanghai (`YYYYMMDD`), recomputed only when a day ends: it sits on the hot path. */
export class ShanghaiToday {
  private day = '';
  private dayEnds = 0;

  at(now: number): string {
    if (now >= this.dayEnds || now < this.dayEnds - 86_400_000) {
      this.day = shanghaiDay(now);
      this.dayEnds = shanghaiMidnight(`${this.day.slice(0, 4)}-${this.day.slice(4, 6)}-${this.day.slice(6)}`) + 86_400_000;
    }
    return this.day;
  }
}

/** Who was sent: for a `daily` task, a new day (`today`) starts from nobody. */
export function sentBits(rt: TaskRuntime, today: string): Uint8Array {
  if (rt.task.spec.frequency === 'daily' && today !== rt.sentDay) {
    rt.sent = new Uint8Array(0);
    rt.sentDay = today;
  }
  return rt.sent;
}

/** `capacity`: the number of subscribers known, so that a growing set is sized once. */
export function markSent(rt: TaskRuntime, i: number, capacity: number): void {
  rt.sent = setBit(rt.sent, i, capacity);
}

/** Skip counts are per day: a new Asia/Shanghai day starts them again. */
export function heldToday(rt: TaskRuntime, today: string): void {
  if (rt.heldDay === today) return;
  if (rt.heldDay !== '' || rt.heldAs.length) {
    rt.heldAs = new Uint8Array(0);
    rt.skipped = {};
    rt.dirty = true;
  }
  rt.heldDay = today;
}

/**
 * Holds a person back for `reason`: retried later and counted once a day under their latest reason,
 * however often the retry meets the same reason (a cap tried every few seconds counted every try:
 * 96 people held back showed as 2,016 after 90 s).
 */
export function hold(rt: TaskRuntime, i: number, reason: SkipReason, today: string, capacity: number): void {
  if (rt.pending.get(i) !== reason) rt.pending.set(i, reason);
  heldToday(rt, today);
  const code = REASON_CODE[reason];
  const was = i < rt.heldAs.length ? rt.heldAs[i] : 0;
  if (was === code) return;
  if (was) rt.skipped[SKIP_REASONS[was - 1]]! -= 1;
  if (i >= rt.heldAs.length) {
    const a = new Uint8Array(Math.max(rt.heldAs.length * 2, capacity, i + 1));
    a.set(rt.heldAs);
    rt.heldAs = a;
  }
  rt.heldAs[i] = code;
  rt.skipped[reason] = (rt.skipped[reason] ?? 0) + 1;
  rt.dirty = true;
}

/** A person held back earlier was sent (by this instance or another): no longer counted as skipped. */
export function unhold(rt: TaskRuntime, i: number): void {
  const was = i < rt.heldAs.length ? rt.heldAs[i] : 0;
  if (!was) return;
  rt.heldAs[i] = 0;
  rt.skipped[SKIP_REASONS[was - 1]]! -= 1;
  rt.dirty = true;
}
