import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseManual } from './manual-blocks.ts';

describe('the manual as a help page', () => {
  it('reads headings, paragraphs and both kinds of list', () => {
    expect(parseManual('# 手册\n\n## 开始\n\n第一行\n第二行\n\n- 甲\n- 乙\n\n1. 一\n2. 二')).toEqual([
      { kind: 'h1', text: '手册', id: 's1' },
      { kind: 'h2', text: '开始', id: 's2' },
      { kind: 'p', text: '第一行第二行' },
      { kind: 'ul', items: ['甲', '乙'] },
      { kind: 'ol', items: ['一', '二'] },
    ]);
  });

  it('has the product sections in order, with no leftovers of the extracted PDF', () => {
    const md = readFileSync(new URL('./manual-zh.md', import.meta.url), 'utf8');
    const blocks = parseManual(md);
    expect(blocks.filter((b) => b.kind === 'h2').map((b) => (b as { text: string }).text)).toEqual([
      '开始使用',
      '首页',
      '行业短信',
      '大数据短信',
      '大数据洞察',
      '设置与管理',
      '常见问题',
    ]);
    expect(md).not.toContain('让信息飞起来');
    expect(md).not.toContain('模版');
  });
});
