import { describe, expect, it, vi } from 'vitest';
import type { Carrier } from '@geo/ingest';
import { AlertTaskSpec, type AlertTaskSpecInput } from '../contract.ts';
import type { PresenceEvent } from '../presence/presence.ts';
import { shanghaiMidnight } from '../rules/shanghai-time.ts';
import { Engine } from '../engine/engine.ts';
import { seededRandom } from '@geo/infra/basics';
import { replayTask, tickTimes } from './replay-task.ts';

const CENTRE: [number, number] = [120.15, 30.28];
const INSIDE: [number, number] = CENTRE;
const INSIDE_2: [number, number] = [CENTRE[0] + 0.003, CENTRE[1]];
const OUTSIDE: [number, number] = [CENTRE[0] + 0.1, CENTRE[1]];
/** 2026-12-01 00:00 in Asia/Shanghai (16:00 UTC the day before). */
const DAY = shanghaiMidnight('2026-12-01');
const H = 3600_000;
const M = 60_000;

function spec(over: Partial<AlertTaskSpecInput> = {}): AlertTaskSpec {
  const q = { total: 1000, dailyCap: 1000 };
  return AlertTaskSpec.parse({
    alertType: 'rainstorm',
    region: { parts: [{ kind: 'circle', center: CENTRE, radiusM: 1000 }] },
    subject: 'what-if',
    content: '暴雨预警：请注意安全',
    signature: '应急管理局',
    // A draft for another week: the replay runs it over its own window whatever the dates say.
    startDate: '2027-01-10',
    endDate: '2027-01-11',
    frequency: 'once',
    quota: { cmcc: q, cucc: q, ctcc: q },
    balance: 3000,
    accountId: 'acc-1',
    enterpriseId: 'ent-1',
    ...over,
  });
}

let n = 0;
const number = () => `1390000${String(n++).padStart(4, '0')}`;
function at(msisdn: string, ts: number, where: [number, number], over: Partial<PresenceEvent> = {}): PresenceEvent {
  return {
    msisdn,
    carrier: 'cmcc',
    ts,
    cell: `c-${where[0].toFixed(4)}-${where[1].toFixed(4)}`,
    lng: where[0],
    lat: where[1],
    kind: 'handover',
    ...over,
  };
}
const who = (sends: { msisdn: string }[]) => sends.map((s) => s.msisdn).sort();

describe('replayTask: a draft task over a past window of moves, nothing sent', () => {
  it('sends those inside at the start at once, those who walk in at their move, nobody outside', async () => {
    const [a, b, c] = [number(), number(), number()];
    const from = DAY + 8 * H;
    const r = await replayTask(
      spec(),
      { from, to: DAY + 20 * H },
      [at(a, from - 3 * H, INSIDE), at(b, from - H, OUTSIDE), at(c, from - H, OUTSIDE)],
      [at(b, from + 2 * H, INSIDE_2), at(c, from + 3 * H, OUTSIDE)],
    );
    expect(who(r.sends)).toEqual([a, b].sort());
    expect(r.sends.find((s) => s.msisdn === a)!.at).toBe(from);
    const sb = r.sends.find((s) => s.msisdn === b)!;
    expect(sb.at).toBe(from + 2 * H);
    expect([sb.lng, sb.lat]).toEqual(INSIDE_2);
    expect(r.moves).toBe(2);
  });

  it('sends a person who walks in twice in a day once', async () => {
    const a = number();
    const from = DAY + 8 * H;
    const r = await replayTask(
      spec({ frequency: 'daily' }),
      { from, to: DAY + 20 * H },
      [at(a, from - H, OUTSIDE)],
      [at(a, from + H, INSIDE), at(a, from + 2 * H, OUTSIDE), at(a, from + 3 * H, INSIDE), at(a, from + 4 * H, INSIDE_2)],
    );
    expect(r.sends.map((s) => [s.msisdn, s.at])).toEqual([[a, from + H]]);
  });

  it('once a day in China time: a daily task sends again after Shanghai midnight (16:00 UTC), a once task does not', async () => {
    const [a, b] = [number(), number()];
    const from = DAY + 22 * H; // 22:00 Shanghai
    const to = DAY + 26 * H; // 02:00 the next day
    const before = [at(a, from - H, INSIDE), at(b, from - H, OUTSIDE)];
    // b walks in at 23:59, out at 23:59:30 and in again at 00:01.
    const moves = [at(b, DAY + 24 * H - M, INSIDE), at(b, DAY + 24 * H - 30_000, OUTSIDE), at(b, DAY + 24 * H + M, INSIDE_2)];
    const daily = await replayTask(spec({ frequency: 'daily' }), { from, to }, before, moves);
    expect(daily.sends.map((s) => [s.msisdn, s.at])).toEqual([
      [a, from],
      [b, DAY + 24 * H - M],
      // a stayed inside across midnight: sent again by the first housekeeping of the new day.
      [a, DAY + 24 * H],
      [b, DAY + 24 * H + M],
    ]);
    const once = await replayTask(spec({ frequency: 'once' }), { from, to }, before, moves);
    expect(once.sends.map((s) => [s.msisdn, s.at])).toEqual([
      [a, from],
      [b, DAY + 24 * H - M],
    ]);
  });

  it("holds people back at a carrier's daily cap, and sends them when the next Shanghai day's cap opens", async () => {
    const people = Array.from({ length: 5 }, number);
    const from = DAY + 20 * H;
    const q = { total: 4, dailyCap: 2 };
    const r = await replayTask(
      spec({ quota: { cmcc: q }, balance: 4 }),
      { from, to: DAY + 30 * H },
      people.map((p) => at(p, from - H, INSIDE)),
      [],
    );
    // Two on the first day, two more (the total) after midnight, one never.
    expect(r.sends.filter((s) => s.at < DAY + 24 * H)).toHaveLength(2);
    expect(r.sends.filter((s) => s.at >= DAY + 24 * H)).toHaveLength(2);
    expect(new Set(who(r.sends)).size).toBe(4);
    // The fifth meets the new day's cap first (the daily cap is applied before the total).
    expect(r.skipped).toEqual({ daily_cap: 1 });
  });

  it('applies keep/exclude rules and carriers without quota', async () => {
    const [f, m, u] = [number(), number(), number()];
    const from = DAY + 8 * H;
    const r = await replayTask(
      spec({
        rules: [{ attribute: 'gender', action: 'keep', values: ['f'] }],
        quota: { cmcc: { total: 10, dailyCap: 10 } },
        balance: 10,
      }),
      { from, to: DAY + 9 * H },
      [
        at(f, from - H, INSIDE, { gender: 'f' }),
        at(m, from - H, INSIDE, { gender: 'm' }),
        at(u, from - H, INSIDE, { gender: 'f', carrier: 'cucc' as Carrier }),
      ],
      [],
    );
    expect(who(r.sends)).toEqual([f]);
    expect(r.skipped).toMatchObject({ rule: 1, no_quota: 1 });
  });

  it('waits for the daily window and the minimum dwell; someone who leaves before the dwell is not sent', async () => {
    const [a, b, c] = [number(), number(), number()];
    const from = DAY + 6 * H;
    const r = await replayTask(
      spec({ windows: [{ start: '08:00', end: '20:00' }], minDwellMin: 10 }),
      { from, to: DAY + 21 * H },
      [at(a, from - H, INSIDE), at(b, from - H, OUTSIDE), at(c, from - H, OUTSIDE)],
      [at(b, DAY + 9 * H, INSIDE), at(c, DAY + 10 * H, INSIDE), at(c, DAY + 10 * H + 5 * M, OUTSIDE), at(b, DAY + 21 * H - M, OUTSIDE)],
    );
    expect(r.sends.map((s) => s.msisdn)).toEqual([a, b]);
    expect(r.sends[0]!.at).toBe(DAY + 8 * H);
    const sb = r.sends[1]!.at - (DAY + 9 * H);
    expect(sb).toBeGreaterThanOrEqual(10 * M);
    expect(sb).toBeLessThan(10 * M + 5_000);
  });

  it('ticks at each Shanghai midnight and window opening besides the period', () => {
    const times = tickTimes({ windows: [{ start: '08:00', end: '09:00' }] }, DAY + 7 * H + 1, DAY + 25 * H, H);
    expect(times).toContain(DAY + 8 * H);
    expect(times).toContain(DAY + 24 * H);
    expect(times.every((t, i) => i === 0 || t > times[i - 1]!)).toBe(true);
  });
});

describe('replayTask runs housekeeping only when something can change', () => {
  /** 300 people wandering in and out of the region over a day, on a minute grid. */
  function wandering(seed: number) {
    const rnd = seededRandom(seed);
    const people = Array.from({ length: 300 }, number);
    const spot = (): [number, number] => {
      const x = rnd();
      return x < 0.4 ? INSIDE : x < 0.6 ? INSIDE_2 : [OUTSIDE[0] + rnd() * 0.01, OUTSIDE[1]];
    };
    const before = people.map((p) =>
      at(p, DAY - (1 + Math.floor(rnd() * 60)) * M, spot(), { age: 20 + Math.floor(rnd() * 50), gender: rnd() < 0.5 ? 'm' : 'f' }),
    );
    const moves: PresenceEvent[] = [];
    for (const p of people) for (let k = 0; k < 12; k++) moves.push(at(p, DAY + Math.floor(rnd() * 24 * 60) * M, spot()));
    moves.sort((a, b) => a.ts - b.ts);
    return { before, moves };
  }

  it('sends the same people at the same times as ticking every 5 s, with a dwell, windows and a rule', async () => {
    for (const seed of [1, 2, 3]) {
      const { before, moves } = wandering(seed);
      const draft = spec({
        frequency: 'daily',
        windows: [
          { start: '08:00', end: '12:00' },
          { start: '14:00', end: '20:00' },
        ],
        minDwellMin: 10,
        rules: [{ attribute: 'age', action: 'keep', min: 25, max: 60 }],
      });
      const w = { from: DAY, to: DAY + 24 * H };
      const ticking = await replayTask(draft, w, before, moves, { tickMs: 5_000 });
      const r = await replayTask(draft, w, before, moves);
      expect(r.sends.length).toBeGreaterThan(50);
      const key = (s: { msisdn: string; at: number }) => `${s.at}|${s.msisdn}`;
      expect(r.sends.map(key).sort()).toEqual(ticking.sends.map(key).sort());
      expect(r.matched).toBe(ticking.matched);
    }
  });

  it('ticks a day only at midnight and the windows’ openings (it ticked 17,280 times)', async () => {
    const tick = vi.spyOn(Engine.prototype, 'tick');
    try {
      const { before, moves } = wandering(4);
      await replayTask(
        spec({ windows: [{ start: '08:00', end: '20:00' }], minDwellMin: 10 }),
        { from: DAY - H, to: DAY + 23 * H },
        before,
        moves,
      );
      expect(tick.mock.calls.length).toBe(2);
    } finally {
      tick.mockRestore();
    }
  });
});
