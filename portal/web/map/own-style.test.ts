import { describe, expect, it } from 'vitest';
import { isStyleUrl, styleFailureText } from './own-style.ts';

const URL_ = 'https://map.example.gov.cn/style.json';

describe('a style URL that did not load, told to a person', () => {
  it.each([
    ['an HTTP error by its status', { status: 404 }, false, '服务器返回 HTTP 404'],
    ['a server that does not answer', { status: 0 }, false, '无法连接该服务器'],
    ["an origin the portal's security policy refused, whatever the fetch said", { status: 0 }, true, '内容安全策略'],
    ['an answer that is not a style (JSON parse error)', new SyntaxError('Unexpected token <'), false, '不是 MapLibre 地图样式'],
  ])('names %s', (_, error, refused, reason) => {
    const text = styleFailureText(URL_, error, refused);
    expect(text).toContain(reason);
    expect(text).toContain(URL_);
    expect(text).toContain('已改用离线底图');
  });
});

describe('the style addresses the settings accept', () => {
  it.each([
    ['', true],
    [URL_, true],
    ['http://127.0.0.1:8080/styles/basic/style.json', true],
    ['map.example.gov.cn/style.json', false],
    ['ftp://map.example.gov.cn/style.json', false],
    ['javascript:alert(1)', false],
  ])('%j → %s', (url, ok) => expect(isStyleUrl(url)).toBe(ok));
});
