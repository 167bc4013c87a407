import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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

  it('reads a screenshot on a line of its own as a figure with its caption', () => {
    expect(parseManual('## 首页\n\n![首页的发送趋势](img/home.png)\n\n![大屏](img/screen.jpg)\n\n文字 ![不是图](img/x.png)')).toEqual([
      { kind: 'h2', text: '首页', id: 's1' },
      { kind: 'img', file: 'home.png', caption: '首页的发送趋势' },
      { kind: 'img', file: 'screen.jpg', caption: '大屏' },
      { kind: 'p', text: '文字 ![不是图](img/x.png)' },
    ]);
  });

  it('shows the product with screenshots from the browser test: each one committed as a small PNG, none unused', () => {
    const md = readFileSync(new URL('./manual-zh.md', import.meta.url), 'utf8');
    const figures = parseManual(md).filter((b) => b.kind === 'img');
    expect(figures.length).toBeGreaterThanOrEqual(6);
    const dir = new URL('./img/', import.meta.url);
    for (const f of figures) {
      const file = new URL(f.file, dir);
      expect(existsSync(file), f.file).toBe(true);
      expect(f.caption, f.file).not.toBe('');
      // PNG or JPEG as named; small enough to ship inside the app (refresh: see e2e/manual-shots.int.test.ts).
      const head = readFileSync(file).subarray(0, 8).toString('hex');
      if (f.file.endsWith('.jpg')) expect(head.slice(0, 6), f.file).toBe('ffd8ff');
      else expect(head, f.file).toBe('89504e470d0a1a0a');
      expect(statSync(file).size, f.file).toBeLessThan(250_000);
    }
    expect(readdirSync(dir).sort()).toEqual([...new Set(figures.map((f) => f.file))].sort());
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
