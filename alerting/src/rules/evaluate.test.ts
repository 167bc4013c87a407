import { describe, expect, it } from 'vitest';
import { AlertTaskSpec, type AlertTaskSpecInput, type CrowdRule } from '../contract.ts';
import { codeWithin, dedupKey, grant, inDates, inWindows, judge, passesRules, type PersonView } from './evaluate.ts';
import { shanghaiDay, shanghaiMinuteOfDay } from './shanghai-time.ts';

const at = (iso: string) => Date.parse(iso);
const base: AlertTaskSpecInput = {
  alertType: 'typhoon',
  region: { parts: [{ kind: 'circle', center: [120.15, 30.28], radiusM: 1000 }] },
  subject: 'Typhoon',
  content: 'Take shelter',
  signature: 'Hangzhou EMA',
  startDate: '2026-11-25',
  endDate: '2026-11-27',
  windows: [
    { start: '08:00', end: '12:00' },
    { start: '14:00', end: '20:00' },
  ],
  frequency: 'daily',
  minDwellMin: 10,
  quota: { cmcc: { total: 100, dailyCap: 50 }, cucc: { total: 10, dailyCap: 10 } },
  balance: 110,
  accountId: 'acc1',
  enterpriseId: 'ent1',
};
const spec = (over: Partial<AlertTaskSpecInput> = {}) => AlertTaskSpec.parse({ ...base, ...over });

describe('Asia/Shanghai time', () => {
  it.each([
    ['2026-11-24T16:00:00Z', '20261125', 0],
    ['2026-11-25T15:59:59Z', '20261125', 23 * 60 + 59],
    ['2026-11-25T00:30:00Z', '20261125', 8 * 60 + 30],
  ])('%s is day %s, minute %i there', (iso, day, minute) => {
    expect(shanghaiDay(at(iso))).toBe(day);
    expect(shanghaiMinuteOfDay(at(iso))).toBe(minute);
  });
});

describe('dates and windows', () => {
  const s = spec();
  it.each([
    ['the first minute of the first day', '2026-11-24T16:00:00Z', true],
    ['the last minute of the last day', '2026-11-27T15:59:00Z', true],
    ['a minute before the first day', '2026-11-24T15:59:00Z', false],
    ['the day after', '2026-11-27T16:00:00Z', false],
  ])('dates: %s → %s', (_n, iso, want) => expect(inDates(s, at(iso))).toBe(want));
  it.each([
    ['08:00 (window start, inclusive)', '2026-11-25T00:00:00Z', true],
    ['11:59', '2026-11-25T03:59:00Z', true],
    ['12:00 (window end, exclusive)', '2026-11-25T04:00:00Z', false],
    ['13:00, between windows', '2026-11-25T05:00:00Z', false],
    ['19:30 in the second window', '2026-11-25T11:30:00Z', true],
    ['07:59', '2026-11-24T23:59:00Z', false],
  ])('windows: %s → %s', (_n, iso, want) => expect(inWindows(s, at(iso))).toBe(want));
  it('an empty window list means all day', () => expect(inWindows(spec({ windows: [] }), at('2026-11-25T20:00:00Z'))).toBe(true));
});

describe('keep/exclude rules', () => {
  const p: PersonView = { carrier: 'cmcc', gender: 'f', age: 34, home: '330106' };
  const rows: [string, CrowdRule[], PersonView, boolean][] = [
    ['no rules', [], p, true],
    ['keep women', [{ attribute: 'gender', action: 'keep', values: ['f'] }], p, true],
    ['exclude women', [{ attribute: 'gender', action: 'exclude', values: ['f'] }], p, false],
    ['keep gender when unknown', [{ attribute: 'gender', action: 'keep', values: ['f'] }], { carrier: 'cmcc' }, false],
    ['exclude gender when unknown', [{ attribute: 'gender', action: 'exclude', values: ['f'] }], { carrier: 'cmcc' }, true],
    ['keep ages 18–34 (edge)', [{ attribute: 'age', action: 'keep', min: 18, max: 34 }], p, true],
    ['keep ages 35–60', [{ attribute: 'age', action: 'keep', min: 35, max: 60 }], p, false],
    ['keep home in Zhejiang', [{ attribute: 'home', action: 'keep', codes: ['330000'] }], p, true],
    ['keep home in Hangzhou city', [{ attribute: 'home', action: 'keep', codes: ['330100'] }], p, true],
    ['keep home in another district', [{ attribute: 'home', action: 'keep', codes: ['330105'] }], p, false],
    ['exclude home in Guangdong', [{ attribute: 'home', action: 'exclude', codes: ['440000'] }], p, true],
    ['keep locals (explicit codes)', [{ attribute: 'locality', action: 'keep', value: 'local', localCodes: ['330100'] }], p, true],
    ['keep roaming (explicit codes)', [{ attribute: 'locality', action: 'keep', value: 'roaming', localCodes: ['330100'] }], p, false],
    [
      'exclude roaming, from Shanghai',
      [{ attribute: 'locality', action: 'exclude', value: 'roaming', localCodes: ['330100'] }],
      { ...p, home: '310101' },
      false,
    ],
    ['keep China Mobile', [{ attribute: 'carrier', action: 'keep', values: ['cmcc'] }], p, true],
    ['exclude China Mobile', [{ attribute: 'carrier', action: 'exclude', values: ['cmcc'] }], p, false],
    [
      'keep women AND exclude China Mobile',
      [
        { attribute: 'gender', action: 'keep', values: ['f'] },
        { attribute: 'carrier', action: 'exclude', values: ['cmcc'] },
      ],
      p,
      false,
    ],
  ];
  it.each(rows)('%s', (_n, rules, person, want) => expect(passesRules(rules, person)).toBe(want));
  // Local = home city is the city of the current cell, whatever the region's shape (#18).
  const local: CrowdRule[] = [{ attribute: 'locality', action: 'keep', value: 'local' }];
  const roaming: CrowdRule[] = [{ attribute: 'locality', action: 'keep', value: 'roaming' }];
  it.each<[string, PersonView, boolean, boolean]>([
    ['home a district of the city it is in', { carrier: 'cmcc', home: '330106', here: '330100' }, true, false],
    ['home the city itself', { carrier: 'cmcc', home: '330100', here: '330100' }, true, false],
    ['home another city of the province', { carrier: 'cmcc', home: '330203', here: '330100' }, false, true],
    ['home another province', { carrier: 'cmcc', home: '310101', here: '330100' }, false, true],
    ['home unknown', { carrier: 'cmcc', here: '330100' }, false, false],
    ['whereabouts unknown (a cell outside the geography)', { carrier: 'cmcc', home: '330100' }, false, false],
  ])('locality by where they are: %s → local %s, roaming %s', (_n, person, isLocal, isRoaming) => {
    expect(passesRules(local, person)).toBe(isLocal);
    expect(passesRules(roaming, person)).toBe(isRoaming);
  });
  it('explicit local codes override where the person is', () => {
    expect(
      passesRules([{ attribute: 'locality', action: 'keep', value: 'local', localCodes: ['330200'] }], {
        carrier: 'cmcc',
        home: '330203',
        here: '330100',
      }),
    ).toBe(true);
    expect(
      passesRules([{ attribute: 'locality', action: 'keep', value: 'roaming', localCodes: ['330200'] }], {
        carrier: 'cmcc',
        home: '330100',
      }),
    ).toBe(true);
  });
  it.each([
    ['440305', '440000', true],
    ['440305', '440300', true],
    ['440305', '440306', false],
    ['440305', '440305', true],
    ['450305', '440000', false],
  ])('home %s within %s → %s', (home, area, want) => expect(codeWithin(home, area)).toBe(want));
});

describe('judge: the per-person verdict before dedup and budgets', () => {
  const s = spec({ rules: [{ attribute: 'age', action: 'keep', min: 18, max: 60 }] });
  const inWindow = at('2026-11-25T02:00:00Z'); // 10:00 Shanghai
  const p: PersonView = { carrier: 'cmcc', age: 30 };
  it.each([
    ['qualifies after 10 min dwell', p, inWindow - 10 * 60_000, inWindow, { send: true }],
    ['dwell not reached at 9 min', p, inWindow - 9 * 60_000, inWindow, { send: false, reason: 'dwell' }],
    ['outside windows (13:00)', p, 0, at('2026-11-25T05:00:00Z'), { send: false, reason: 'window' }],
    ['outside dates', p, 0, at('2026-11-28T02:00:00Z'), { send: false, reason: 'window' }],
    ['excluded by rule (age 70)', { ...p, age: 70 }, 0, inWindow, { send: false, reason: 'rule' }],
    ['carrier without quota (ctcc)', { ...p, carrier: 'ctcc' as const }, 0, inWindow, { send: false, reason: 'no_quota' }],
  ])('%s', (_n, person, entered, now, want) => expect(judge(s, person, entered, now)).toEqual(want));
});

describe('frequency dedup keys', () => {
  const t1 = at('2026-11-25T02:00:00Z'),
    t2 = at('2026-11-25T15:00:00Z'),
    t3 = at('2026-11-25T16:00:00Z');
  it('once: one key for the whole task', () => {
    expect(dedupKey('T1', '13800000000', 'once', t1)).toBe(dedupKey('T1', '13800000000', 'once', t3));
  });
  it('daily: the same key within a Shanghai day, a new one after Shanghai midnight', () => {
    expect(dedupKey('T1', '13800000000', 'daily', t1)).toBe(dedupKey('T1', '13800000000', 'daily', t2));
    expect(dedupKey('T1', '13800000000', 'daily', t3)).not.toBe(dedupKey('T1', '13800000000', 'daily', t2));
    expect(dedupKey('T1', '13800000000', 'daily', t3)).toBe('T1.13800000000.20261126');
  });
});

describe('budgets: daily cap, task total, then balance', () => {
  const q = { total: 100, dailyCap: 50 };
  it.each([
    ['room for all', 10, { dailyUsed: 0, totalUsed: 0, balance: 1000 }, { granted: 10, skipped: {} }],
    ['daily cap cuts', 10, { dailyUsed: 45, totalUsed: 45, balance: 1000 }, { granted: 5, skipped: { daily_cap: 5 } }],
    ['total cuts', 10, { dailyUsed: 0, totalUsed: 97, balance: 1000 }, { granted: 3, skipped: { total_cap: 7 } }],
    ['balance cuts', 10, { dailyUsed: 0, totalUsed: 0, balance: 4 }, { granted: 4, skipped: { balance: 6 } }],
    ['all three', 20, { dailyUsed: 40, totalUsed: 95, balance: 2 }, { granted: 2, skipped: { daily_cap: 10, total_cap: 5, balance: 3 } }],
    ['daily cap already exceeded by others', 5, { dailyUsed: 60, totalUsed: 60, balance: 9 }, { granted: 0, skipped: { daily_cap: 5 } }],
  ])('%s', (_n, want, b, expected) => expect(grant(want, q, b)).toEqual(expected));
});
