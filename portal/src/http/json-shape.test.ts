import { describe, expect, it } from 'vitest';
import { jsonShapeProblem } from './json-shape.ts';

describe('JSON shape before parsing', () => {
  it.each([
    ['a plain object', '{"a":[1,{"b":"c"}]}', undefined],
    ['brackets inside a string', `{"a":"${'['.repeat(100)}"}`, undefined],
    ['an escaped quote before brackets', `{"a":"\\"${'{'.repeat(100)}"}`, undefined],
    ['an escaped backslash then u0000 as text', '{"a":"\\\\u0000"}', undefined],
    ['64 levels', '['.repeat(64) + ']'.repeat(64), undefined],
    ['65 levels', '['.repeat(65) + ']'.repeat(65), 'depth'],
    ['200,000 levels of objects', '{"a":'.repeat(200_000) + '1' + '}'.repeat(200_000), 'depth'],
    ['an escaped NUL', '{"a":"x\\u0000y"}', 'nul'],
    ['a raw NUL', '{"a":"x\u0000y"}', 'nul'],
  ])('%s', (_, text, want) => expect(jsonShapeProblem(text)).toBe(want));
});
