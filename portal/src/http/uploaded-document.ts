import { crc32, inflateSync } from 'node:zlib';

/**
 * Whether an uploaded document (an authorization letter, a qualification, a logo) really opens as
 * a PDF, PNG or JPEG with at least one page, read from its structure rather than its first bytes:
 * a 150-byte file that starts like a PDF was accepted as an authorization letter.
 * - PNG: every chunk in bounds with a valid CRC, IHDR first with a non-zero size, image data, IEND last;
 * - JPEG: markers in order up to a frame header (SOF) with a non-zero size, then scan data and EOI;
 * - PDF: a header, `startxref` and `%%EOF` at the end, and at least one page object
 *   (`/Type /Page`), also inside compressed object streams, which most current PDFs use.
 */
export type DocumentType = 'application/pdf' | 'image/png' | 'image/jpeg';

export type DocumentCheck = { ok: true; type: DocumentType; pages: number } | { ok: false; type?: DocumentType; problem: string };

/** How much inflated object-stream text a PDF check reads at most (a letter is a few pages). */
const MAX_PDF_INFLATED = 32 * 1024 * 1024;

const u32be = (b: Uint8Array, o: number) => ((b[o]! << 24) >>> 0) + (b[o + 1]! << 16) + (b[o + 2]! << 8) + b[o + 3]!;
const u16be = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;

function checkPng(b: Uint8Array): DocumentCheck {
  const type = 'image/png' as const;
  let p = 8;
  let first = true;
  let data = false;
  while (p + 12 <= b.length) {
    const len = u32be(b, p);
    const name = String.fromCharCode(b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!);
    if (p + 12 + len > b.length) return { ok: false, type, problem: 'PNG 数据块超出文件末尾' };
    if (crc32(b.subarray(p + 4, p + 8 + len)) !== u32be(b, p + 8 + len)) return { ok: false, type, problem: `PNG 数据块 ${name} 校验失败` };
    if (first) {
      if (name !== 'IHDR' || len !== 13 || u32be(b, p + 8) === 0 || u32be(b, p + 12) === 0)
        return { ok: false, type, problem: 'PNG 缺少有效的图像头' };
      first = false;
    }
    if (name === 'IDAT') data = true;
    if (name === 'IEND') return data ? { ok: true, type, pages: 1 } : { ok: false, type, problem: 'PNG 没有图像数据' };
    p += 12 + len;
  }
  return { ok: false, type, problem: 'PNG 文件不完整' };
}

function checkJpeg(b: Uint8Array): DocumentCheck {
  const type = 'image/jpeg' as const;
  let p = 2;
  let frame = false;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) return { ok: false, type, problem: 'JPEG 结构错误' };
    const m = b[p + 1]!;
    if (m === 0xff) {
      p++;
      continue;
    }
    if (m === 0xd9) break;
    if ((m >= 0xd0 && m <= 0xd7) || m === 0x01) {
      p += 2;
      continue;
    }
    const len = u16be(b, p + 2);
    if (len < 2 || p + 2 + len > b.length) return { ok: false, type, problem: 'JPEG 数据段超出文件末尾' };
    // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC): height and width follow the precision byte.
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (len < 8 || u16be(b, p + 5) === 0 || u16be(b, p + 7) === 0) return { ok: false, type, problem: 'JPEG 图像尺寸为零' };
      frame = true;
    }
    if (m === 0xda) {
      if (!frame) return { ok: false, type, problem: 'JPEG 缺少图像帧' };
      // Entropy-coded data up to the end marker.
      const end = lastIndexOf(b, [0xff, 0xd9]);
      return end > p + 2 + len ? { ok: true, type, pages: 1 } : { ok: false, type, problem: 'JPEG 文件不完整' };
    }
    p += 2 + len;
  }
  return { ok: false, type, problem: 'JPEG 文件不完整' };
}

function lastIndexOf(b: Uint8Array, seq: number[]): number {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).lastIndexOf(Buffer.from(seq));
}

/** Page objects (`/Type /Page`, not `/Pages`) in a piece of PDF text. */
const pageObjects = (s: string) => s.match(/\/Type\s*\/Page(?![A-Za-z])/g)?.length ?? 0;

function checkPdf(b: Uint8Array): DocumentCheck {
  const type = 'application/pdf' as const;
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const text = buf.toString('latin1');
  if (!/^%PDF-[12]\.\d/.test(text)) return { ok: false, type, problem: 'PDF 文件头无效' };
  const tail = text.slice(-2048);
  const sx = /startxref\s+(\d+)\s+%%EOF\s*$/.exec(tail);
  if (!sx) return { ok: false, type, problem: 'PDF 文件不完整（缺少交叉引用表或 %%EOF）' };
  const xref = Number(sx[1]);
  if (!(xref > 0 && xref < b.length) || !/^(xref|\d+\s+\d+\s+obj)/.test(text.slice(xref, xref + 32)))
    return { ok: false, type, problem: 'PDF 交叉引用表位置无效' };
  let pages = pageObjects(text);
  // Compressed object streams (PDF 1.5+): page objects live inside them.
  let budget = MAX_PDF_INFLATED;
  const streamRe = /\/Type\s*\/ObjStm[^]*?stream\r?\n/g;
  for (let m = streamRe.exec(text); m && pages === 0 && budget > 0; m = streamRe.exec(text)) {
    const start = m.index + m[0].length;
    const end = text.indexOf('endstream', start);
    if (end < 0) break;
    try {
      const out = inflateSync(buf.subarray(start, end), { maxOutputLength: budget });
      budget -= out.length;
      pages += pageObjects(out.toString('latin1'));
    } catch {
      // A stream that does not inflate holds no pages we can count.
    }
  }
  return pages > 0 ? { ok: true, type, pages } : { ok: false, type, problem: 'PDF 中没有任何页面' };
}

/** Checks an uploaded document's structure; see the module comment. */
export function inspectDocument(b: Uint8Array): DocumentCheck {
  if (
    b.length >= 8 &&
    b[0] === 0x89 &&
    b[1] === 0x50 &&
    b[2] === 0x4e &&
    b[3] === 0x47 &&
    b[4] === 0x0d &&
    b[5] === 0x0a &&
    b[6] === 0x1a &&
    b[7] === 0x0a
  )
    return checkPng(b);
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return checkJpeg(b);
  if (b.length >= 5 && b[0] === 0x25 && b[1] === 0x50 && b[2] === 0x44 && b[3] === 0x46 && b[4] === 0x2d) return checkPdf(b);
  return { ok: false, problem: '文件不是 PDF、PNG 或 JPEG' };
}
