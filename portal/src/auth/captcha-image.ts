import { randomInt } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import svgCaptcha from 'svg-captcha';

/**
 * The login captcha as a picture: the answer's glyphs (svg-captcha's font, through opentype.js)
 * distorted one by one (rotation, scale, shear, offset), bent by a wave, crossed by strokes, drawn
 * into pixels and sent as a PNG inside an SVG. svg-captcha sent the glyph outlines themselves as
 * SVG paths, which a script matched against the font and read every time (issue 17). A picture
 * needs OCR instead; it is still no real barrier (see SECURITY.md): throttling is.
 */

interface Cmd {
  type: 'M' | 'L' | 'Q' | 'C' | 'Z';
  x?: number;
  y?: number;
  x1?: number;
  y1?: number;
  x2?: number;
  y2?: number;
}
interface OtFont {
  unitsPerEm: number;
  charToGlyph(c: string): { advanceWidth?: number; getPath(x: number, y: number, size: number): { commands: Cmd[] } };
}

const FONT = (svgCaptcha as unknown as { options: { font: OtFont } }).options.font;

export const CAPTCHA_WIDTH = 150;
export const CAPTCHA_HEIGHT = 50;
/** Drawn at this multiple and averaged down: smooth edges. */
const SS = 2;

type Pt = [number, number];

const rnd = (min: number, max: number) => min + (randomInt(0, 1_000_001) / 1_000_000) * (max - min);

/** A glyph's outline as closed polygons, curves flattened. */
function outline(ch: string, size: number): Pt[][] {
  const polys: Pt[][] = [];
  let cur: Pt[] = [];
  let last: Pt = [0, 0];
  const steps = 8;
  for (const c of FONT.charToGlyph(ch).getPath(0, 0, size).commands) {
    if (c.type === 'M') {
      if (cur.length > 2) polys.push(cur);
      cur = [[c.x!, c.y!]];
    } else if (c.type === 'L') cur.push([c.x!, c.y!]);
    else if (c.type === 'Q') {
      for (let i = 1; i <= steps; i++) {
        const t = i / steps;
        const u = 1 - t;
        cur.push([u * u * last[0] + 2 * u * t * c.x1! + t * t * c.x!, u * u * last[1] + 2 * u * t * c.y1! + t * t * c.y!]);
      }
    } else if (c.type === 'C') {
      for (let i = 1; i <= steps; i++) {
        const t = i / steps;
        const u = 1 - t;
        cur.push([
          u * u * u * last[0] + 3 * u * u * t * c.x1! + 3 * u * t * t * c.x2! + t * t * t * c.x!,
          u * u * u * last[1] + 3 * u * u * t * c.y1! + 3 * u * t * t * c.y2! + t * t * t * c.y!,
        ]);
      }
    } else if (c.type === 'Z') {
      if (cur.length > 2) polys.push(cur);
      cur = [];
    }
    if (c.x !== undefined) last = [c.x, c.y!];
  }
  if (cur.length > 2) polys.push(cur);
  return polys;
}

/**
 * Fills polygons (non-zero winding) into a coverage buffer, sampling each pixel centre. Each edge
 * is listed under the rows it crosses, so a row looks only at its own edges.
 */
function fill(buf: Float32Array, w: number, h: number, polys: Pt[][], shade: number): void {
  const rows: { x0: number; y0: number; k: number; dir: number }[][] = Array.from({ length: h }, () => []);
  for (const p of polys) {
    for (let i = 0; i < p.length; i++) {
      const [x0, y0] = p[i]!;
      const [x1, y1] = p[(i + 1) % p.length]!;
      if (y0 === y1) continue;
      const top = Math.max(0, Math.ceil(Math.min(y0, y1) - 0.5));
      const bottom = Math.min(h - 1, Math.ceil(Math.max(y0, y1) - 0.5) - 1);
      const e = { x0, y0, k: (x1 - x0) / (y1 - y0), dir: y1 > y0 ? 1 : -1 };
      for (let row = top; row <= bottom; row++) rows[row]!.push(e);
    }
  }
  const xs: { x: number; dir: number }[] = [];
  for (let row = 0; row < h; row++) {
    const edges = rows[row]!;
    if (edges.length < 2) continue;
    const y = row + 0.5;
    xs.length = 0;
    for (const e of edges) xs.push({ x: e.x0 + (y - e.y0) * e.k, dir: e.dir });
    xs.sort((a, b) => a.x - b.x);
    let wind = 0;
    for (let i = 0; i < xs.length - 1; i++) {
      wind += xs[i]!.dir;
      if (wind === 0) continue;
      for (let x = Math.max(0, Math.ceil(xs[i]!.x - 0.5)); x < Math.min(w, Math.ceil(xs[i + 1]!.x - 0.5)); x++) buf[row * w + x] = shade;
    }
  }
}

/** A stroke as a thin polygon per segment. */
function strokePolys(points: Pt[], width: number): Pt[][] {
  const out: Pt[][] = [];
  for (let i = 0; i < points.length - 1; i++) {
    const [ax, ay] = points[i]!;
    const [bx, by] = points[i + 1]!;
    const len = Math.hypot(bx - ax, by - ay) || 1;
    const nx = (-(by - ay) / len) * (width / 2);
    const ny = ((bx - ax) / len) * (width / 2);
    out.push([
      [ax + nx, ay + ny],
      [bx + nx, by + ny],
      [bx - nx, by - ny],
      [ax - nx, ay - ny],
    ]);
  }
  return out;
}

function png(gray: Uint8Array, w: number, h: number): Buffer {
  const chunk = (name: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(name, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 0;
  const raw = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++) raw.set(gray.subarray(y * w, (y + 1) * w), y * (w + 1) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The picture of `text` as a greyscale PNG (CAPTCHA_WIDTH × CAPTCHA_HEIGHT). */
export function captchaPng(text: string): Buffer {
  const W = CAPTCHA_WIDTH * SS;
  const H = CAPTCHA_HEIGHT * SS;
  const ink = new Float32Array(W * H);
  const wave = {
    ax: rnd(2, 4) * SS,
    fx: rnd(0.04, 0.08) / SS,
    px: rnd(0, 6.28),
    ay: rnd(2, 4) * SS,
    fy: rnd(0.05, 0.09) / SS,
    py: rnd(0, 6.28),
  };
  const warp = ([x, y]: Pt): Pt => [x + wave.ax * Math.sin(y * wave.fy + wave.py), y + wave.ay * Math.sin(x * wave.fx + wave.px)];
  const spacing = W / (text.length + 1);
  const polys: Pt[][] = [];
  [...text].forEach((ch, i) => {
    const size = rnd(48, 56) * SS;
    const angle = rnd(-0.35, 0.35);
    const shear = rnd(-0.35, 0.35);
    const scaleX = rnd(1, 1.3);
    const glyph = FONT.charToGlyph(ch);
    const adv = ((glyph.advanceWidth ?? FONT.unitsPerEm / 2) / FONT.unitsPerEm) * size;
    const cx = spacing * (i + 1) + rnd(-5, 5) * SS;
    const cy = H / 2 + size * 0.26 + rnd(-4, 4) * SS;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    for (const p of outline(ch, size)) {
      polys.push(
        p.map(([x, y]) => {
          const lx = (x - adv / 2) * scaleX + shear * y;
          const ly = y;
          return warp([cx + lx * cos - ly * sin, cy + lx * sin + ly * cos]);
        }),
      );
    }
  });
  fill(ink, W, H, polys, 1);
  // Strokes across the text, as thick as the letters' own lines in places.
  for (let k = 0; k < 2; k++) {
    const p0: Pt = [0, rnd(0.2, 0.8) * H];
    const p1: Pt = [W * rnd(0.3, 0.45), rnd(0, 1) * H];
    const p2: Pt = [W * rnd(0.55, 0.7), rnd(0, 1) * H];
    const p3: Pt = [W, rnd(0.2, 0.8) * H];
    const pts: Pt[] = [];
    for (let i = 0; i <= 24; i++) {
      const t = i / 24;
      const u = 1 - t;
      pts.push([
        u * u * u * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t * t * t * p3[0],
        u * u * u * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t * t * t * p3[1],
      ]);
    }
    fill(ink, W, H, strokePolys(pts.map(warp), rnd(1, 1.8) * SS), 1);
  }
  // Down-sample with a light paper texture and speckles.
  const gray = new Uint8Array(CAPTCHA_WIDTH * CAPTCHA_HEIGHT);
  for (let y = 0; y < CAPTCHA_HEIGHT; y++) {
    for (let x = 0; x < CAPTCHA_WIDTH; x++) {
      let s = 0;
      for (let dy = 0; dy < SS; dy++) for (let dx = 0; dx < SS; dx++) s += ink[(y * SS + dy) * W + x * SS + dx]!;
      const cover = s / (SS * SS);
      // Texture only: Math.random is enough (the answer itself comes from crypto.randomInt).
      const paper = 235 + Math.random() * 20;
      const v = paper - cover * (paper - 40) - (Math.random() < 1 / 60 ? 100 : 0);
      gray[y * CAPTCHA_WIDTH + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return png(gray, CAPTCHA_WIDTH, CAPTCHA_HEIGHT);
}

/** The picture inside an SVG, so that the login page shows it as before. */
export function captchaSvg(text: string): string {
  const data = captchaPng(text).toString('base64');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${CAPTCHA_WIDTH}" height="${CAPTCHA_HEIGHT}" viewBox="0 0 ${CAPTCHA_WIDTH} ${CAPTCHA_HEIGHT}"><image href="data:image/png;base64,${data}" width="${CAPTCHA_WIDTH}" height="${CAPTCHA_HEIGHT}"/></svg>`;
}
