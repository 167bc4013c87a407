import { describe, expect, it } from 'vitest';
import { readCap, type CapRead } from './cap-xml.ts';
import { capFixture } from './fixtures.ts';

const issues = (r: CapRead) => (r.ok ? [] : r.issues);
const valid = capFixture('typhoon-alert');
/** The valid alert with one piece of text replaced. */
const broken = (from: string | RegExp, to: string) => {
  const x = valid.replace(from, to);
  expect(x).not.toBe(valid);
  return readCap(x);
};

describe('CAP 1.2 reading and structural validation', () => {
  it('reads the fixtures: several languages, areas (geocode, polygon, circle), an Update with a cap: prefix and a Cancel', () => {
    const a = readCap(valid);
    expect(issues(a)).toEqual([]);
    if (!a.ok) return;
    expect(a.alert.info.map((i) => i.language)).toEqual(['zh-CN', 'en-US', 'ja-JP']);
    expect(a.alert.info[0]!.area.map((x) => x.areaDesc)).toEqual(['西湖区', '钱塘江沿岸', '萧山机场周边 5 公里']);
    expect(a.alert.info[0]!.headline).toBe('台风“海葵”红色预警');
    const u = readCap(capFixture('typhoon-update'));
    expect(issues(u)).toEqual([]);
    expect(u.ok && u.alert.msgType).toBe('Update');
    expect(u.ok && u.alert.info[0]!.area[0]!.geocode.map((g) => g.value)).toEqual(['330106', '330102']);
    const c = readCap(capFixture('typhoon-cancel'));
    expect(issues(c)).toEqual([]);
    expect(c.ok && c.alert.info).toEqual([]);
    expect(issues(readCap(capFixture('rainstorm-polygons')))).toEqual([]);
  });

  it('decodes XML character references and refuses undeclared entities', () => {
    const a = readCap(valid.replace('<headline>台风“海葵”红色预警', '<headline>&#x53F0;&#39118; &lt;红色&gt; &amp;'));
    expect(a.ok && a.alert.info[0]!.headline).toBe('台风 <红色> &');
    expect(issues(broken('<headline>', '<headline>&nbsp;'))).toEqual([{ path: 'alert', message: expect.stringContaining('&nbsp;') }]);
  });

  it.each([
    ['a missing required element', '<status>Actual</status>', '', 'alert.status', '缺少必填元素 <status>'],
    ['a bad enumeration', '<msgType>Alert</msgType>', '<msgType>Warning</msgType>', 'alert.msgType', 'Alert、Update、Cancel、Ack、Error'],
    ['a time without offset', /<sent>[^<]+/, '<sent>2026-12-07 08:00:00', 'alert.sent', 'YYYY-MM-DDThh:mm:ss±hh:mm'],
    [
      'a UTC "Z" time',
      /<expires>[^<]+<\/expires>/,
      '<expires>2026-12-08T12:00:00Z</expires>',
      'alert.info[0].expires',
      'YYYY-MM-DDThh:mm:ss',
    ],
    ['an identifier with a space', /<identifier>[^<]+/, '<identifier>a b', 'alert.identifier', '不能包含空格'],
    ['an unknown element', '<scope>Public</scope>', '<scope>Public</scope><priority>1</priority>', 'alert.priority', '未知元素 <priority>'],
    ['a repeated single element', '<scope>Public</scope>', '<scope>Public</scope><scope>Public</scope>', 'alert.scope', '只能出现一次'],
    [
      'an info without category',
      '<category>Met</category>\n    <event>台风红色预警',
      '<event>台风红色预警',
      'alert.info[0].category',
      '缺少必填元素 <category>',
    ],
    ['a bad severity', '<severity>Extreme</severity>', '<severity>Red</severity>', 'alert.info[0].severity', 'Extreme、Severe'],
    ['an area without areaDesc', '<areaDesc>西湖区</areaDesc>', '', 'alert.info[0].area[0].areaDesc', '缺少必填元素 <areaDesc>'],
    [
      'a polygon of three points',
      /<polygon>[^<]+/,
      '<polygon>30.2,120.1 30.2,120.3 30.2,120.1',
      'alert.info[0].area[1].polygon[0]',
      '至少 4 个',
    ],
    [
      'an open polygon',
      /<polygon>[^<]+/,
      '<polygon>30.2,120.1 30.2,120.3 30.3,120.3 30.3,120.1',
      'alert.info[0].area[1].polygon[0]',
      '首尾',
    ],
    ['a circle without radius', /<circle>[^<]+/, '<circle>30.2295,120.4344', 'alert.info[0].area[2].circle[0]', '纬度,经度 半径'],
    ['a latitude over 90', /<circle>[^<]+/, '<circle>130.2,120.4 5', 'alert.info[0].area[2].circle[0]', '超出经纬度范围'],
    ['an empty event', '<event>台风红色预警</event>', '<event></event>', 'alert.info[0].event', '不能为空'],
    ['an Update without references', '<msgType>Alert</msgType>', '<msgType>Update</msgType>', 'alert.references', 'references'],
    ['text inside a container', '<area>\n      <areaDesc>西湖区', '<area>文字<areaDesc>西湖区', 'alert.info[0].area[0]', '子元素'],
    ['an attribute', '<info>', '<info lang="zh">', 'alert.info[0]', '没有属性 lang'],
    [
      'elements out of order',
      '<status>Actual</status>\n  <msgType>Alert</msgType>',
      '<msgType>Alert</msgType><status>Actual</status>',
      'alert.status',
      '应在 <msgType> 之前',
    ],
    [
      'an area before senderName',
      '<senderName>',
      '<area><areaDesc>x</areaDesc><circle>30,120 1</circle></area><senderName>',
      'alert.info[0].senderName',
      '应在 <area> 之前',
    ],
    [
      'a nested order',
      '<areaDesc>钱塘江沿岸</areaDesc>',
      '<polygon>30.2,120.1 30.2,120.3 30.3,120.3 30.2,120.1</polygon><areaDesc>钱塘江沿岸</areaDesc>',
      'alert.info[0].area[1].areaDesc',
      '应在 <polygon> 之前',
    ],
  ])('gives one clear error for %s, with its element path', (_what, from, to, path, message) => {
    const r = broken(from, to);
    expect(r.ok).toBe(false);
    const found = issues(r);
    expect(found).toContainEqual({ path, message: expect.stringContaining(message) });
    expect(found.filter((i) => i.path === path)).toHaveLength(1);
  });

  it('refuses a DTD and entities (XXE, billion laughs) before parsing', () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
      Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('') +
      ']><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&lol9;</alert>';
    expect(issues(readCap(laughs))).toEqual([{ path: 'alert', message: expect.stringContaining('DTD') }]);
    const xxe = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><alert>&x;</alert>';
    expect(issues(readCap(xxe))[0]!.message).toContain('DTD');
  });

  it('refuses the wrong namespace, the wrong root, malformed XML, an empty and an oversized document', () => {
    expect(issues(readCap(valid.replace('cap:1.2', 'cap:1.1')))[0]!.message).toContain('命名空间须为 urn:oasis:names:tc:emergency:cap:1.2');
    expect(issues(readCap(valid.replace(' xmlns="urn:oasis:names:tc:emergency:cap:1.2"', '')))[0]!.message).toContain('未声明');
    expect(issues(readCap('<feed xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>'))[0]!.message).toContain('<alert>');
    expect(issues(readCap(valid.replace('</scope>', '</scop>')))[0]!.message).toContain('不是格式正确的 XML');
    expect(issues(readCap('   '))[0]!.message).toContain('为空');
    expect(issues(readCap(valid + ' '.repeat(3 * 1024 * 1024)))[0]!.message).toContain('过大');
  });
});
