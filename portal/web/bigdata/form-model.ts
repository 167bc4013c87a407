import type { CrowdRule, RegionPart } from '@geo/alerting';
import type { CheckInValue } from './checkins/checkin-field.tsx';
import type { Hysteresis } from './hysteresis/hysteresis-field.tsx';
import { bt } from './zh-CN.ts';

export type Carrier = 'cmcc' | 'cucc' | 'ctcc';
export const CARRIERS: Carrier[] = ['cmcc', 'cucc', 'ctcc'];

/** The send form as the page edits it; `toPayload` gives what the API takes. */
export interface SendForm {
  alertType: string;
  /** Administrative areas picked (province → city → district). */
  areas: { code: string; name: string }[];
  /** Shapes drawn on the map. */
  drawn: RegionPart[];
  /** Regions imported from GeoJSON files. */
  imported: RegionPart[];
  subject: string;
  content: string;
  signature: string;
  startDate: string;
  endDate: string;
  windows: { start: string; end: string }[];
  frequency: 'once' | 'daily';
  minDwellMin: number;
  rules: CrowdRule[];
  quota: Record<Carrier, { on: boolean; total: number; dailyCap: number }>;
  letter: { id: string; name: string } | null;
  /** An exercise (演练): every SMS begins with 【演练】, never charged. */
  exercise: boolean;
  /** The English text, sent to people whose profile names another language (roaming-in foreigners). */
  english: string;
  /** Texts in other languages kept as they came (a CAP alert's ja-JP …), not edited here. */
  otherTexts: { language: string; subject?: string; content: string }[];
  /** 回复报平安: the answers the alert asks for, or undefined. */
  checkIn: CheckInValue;
  /** 边缘防抖: when someone jittering across the edge counts as having left, or undefined (every entry counts). */
  hysteresis: Hysteresis | undefined;
}

const isEnglish = (language: string) => /^en\b/i.test(language);

export function emptyForm(today: string, signature = ''): SendForm {
  return {
    alertType: '',
    areas: [],
    drawn: [],
    imported: [],
    subject: '',
    content: '',
    signature,
    startDate: today,
    endDate: today,
    windows: [{ start: '08:00', end: '20:00' }],
    frequency: 'daily',
    minDwellMin: 0,
    rules: [],
    quota: {
      cmcc: { on: true, total: 0, dailyCap: 0 },
      cucc: { on: true, total: 0, dailyCap: 0 },
      ctcc: { on: true, total: 0, dailyCap: 0 },
    },
    letter: null,
    exercise: false,
    english: '',
    otherTexts: [],
    checkIn: undefined,
    hysteresis: undefined,
  };
}

export const regionParts = (f: Pick<SendForm, 'areas' | 'drawn' | 'imported'>): RegionPart[] => [
  ...f.areas.map((a) => ({ kind: 'admin' as const, code: a.code, name: a.name })),
  ...f.drawn,
  ...f.imported,
];

export const quotaOf = (f: SendForm) =>
  Object.fromEntries(CARRIERS.filter((c) => f.quota[c].on).map((c) => [c, { total: f.quota[c].total, dailyCap: f.quota[c].dailyCap }]));

/** The API's form: region parts in order admin areas, drawn shapes, imported regions. */
export function toPayload(f: SendForm) {
  return {
    alertType: f.alertType,
    region: { parts: regionParts(f) },
    subject: f.subject,
    content: f.content,
    signature: f.signature,
    startDate: f.startDate,
    endDate: f.endDate,
    windows: f.windows,
    frequency: f.frequency,
    minDwellMin: f.minDwellMin,
    rules: f.rules,
    quota: quotaOf(f),
    authorizationLetter: f.letter?.id,
    exercise: f.exercise,
    texts: [...(f.english.trim() ? [{ language: 'en-US', content: f.english }] : []), ...f.otherTexts],
    ...(f.checkIn ? { checkIn: f.checkIn } : {}),
    ...(f.hysteresis ? { hysteresis: f.hysteresis } : {}),
    // Kept for drafts: which parts were imported and the letter's name.
    ui: { drawnCount: f.drawn.length, areasCount: f.areas.length, letterName: f.letter?.name },
  };
}

/** A saved form as the API gives it back (a draft, or the form of a task sent again): any field may be missing. */
export type SavedForm = Partial<Omit<ReturnType<typeof toPayload>, 'region' | 'quota' | 'ui'>> & {
  region?: { parts?: RegionPart[] };
  quota?: Partial<Record<Carrier, { total: number; dailyCap: number }>>;
  ui?: { drawnCount?: number; areasCount?: number; letterName?: string };
};

/** Back from a saved form (a draft, or a task sent again). */
export function fromPayload(p: SavedForm, today: string): SendForm {
  const f = emptyForm(today);
  const parts: RegionPart[] = p.region?.parts ?? [];
  const areas = parts.filter((x): x is Extract<RegionPart, { kind: 'admin' }> => x.kind === 'admin');
  const rest = parts.filter((x) => x.kind !== 'admin');
  const drawnCount = p.ui?.drawnCount ?? rest.filter((x) => x.kind !== 'multipolygon').length;
  return {
    ...f,
    alertType: p.alertType ?? '',
    areas: areas.map((a) => ({ code: a.code, name: a.name ?? a.code })),
    drawn: rest.slice(0, drawnCount),
    imported: rest.slice(drawnCount),
    subject: p.subject ?? '',
    content: p.content ?? '',
    signature: p.signature ?? '',
    // A task sent again starts today at the earliest.
    startDate: p.startDate && p.startDate >= today ? p.startDate : today,
    endDate: p.endDate && p.endDate >= today ? p.endDate : today,
    windows: p.windows ?? f.windows,
    frequency: p.frequency === 'once' ? 'once' : 'daily',
    minDwellMin: p.minDwellMin ?? 0,
    rules: p.rules ?? [],
    quota: Object.fromEntries(
      CARRIERS.map((c) => [
        c,
        p.quota?.[c] ? { on: true, total: p.quota[c].total, dailyCap: p.quota[c].dailyCap } : { on: !p.quota, total: 0, dailyCap: 0 },
      ]),
    ) as SendForm['quota'],
    letter: p.authorizationLetter ? { id: p.authorizationLetter, name: p.ui?.letterName ?? bt.send.letter } : null,
    exercise: p.exercise === true,
    english: p.texts?.find((t) => isEnglish(t.language))?.content ?? '',
    otherTexts: (p.texts ?? []).filter((t) => !isEnglish(t.language)),
    checkIn: p.checkIn,
    hysteresis: p.hysteresis,
  };
}

/** The value at an error's path (`quota.cmcc.total`, `rules.0`, `region.parts.2`) in a payload. */
export function valueAt(payload: unknown, path: string): unknown {
  let v: unknown = payload;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/**
 * The errors still standing: an error goes once the field it names (its path in the payload, or
 * anything below it) differs from what was submitted. `form` (the whole form's errors) stays until
 * the next submit.
 * @example errorsStillStanding({ subject: '请填写发送主题' }, { subject: '' }, { subject: '台风' }) // {}
 */
export function errorsStillStanding(errs: Record<string, string>, submitted: unknown, now: unknown): Record<string, string> {
  const same = (p: string) => JSON.stringify(valueAt(submitted, p)) === JSON.stringify(valueAt(now, p));
  return Object.fromEntries(Object.entries(errs).filter(([p, m]) => m && (p === 'form' || same(p))));
}
