import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * Reading an OASIS CAP 1.2 alert (Common Alerting Protocol, `urn:oasis:names:tc:emergency:cap:1.2`):
 * well-formed XML first (fast-xml-parser's validator), then the CAP 1.2 schema's structure checked
 * element by element — required and repeated elements, unknown elements, enumerations, date-time
 * and identifier formats, polygon and circle syntax — each problem reported once with its element
 * path (`alert.info[0].area[1].polygon[0]`) and a Chinese message. No DTD and no entity other than
 * XML's five and numeric character references is read (XXE, billion laughs).
 */

export const CAP_NS = 'urn:oasis:names:tc:emergency:cap:1.2';

export interface CapIssue {
  path: string;
  message: string;
}
export interface CapValue {
  valueName: string;
  value: string;
}
export interface CapArea {
  areaDesc: string;
  polygon: string[];
  circle: string[];
  geocode: CapValue[];
  altitude?: string;
  ceiling?: string;
}
export interface CapInfo {
  language: string;
  category: string[];
  event: string;
  responseType: string[];
  urgency: string;
  severity: string;
  certainty: string;
  audience?: string;
  eventCode: CapValue[];
  effective?: string;
  onset?: string;
  expires?: string;
  senderName?: string;
  headline?: string;
  description?: string;
  instruction?: string;
  web?: string;
  contact?: string;
  parameter: CapValue[];
  area: CapArea[];
}
export interface CapAlert {
  identifier: string;
  sender: string;
  sent: string;
  status: string;
  msgType: string;
  source?: string;
  scope: string;
  restriction?: string;
  addresses?: string;
  code: string[];
  note?: string;
  references?: string;
  incidents?: string;
  info: CapInfo[];
}

export const STATUS = ['Actual', 'Exercise', 'System', 'Test', 'Draft'] as const;
export const MSG_TYPE = ['Alert', 'Update', 'Cancel', 'Ack', 'Error'] as const;
export const SCOPE = ['Public', 'Restricted', 'Private'] as const;
export const CATEGORY = [
  'Geo',
  'Met',
  'Safety',
  'Security',
  'Rescue',
  'Fire',
  'Health',
  'Env',
  'Transport',
  'Infra',
  'CBRNE',
  'Other',
] as const;
export const RESPONSE_TYPE = ['Shelter', 'Evacuate', 'Prepare', 'Execute', 'Avoid', 'Monitor', 'Assess', 'AllClear', 'None'] as const;
export const URGENCY = ['Immediate', 'Expected', 'Future', 'Past', 'Unknown'] as const;
export const SEVERITY = ['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown'] as const;
export const CERTAINTY = ['Observed', 'Likely', 'Possible', 'Unlikely', 'Unknown'] as const;

/** CAP 1.2's dateTime: the XSD's pattern, an explicit offset and no fractional seconds ("Z" is not allowed). */
export const CAP_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[-+]\d{2}:\d{2}$/;
/** identifier and sender: no spaces, commas or restricted characters (< and &). */
const CAP_ID = /^[^\s,<&]+$/;
const NUM = '-?\\d+(?:\\.\\d+)?';
/** "lat,lon lat,lon …" (WGS 84), at least four pairs. */
const POLYGON = new RegExp(`^${NUM},${NUM}(?:\\s+${NUM},${NUM}){3,}$`);
/** "lat,lon radius" with the radius in kilometres. */
const CIRCLE = new RegExp(`^${NUM},${NUM}\\s+\\d+(?:\\.\\d+)?$`);

type Kind =
  | { t: 'text' }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'dateTime' }
  | { t: 'id' }
  | { t: 'polygon' }
  | { t: 'circle' }
  | { t: 'decimal' }
  | { t: 'el'; spec: Spec };
interface Child {
  kind: Kind;
  min: 0 | 1;
  many: boolean;
}
type Spec = Record<string, Child>;

const one = (kind: Kind): Child => ({ kind, min: 1, many: false });
const opt = (kind: Kind): Child => ({ kind, min: 0, many: false });
const any = (kind: Kind): Child => ({ kind, min: 0, many: true });
const some = (kind: Kind): Child => ({ kind, min: 1, many: true });
const text: Kind = { t: 'text' };
const enumOf = (values: readonly string[]): Kind => ({ t: 'enum', values });
const valuePair: Kind = { t: 'el', spec: { valueName: one(text), value: one(text) } };

const AREA: Spec = {
  areaDesc: one(text),
  polygon: any({ t: 'polygon' }),
  circle: any({ t: 'circle' }),
  geocode: any(valuePair),
  altitude: opt({ t: 'decimal' }),
  ceiling: opt({ t: 'decimal' }),
};
const RESOURCE: Spec = {
  resourceDesc: one(text),
  mimeType: one(text),
  size: opt({ t: 'decimal' }),
  uri: opt(text),
  derefUri: opt(text),
  digest: opt(text),
};
const INFO: Spec = {
  language: opt(text),
  category: some(enumOf(CATEGORY)),
  event: one(text),
  responseType: any(enumOf(RESPONSE_TYPE)),
  urgency: one(enumOf(URGENCY)),
  severity: one(enumOf(SEVERITY)),
  certainty: one(enumOf(CERTAINTY)),
  audience: opt(text),
  eventCode: any(valuePair),
  effective: opt({ t: 'dateTime' }),
  onset: opt({ t: 'dateTime' }),
  expires: opt({ t: 'dateTime' }),
  senderName: opt(text),
  headline: opt(text),
  description: opt(text),
  instruction: opt(text),
  web: opt(text),
  contact: opt(text),
  parameter: any(valuePair),
  resource: any({ t: 'el', spec: RESOURCE }),
  area: any({ t: 'el', spec: AREA }),
};
const ALERT: Spec = {
  identifier: one({ t: 'id' }),
  sender: one({ t: 'id' }),
  sent: one({ t: 'dateTime' }),
  status: one(enumOf(STATUS)),
  msgType: one(enumOf(MSG_TYPE)),
  source: opt(text),
  scope: one(enumOf(SCOPE)),
  restriction: opt(text),
  addresses: opt(text),
  code: any(text),
  note: opt(text),
  references: opt(text),
  incidents: opt(text),
  info: any({ t: 'el', spec: INFO }),
};

/** The largest CAP document read (a drawn polygon of 10,000 points is about 0.4 MB). */
export const MAX_CAP_BYTES = 2 * 1024 * 1024;

type Raw = string | { [k: string]: Raw[] | string };

const ENTITY = /&(lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
function decode(s: string): string {
  return s.replace(ENTITY, (_, e: string) => {
    if (NAMED[e]) return NAMED[e];
    const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\uFFFD';
  });
}

export type CapRead = { ok: true; alert: CapAlert } | { ok: false; issues: CapIssue[] };

/** Reads and checks a CAP 1.2 alert; every problem found, or the alert. */
export function readCap(xml: string): CapRead {
  const fail = (path: string, message: string): CapRead => ({ ok: false, issues: [{ path, message }] });
  if (xml.length > MAX_CAP_BYTES) return fail('alert', `CAP 文档过大（上限 ${MAX_CAP_BYTES / 1048576} MB）`);
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return fail('alert', '不接受 DTD 或实体声明（<!DOCTYPE>、<!ENTITY>）：CAP 1.2 文档不需要它们');
  if (!xml.trim()) return fail('alert', 'CAP 文档为空');
  const wf = XMLValidator.validate(xml, { allowBooleanAttributes: false });
  if (wf !== true) return fail(`line ${wf.err.line}, col ${wf.err.col}`, `不是格式正确的 XML：${wf.err.msg}`);
  // An entity other than XML's own (undeclared, since no DTD is read) is refused, not kept as text.
  const stray = /&(?!(lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});)[^;\s]{0,20};?/.exec(xml);
  if (stray) return fail('alert', `未定义的实体引用 ${stray[0]}`);
  const doc = new XMLParser({
    ignoreAttributes: false,
    removeNSPrefix: false,
    parseTagValue: false,
    parseAttributeValue: false,
    processEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    trimValues: true,
    isArray: (_n, _j, _leaf, attr) => !attr,
  }).parse(xml) as Record<string, Raw[]>;
  const roots = Object.keys(doc).filter((k) => !k.startsWith('?'));
  if (roots.length !== 1 || (doc[roots[0]!]?.length ?? 0) !== 1) return fail('alert', '文档须只有一个根元素 <alert>');
  const rootName = roots[0]!;
  const [prefix, local] = rootName.includes(':') ? rootName.split(':', 2) : ['', rootName];
  const root = doc[rootName]![0]!;
  if (local !== 'alert') return fail(rootName, `根元素须为 CAP 1.2 的 <alert>，实际为 <${rootName}>`);
  const ns = typeof root === 'object' ? root[prefix ? `@_xmlns:${prefix}` : '@_xmlns'] : undefined;
  if (ns !== CAP_NS) return fail('alert', `命名空间须为 ${CAP_NS}，实际为 ${typeof ns === 'string' ? ns : '（未声明）'}`);
  const issues: CapIssue[] = [];
  const alert = walk(root, ALERT, 'alert', prefix!, issues) as unknown as CapAlert;
  if (issues.length) return { ok: false, issues };
  orderIssues(xml, rootName, prefix!, issues);
  if (issues.length) return { ok: false, issues };
  crossChecks(alert, issues);
  return issues.length ? { ok: false, issues } : { ok: true, alert };
}

type Ordered = Record<string, unknown>[];

/** The XSD's sequences: each element's children in the order CAP 1.2 lists them (read again, in document order). */
function orderIssues(xml: string, rootName: string, prefix: string, issues: CapIssue[]): void {
  const doc = new XMLParser({
    ignoreAttributes: true,
    preserveOrder: true,
    parseTagValue: false,
    processEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
  }).parse(xml) as Ordered;
  const root = doc.find((n) => rootName in n);
  if (root) check(root[rootName] as Ordered, ALERT, 'alert');

  function check(children: Ordered, spec: Spec, path: string): void {
    const order = Object.keys(spec);
    const seen: Record<string, number> = {};
    let last = -1;
    let lastName = '';
    for (const child of children) {
      const key = Object.keys(child).find((k) => k !== ':@' && k !== '#text');
      if (!key) continue;
      const local = prefix && key.startsWith(`${prefix}:`) ? key.slice(prefix.length + 1) : key;
      const at = order.indexOf(local);
      if (at < 0) continue;
      const c = spec[local]!;
      const i = (seen[local] = (seen[local] ?? -1) + 1);
      const here = c.many ? `${path}.${local}[${i}]` : `${path}.${local}`;
      if (at < last) {
        issues.push({ path: here, message: `<${local}> 应在 <${lastName}> 之前（CAP 1.2 规定的顺序：${order.join('、')}）` });
        return;
      }
      last = at;
      lastName = local;
      if (c.kind.t === 'el') check(child[key] as Ordered, c.kind.spec, here);
    }
  }
}

function walk(node: Raw, spec: Spec, path: string, prefix: string, issues: CapIssue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof node === 'string') {
    if (node.trim()) issues.push({ path, message: '此元素应包含子元素，而不是文本' });
    node = {};
  }
  for (const key of Object.keys(node)) {
    if (key.startsWith('@_')) {
      if (!key.startsWith('@_xmlns')) issues.push({ path, message: `CAP 1.2 的元素没有属性 ${key.slice(2)}` });
      continue;
    }
    if (key === '#text') {
      if (String(node[key]).trim()) issues.push({ path, message: '此元素应包含子元素，而不是文本' });
      continue;
    }
    const [p, local] = key.includes(':') ? key.split(':', 2) : ['', key];
    if (p !== prefix || !spec[local!]) issues.push({ path: `${path}.${key}`, message: `未知元素 <${key}>：不属于 CAP 1.2 的此位置` });
  }
  for (const [name, child] of Object.entries(spec)) {
    const items = (node[prefix ? `${prefix}:${name}` : name] as Raw[] | undefined) ?? [];
    if (items.length < child.min) issues.push({ path: `${path}.${name}`, message: `缺少必填元素 <${name}>` });
    if (!child.many && items.length > 1) issues.push({ path: `${path}.${name}`, message: `元素 <${name}> 只能出现一次` });
    const values = items.map((item, i) => {
      const at = child.many ? `${path}.${name}[${i}]` : `${path}.${name}`;
      if (child.kind.t === 'el') return walk(item, child.kind.spec, at, prefix, issues);
      return leaf(item, child.kind, at, name, issues);
    });
    out[name] = child.many ? values : values[0];
  }
  return out;
}

function leaf(item: Raw, kind: Kind, path: string, name: string, issues: CapIssue[]): string {
  if (typeof item !== 'string') {
    const keys = Object.keys(item).filter((k) => k !== '#text');
    if (keys.length) {
      issues.push({ path, message: `<${name}> 只能包含文本` });
      return '';
    }
    item = String(item['#text'] ?? '');
  }
  const v = decode(item).trim();
  if (!v) {
    issues.push({ path, message: `<${name}> 不能为空` });
    return v;
  }
  switch (kind.t) {
    case 'enum':
      if (!kind.values.includes(v)) issues.push({ path, message: `<${name}> 须为 ${kind.values.join('、')} 之一，实际为“${v}”` });
      break;
    case 'dateTime':
      if (!CAP_DATE_TIME.test(v) || Number.isNaN(Date.parse(v)))
        issues.push({ path, message: `<${name}> 的时间格式须为 YYYY-MM-DDThh:mm:ss±hh:mm（如 2026-12-07T08:00:00+08:00），实际为“${v}”` });
      break;
    case 'id':
      if (!CAP_ID.test(v)) issues.push({ path, message: `<${name}> 不能包含空格、逗号、< 或 &` });
      break;
    case 'polygon':
      if (!POLYGON.test(v)) issues.push({ path, message: '多边形须为至少 4 个以空格分隔的“纬度,经度”坐标对，且首尾相同' });
      else if (!closed(v)) issues.push({ path, message: '多边形的第一个坐标对与最后一个须相同（首尾闭合）' });
      break;
    case 'circle':
      if (!CIRCLE.test(v)) issues.push({ path, message: '圆须为“纬度,经度 半径”（半径单位为公里），如“30.25,120.16 5”' });
      break;
    case 'decimal':
      if (!/^-?\d+(\.\d+)?$/.test(v)) issues.push({ path, message: `<${name}> 须为数值` });
      break;
    case 'text':
    case 'el':
      break;
  }
  return v;
}

function closed(polygon: string): boolean {
  const pts = polygon.split(/\s+/);
  return pts[0] === pts[pts.length - 1] || same(pts[0]!, pts[pts.length - 1]!);
}
const same = (a: string, b: string) => {
  const [x, y] = a.split(',').map(Number);
  const [u, v] = b.split(',').map(Number);
  return x === u && y === v;
};

/** What the XSD cannot say but the CAP 1.2 specification does. */
function crossChecks(a: CapAlert, issues: CapIssue[]): void {
  if (a.scope === 'Restricted' && !a.restriction)
    issues.push({ path: 'alert.restriction', message: 'scope 为 Restricted 时须有 <restriction>' });
  if (a.scope === 'Private' && !a.addresses) issues.push({ path: 'alert.addresses', message: 'scope 为 Private 时须有 <addresses>' });
  if ((a.msgType === 'Update' || a.msgType === 'Cancel') && !a.references)
    issues.push({
      path: 'alert.references',
      message: `msgType 为 ${a.msgType} 时须用 <references> 指明所更新或取消的预警（sender,identifier,sent）`,
    });
  a.info.forEach((info, i) =>
    info.area.forEach((area, j) =>
      area.circle.forEach((c, k) => {
        const [lat, lon] = c.split(/[\s,]+/).map(Number);
        if (Math.abs(lat!) > 90 || Math.abs(lon!) > 180)
          issues.push({ path: `alert.info[${i}].area[${j}].circle[${k}]`, message: '坐标超出经纬度范围（纬度 ±90，经度 ±180）' });
      }),
    ),
  );
  a.info.forEach((info, i) =>
    info.area.forEach((area, j) =>
      area.polygon.forEach((p, k) => {
        if (p.split(/\s+/).some((pt) => Math.abs(Number(pt.split(',')[0])) > 90 || Math.abs(Number(pt.split(',')[1])) > 180))
          issues.push({ path: `alert.info[${i}].area[${j}].polygon[${k}]`, message: '坐标超出经纬度范围（纬度 ±90，经度 ±180）' });
      }),
    ),
  );
}

/** A CAP reference: "sender,identifier,sent". */
export const capRef = (a: { sender: string; identifier: string; sent: string }) => `${a.sender},${a.identifier},${a.sent}`;
/** The references element: whitespace-separated "sender,identifier,sent" triples. */
export const parseRefs = (refs: string | undefined) => (refs ?? '').split(/\s+/).filter((r) => r.split(',').length === 3);
