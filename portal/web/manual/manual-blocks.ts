/** One block of the manual: a heading, a paragraph, a list or a screenshot. */
export type ManualBlock =
  | { kind: 'h1' | 'h2' | 'h3'; text: string; id: string }
  | { kind: 'p'; text: string }
  | { kind: 'ul' | 'ol'; items: string[] }
  | { kind: 'img'; file: string; caption: string };

export type Heading = Extract<ManualBlock, { kind: 'h1' | 'h2' | 'h3' }>;
export type List = Extract<ManualBlock, { kind: 'ul' | 'ol' }>;
export type Figure = Extract<ManualBlock, { kind: 'img' }>;

/**
 * A screenshot on a line of its own: `![caption](img/file.png)`, files in `manual/img/` (PNG, or
 * JPEG for a dark, full-colour screen such as the big screen, where a PNG would be too large).
 */
const IMAGE = /^!\[([^\]]*)\]\(img\/([\w.-]+\.(?:png|jpg))\)$/;

/**
 * The manual's Markdown, the little of it the manual uses: `#`–`###` headings, paragraphs, `-` and
 * `1.` lists, and screenshots (`![caption](img/file.png)` or `.jpg`, a block of their own). Headings get ids
 * (`s1`, `s2`, …) for the contents list.
 */
export function parseManual(md: string): ManualBlock[] {
  const out: ManualBlock[] = [];
  let n = 0;
  for (const raw of md.split(/\n{2,}/)) {
    const block = raw.trim();
    if (!block) continue;
    const h = /^(#{1,3})\s+(.*)$/.exec(block);
    if (h) {
      out.push({ kind: `h${h[1]!.length}` as 'h1' | 'h2' | 'h3', text: h[2]!.trim(), id: `s${++n}` });
      continue;
    }
    const img = IMAGE.exec(block);
    if (img) {
      out.push({ kind: 'img', caption: img[1]!.trim(), file: img[2]! });
      continue;
    }
    const lines = block.split('\n').map((l) => l.trim());
    if (lines.every((l) => /^-\s+/.test(l))) out.push({ kind: 'ul', items: lines.map((l) => l.replace(/^-\s+/, '')) });
    else if (lines.every((l) => /^\d+\.\s+/.test(l))) out.push({ kind: 'ol', items: lines.map((l) => l.replace(/^\d+\.\s+/, '')) });
    else out.push({ kind: 'p', text: lines.join('') });
  }
  return out;
}
