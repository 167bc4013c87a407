import { ALERT_TYPES, type AlertType, type RegionPart } from '@geo/alerting';
import { ALERT_TYPE_INFO } from '../alert-types.ts';
import type { CapOrigin, TaskForm } from '../task-form.ts';
import { capRef, type CapAlert, type CapArea, type CapInfo, type CapIssue, type CapValue } from './cap-xml.ts';

/**
 * CAP 1.2 ⇄ the big-data task form.
 *
 * Import: the Chinese `info` (language zh…) is the SMS — headline (else event) the subject,
 * description and instruction the body; the other languages are kept as the task's `texts`;
 * `area`s become region parts (polygon "lat,lon …" → a polygon of [lon, lat], circle "lat,lon km" →
 * a circle in metres, geocode valueName GB/T 2260 → an administrative area); effective (else onset,
 * else sent) is the start date and expires the end date, as China days. Fields CAP has no place for
 * (quota, signature, windows, rules, letter) travel in the parameter `geo-alert:form` (JSON), or come
 * with the request; a region CAP cannot say exactly (holes, rectangles, polylines, an edge buffer)
 * in the parameter `geo-alert:region` (JSON), which wins over the areas when present.
 */

export const PARAM_FORM = 'geo-alert:form';
export const PARAM_REGION = 'geo-alert:region';
export const EVENT_CODE_TYPE = 'geo-alert:alertType';
/** geocode valueNames taken as GB/T 2260 administrative codes. */
export const GB2260_NAMES = /^(GB\/?T ?2260(-\d{4})?|GB2260|geo-alert:admin)$/i;

const KEYWORDS: [AlertType, RegExp][] = [
  ['typhoon', /台风|typhoon|hurricane|cyclone|tropical storm/i],
  ['rainstorm', /暴雨|强降雨|rainstorm|heavy rain/i],
  ['flood', /洪水|洪涝|山洪|flood/i],
  ['fire', /火|fire/i],
  ['geological', /地质|滑坡|泥石流|崩塌|landslide|debris flow|mudslide/i],
  ['earthquake', /地震|earthquake|seismic|tsunami|海啸/i],
  ['heat', /高温|heat/i],
  ['cold', /寒潮|低温|霜冻|cold|frost|freez/i],
  ['snow', /暴雪|降雪|snow|blizzard/i],
];

const CATEGORY_OF: Record<AlertType, string> = {
  typhoon: 'Met',
  rainstorm: 'Met',
  flood: 'Met',
  fire: 'Fire',
  geological: 'Geo',
  earthquake: 'Geo',
  heat: 'Met',
  cold: 'Met',
  snow: 'Met',
  other: 'Other',
};

const isZh = (i: CapInfo) => /^zh\b/i.test(i.language || 'en-US');
const param = (vs: CapValue[], name: string) => vs.find((v) => v.valueName === name)?.value;
const body = (i: CapInfo) => [i.description, i.instruction].filter(Boolean).join('\n') || i.headline || i.event;
const day = (capTime: string) => new Date(Date.parse(capTime) + 8 * 3600_000).toISOString().slice(0, 10);

function alertTypeOf(infos: CapInfo[]): AlertType {
  for (const i of infos) {
    const t = param(i.eventCode, EVENT_CODE_TYPE);
    if (t && (ALERT_TYPES as readonly string[]).includes(t)) return t as AlertType;
  }
  for (const i of infos) for (const [t, re] of KEYWORDS) if (re.test(`${i.event} ${i.headline ?? ''}`)) return t;
  return 'other';
}

/** "lat,lon lat,lon …" as a ring of [lon, lat]. */
const ring = (polygon: string): [number, number][] =>
  polygon.split(/\s+/).map((p) => {
    const [lat, lon] = p.split(',').map(Number);
    return [lon!, lat!];
  });

function areaParts(area: CapArea, path: string, issues: CapIssue[]): RegionPart[] {
  const parts: RegionPart[] = [];
  for (const p of area.polygon) parts.push({ kind: 'polygon', rings: [ring(p)] });
  for (const c of area.circle) {
    const [at, km] = c.trim().split(/\s+/);
    const [lat, lon] = at!.split(',').map(Number);
    parts.push({ kind: 'circle', center: [lon!, lat!], radiusM: Math.round(Number(km) * 1_000_000) / 1000 });
  }
  const codes = area.geocode.filter((g) => GB2260_NAMES.test(g.valueName));
  codes.forEach((g, k) => {
    if (!/^\d{6}$/.test(g.value))
      issues.push({
        path: `${path}.geocode[${area.geocode.indexOf(g)}].value`,
        message: `GB/T 2260 行政区划代码须为 6 位数字，实际为“${g.value}”`,
      });
    else
      parts.push({
        kind: 'admin',
        code: g.value,
        ...(codes.length === 1 && !area.polygon.length && !area.circle.length ? { name: area.areaDesc } : {}),
      });
    void k;
  });
  if (!parts.length)
    issues.push({ path, message: `区域“${area.areaDesc}”没有可用的范围：须有 <polygon>、<circle> 或 valueName 为 GB/T 2260 的 <geocode>` });
  return parts;
}

function jsonParam(info: CapInfo, name: string, path: string, issues: CapIssue[]): Record<string, unknown> | undefined {
  const raw = param(info.parameter, name);
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // answered below
  }
  issues.push({ path: `${path}.parameter`, message: `参数 ${name} 须为 JSON 对象` });
  return undefined;
}

export interface Imported {
  /** The form as CAP says it (not yet checked against the task form's rules). */
  form: Record<string, unknown>;
  issues: CapIssue[];
}

/** The task form an alert describes; `today` (a China day) is the earliest start. */
export function capToForm(a: CapAlert, today: string): Imported {
  const issues: CapIssue[] = [];
  const zi = a.info.findIndex(isZh);
  if (zi < 0) {
    issues.push({ path: 'alert.info', message: '缺少中文 <info>（language 为 zh-CN 等）：中文文本是短信内容' });
    return { form: {}, issues };
  }
  const zh = a.info[zi]!;
  const at = `alert.info[${zi}]`;
  const extra = jsonParam(zh, PARAM_FORM, at, issues) ?? {};
  let region: unknown = jsonParam(zh, PARAM_REGION, at, issues);
  if (!region) {
    // The Chinese info's areas; CAP lets each info carry its own, and many senders put them on one only.
    const ai = zh.area.length ? zi : a.info.findIndex((i) => i.area.length > 0);
    const parts = ai < 0 ? [] : a.info[ai]!.area.flatMap((area, j) => areaParts(area, `alert.info[${ai}].area[${j}]`, issues));
    if (ai < 0) issues.push({ path: `${at}.area`, message: '预警没有 <area>：请给出发送区域' });
    region = { parts, edgeBufferM: 0 };
  }
  const content = body(zh);
  const start = zh.effective ?? zh.onset ?? a.sent;
  const startDate = day(start) < today ? today : day(start);
  const endDate = zh.expires ? day(zh.expires) : startDate;
  const origin: CapOrigin = {
    sender: a.sender,
    identifier: a.identifier,
    sent: a.sent,
    refs: [capRef(a)],
    status: a.status,
    scope: a.scope,
    infos: a.info.map((i) => ({
      language: i.language || 'en-US',
      category: i.category,
      event: i.event,
      responseType: i.responseType,
      urgency: i.urgency,
      severity: i.severity,
      certainty: i.certainty,
      ...(i.senderName ? { senderName: i.senderName } : {}),
      ...(i.headline ? { headline: i.headline } : {}),
      ...(i.description ? { description: i.description } : {}),
      ...(i.instruction ? { instruction: i.instruction } : {}),
      ...(i.web ? { web: i.web } : {}),
      ...(i.contact ? { contact: i.contact } : {}),
    })),
  };
  const texts = a.info
    .filter((i) => !isZh(i))
    .map((i) => ({ language: i.language || 'en-US', subject: (i.headline ?? i.event).slice(0, 200), content: body(i) }));
  const form: Record<string, unknown> = {
    alertType: alertTypeOf(a.info),
    region,
    subject: (zh.headline ?? zh.event).slice(0, 100),
    content,
    startDate,
    endDate,
    windows: [],
    frequency: 'once',
    minDwellMin: 0,
    rules: [],
    quota: {},
    ...pick(extra, ['signature', 'windows', 'frequency', 'minDwellMin', 'rules', 'quota', 'authorizationLetter']),
    ...(texts.length ? { texts } : {}),
    // An exercise or a test of the warning chain is sent as an exercise (演练), never as a real alert.
    ...(a.status === 'Exercise' || a.status === 'Test' ? { exercise: true } : {}),
    cap: origin,
  };
  return { form, issues };
}

const pick = (o: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));

// ---------------------------------------------------------------- export

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** A time as CAP writes it, in China time: 2026-12-07T08:00:00+08:00. */
export const capTime = (ms: number) => `${new Date(ms + 8 * 3600_000).toISOString().slice(0, 19)}+08:00`;
const num = (n: number) => String(n);
const capPolygon = (r: [number, number][]) => {
  const pts = r.map(([lon, lat]) => `${num(lat)},${num(lon)}`);
  if (pts[0] !== pts[pts.length - 1]) pts.push(pts[0]!);
  return pts.join(' ');
};

/** True when the region's parts say exactly what CAP areas can: whole admin areas, circles, polygons without holes. */
function plainInCap(region: TaskForm['region']): boolean {
  return (
    (region.edgeBufferM ?? 0) === 0 &&
    region.parts.every((p) => (p.kind === 'admin' && !p.geometry) || p.kind === 'circle' || (p.kind === 'polygon' && p.rings.length === 1))
  );
}

function areasXml(region: TaskForm['region']): string[] {
  return region.parts.flatMap((p): string[] => {
    switch (p.kind) {
      case 'admin':
        return [`<areaDesc>${esc(p.name ?? p.code)}</areaDesc><geocode><valueName>GB/T 2260</valueName><value>${p.code}</value></geocode>`];
      case 'circle':
        return [`<areaDesc>圆形区域</areaDesc><circle>${num(p.center[1])},${num(p.center[0])} ${num(p.radiusM / 1000)}</circle>`];
      case 'polygon':
        // CAP polygons have no holes: the outer ring here, the exact region in geo-alert:region.
        return [`<areaDesc>多边形区域</areaDesc><polygon>${capPolygon(p.rings[0]!)}</polygon>`];
      case 'multipolygon':
        return [`<areaDesc>多边形区域</areaDesc>${p.polygons.map((pg) => `<polygon>${capPolygon(pg[0]!)}</polygon>`).join('')}`];
      case 'rectangle':
        return [
          `<areaDesc>矩形区域</areaDesc><polygon>${capPolygon([
            [p.west, p.south],
            [p.east, p.south],
            [p.east, p.north],
            [p.west, p.north],
          ])}</polygon>`,
        ];
      case 'polyline':
        return [];
    }
  });
}

export interface ExportedTask {
  id: string;
  enterpriseId: string;
  form: TaskForm;
  createdAt: string | null;
  submittedAt: string | null;
}

/** A task as a CAP 1.2 alert (msgType Alert): importing it gives the same task. */
export function taskToCap(t: ExportedTask): string {
  const f = t.form;
  const o = f.cap;
  const type = f.alertType as AlertType;
  const sent = o?.sent ?? capTime(Date.parse(t.submittedAt ?? t.createdAt ?? new Date().toISOString()));
  const meta = (lang: string) => o?.infos.find((i) => i.language === lang);
  const zhLang = o?.infos.find((i) => /^zh\b/i.test(i.language))?.language ?? 'zh-CN';
  const extra = JSON.stringify(
    pick(f as unknown as Record<string, unknown>, [
      'signature',
      'windows',
      'frequency',
      'minDwellMin',
      'rules',
      'quota',
      'authorizationLetter',
    ]),
  );
  const areas = areasXml(f.region).map((a) => `<area>${a}</area>`);
  const info = (lang: string, headline: string | undefined, content: string, withParams: boolean) => {
    const m = meta(lang);
    const el = (name: string, v: string | undefined) => (v === undefined ? '' : `<${name}>${esc(v)}</${name}>`);
    // Unchanged texts go out as they came in (description and instruction apart); changed ones as the description.
    const same = m !== undefined && body(m as CapInfo) === content;
    return [
      '<info>',
      el('language', lang),
      ...(m?.category.length ? m.category : [CATEGORY_OF[type]]).map((c) => el('category', c)),
      el('event', m?.event ?? (ALERT_TYPE_INFO[type].label || headline || type)),
      ...(m?.responseType ?? []).map((r) => el('responseType', r)),
      el('urgency', m?.urgency ?? 'Unknown'),
      el('severity', m?.severity ?? 'Unknown'),
      el('certainty', m?.certainty ?? 'Unknown'),
      `<eventCode><valueName>${EVENT_CODE_TYPE}</valueName><value>${type}</value></eventCode>`,
      el('effective', `${f.startDate}T00:00:00+08:00`),
      el('expires', `${f.endDate}T23:59:59+08:00`),
      el('senderName', m ? m.senderName : withParams ? f.signature : undefined),
      el('headline', m && m.headline === undefined && headline === m.event ? undefined : headline),
      el('description', same ? m.description : content),
      el('instruction', same ? m.instruction : undefined),
      el('web', m?.web),
      el('contact', m?.contact),
      ...(withParams
        ? [
            `<parameter><valueName>${PARAM_FORM}</valueName><value>${esc(extra)}</value></parameter>`,
            ...(plainInCap(f.region)
              ? []
              : [`<parameter><valueName>${PARAM_REGION}</valueName><value>${esc(JSON.stringify(f.region))}</value></parameter>`]),
          ]
        : []),
      ...areas,
      '</info>',
    ].join('');
  };
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">',
    `<identifier>${esc(o?.identifier ?? t.id)}</identifier>`,
    `<sender>${esc(o?.sender ?? `${t.enterpriseId}.geo-alert`)}</sender>`,
    `<sent>${esc(sent)}</sent>`,
    `<status>${f.exercise ? (o?.status === 'Test' ? 'Test' : 'Exercise') : 'Actual'}</status>`,
    '<msgType>Alert</msgType>',
    // Restricted and Private need recipients CAP names elsewhere; an exported task is for the public.
    '<scope>Public</scope>',
    info(zhLang, f.subject, f.content, true),
    // A text without a subject has no <headline>: an empty one is refused by CAP 1.2 (and by our import).
    ...(f.texts ?? []).map((x) => info(x.language, x.subject || undefined, x.content, false)),
    '</alert>',
    '',
  ].join('\n');
}
