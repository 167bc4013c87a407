import { describe, expect, it } from 'vitest';
import { elementPath } from './element-path.ts';

describe('elementPath', () => {
  it.each([
    ['alert.info[0].area[1].polygon[0]', '<info> 第 1 个 › <area> 第 2 个 › <polygon> 第 1 个'],
    ['alert.info[2].urgency', '<info> 第 3 个 › <urgency>'],
    ['alert.msgType', '<msgType>'],
    ['alert', '<alert>'],
    ['', '整个文件'],
  ])('names %j where a person finds it in the file', (path, shown) => {
    expect(elementPath(path)).toBe(shown);
  });
});
