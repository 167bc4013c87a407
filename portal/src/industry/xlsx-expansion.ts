import { createInflateRaw } from 'node:zlib';

/**
 * Guards against zip bombs: an .xlsx is a zip, and a 10 MB upload can expand to gigabytes of XML
 * (ExcelJS's streaming reader would then cache shared strings in memory and spill sheets to temp
 * files). Two checks, both with bounded memory:
 * - `declaredExpansion` reads the zip's central directory (no inflating: microseconds, run in the
 *   request before any background work) and refuses a file whose entries say they expand past the
 *   limit, or that needs ZIP64 (no real upload under 10 MB does);
 * - `measureExpansion` inflates every entry counting bytes, 64 KB at a time, and stops at the limit
 *   (headers can lie about sizes: a bomb's real size only shows when inflated). Run where the
 *   file is parsed (the upload reader's worker thread).
 */

/** Expanded bytes allowed for one .xlsx: a 100,000-row, 9-column sheet with its strings is ~80 MB. */
export const MAX_XLSX_EXPANDED = 200 * 1024 * 1024;

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's compressed data. */
  dataStart: number;
}

export class ZipExpansionError extends Error {
  override name = 'ZipExpansionError';
  constructor(
    readonly kind: 'too_large' | 'broken' | 'cell_too_long',
    message: string,
  ) {
    super(message);
  }
}

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;

/**
 * The entries listed in the zip's central directory, or undefined when the file has none (not a
 * complete zip: the Excel reader reports it as broken).
 */
export function zipEntries(b: Uint8Array): ZipEntry[] | undefined {
  // End of central directory: 22 bytes plus a comment of up to 65,535 bytes, at the end.
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65_535); i--) {
    if (b[i] === 0x50 && b[i + 1] === 0x4b && b[i + 2] === 0x05 && b[i + 3] === 0x06) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return undefined;
  const count = u16(b, eocd + 10);
  const cdSize = u32(b, eocd + 12);
  const cdStart = u32(b, eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdStart === 0xffffffff) throw new ZipExpansionError('too_large', 'ZIP64');
  if (cdStart + cdSize > eocd) return undefined;
  const out: ZipEntry[] = [];
  let p = cdStart;
  for (let k = 0; k < count; k++) {
    if (p + 46 > b.length || u32(b, p) !== 0x02014b50) return undefined;
    const method = u16(b, p + 10);
    const compressedSize = u32(b, p + 20);
    const size = u32(b, p + 24);
    const nameLen = u16(b, p + 28);
    const extraLen = u16(b, p + 30);
    const commentLen = u16(b, p + 32);
    const local = u32(b, p + 42);
    if (compressedSize === 0xffffffff || size === 0xffffffff || local === 0xffffffff) throw new ZipExpansionError('too_large', 'ZIP64');
    const name = new TextDecoder().decode(b.subarray(p + 46, p + 46 + nameLen));
    if (local + 30 > b.length || u32(b, local) !== 0x04034b50) return undefined;
    const dataStart = local + 30 + u16(b, local + 26) + u16(b, local + 28);
    if (dataStart + compressedSize > b.length) return undefined;
    out.push({ name, method, compressedSize, size, dataStart });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

const mb = (n: number) => `${Math.round(n / 1048576)} MB`;

/** Refuses an .xlsx whose central directory declares more than `limit` expanded bytes. */
export function declaredExpansion(b: Uint8Array, limit = MAX_XLSX_EXPANDED): number {
  const entries = zipEntries(b);
  if (!entries) return 0;
  const total = entries.reduce((s, e) => s + e.size, 0);
  // The limit itself is refused too: it is the first size not allowed.
  if (total >= limit) throw new ZipExpansionError('too_large', `解压后有 ${mb(total)}，达到或超过上限 ${mb(limit)}`);
  return total;
}

/** Where a text scan is: inside a tag or in text, and how many text bytes since the last tag. */
interface TextRun {
  inTag: boolean;
  run: number;
}

/**
 * Follows the XML text between tags across chunks; false once one text run is longer than `max`
 * bytes. Native `indexOf` jumps from tag to tag, so scanning costs little next to inflating.
 */
function textRunWithin(chunk: Buffer, st: TextRun, max: number): boolean {
  let i = 0;
  while (i < chunk.length) {
    if (st.inTag) {
      const j = chunk.indexOf(0x3e /* > */, i);
      if (j < 0) return true;
      st.inTag = false;
      st.run = 0;
      i = j + 1;
    } else {
      const j = chunk.indexOf(0x3c /* < */, i);
      st.run += (j < 0 ? chunk.length : j) - i;
      if (st.run > max) return false;
      if (j < 0) return true;
      st.inTag = true;
      i = j + 1;
    }
  }
  return true;
}

/**
 * Inflates one entry, counting bytes; rejects as soon as `max` bytes come out, or, with
 * `maxTextRun`, as soon as one text node of the XML is longer than that (one giant cell).
 */
function inflatedSize(data: Uint8Array, max: number, maxTextRun = Infinity): Promise<number> {
  return new Promise((resolve, reject) => {
    const z = createInflateRaw({ chunkSize: 64 * 1024 });
    const text: TextRun = { inTag: false, run: 0 };
    let n = 0;
    let done = false;
    const fail = (err: ZipExpansionError) => {
      done = true;
      z.destroy();
      reject(err);
    };
    z.on('data', (chunk: Buffer) => {
      if (done) return;
      n += chunk.length;
      if (n >= max) fail(new ZipExpansionError('too_large', `解压后超过 ${mb(max)}`));
      else if (maxTextRun !== Infinity && !textRunWithin(chunk, text, maxTextRun))
        fail(new ZipExpansionError('cell_too_long', `有单元格的内容超过 ${maxTextRun} 字节`));
    });
    z.on('end', () => {
      if (!done) resolve(n);
    });
    z.on('error', (err) => {
      if (!done) {
        done = true;
        reject(new ZipExpansionError('broken', err.message));
      }
    });
    z.end(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
}

/** The parts of a workbook whose text is cell content: shared strings and sheets (inline strings). */
const holdsCells = (name: string) => name === 'xl/sharedStrings.xml' || /^xl\/worksheets\/[^/]+\.xml$/.test(name);

/**
 * Inflates every entry of the central directory with a running budget of `limit` bytes (a total
 * that reaches it is refused); an entry that inflates to more than it declared is refused too (a
 * lying header is a crafted file), and so is a cell text longer than `maxTextRun` bytes, while it
 * streams out: a 22 KB file holding one 20 MB cell never reaches the Excel reader.
 * @returns the total expanded size, or 0 when the file is not a complete zip.
 */
export async function measureExpansion(b: Uint8Array, limit = MAX_XLSX_EXPANDED, maxTextRun = Infinity): Promise<number> {
  const entries = zipEntries(b);
  if (!entries) return 0;
  let total = 0;
  for (const e of entries) {
    const data = b.subarray(e.dataStart, e.dataStart + e.compressedSize);
    let n: number;
    if (e.method === 0) n = e.compressedSize;
    else if (e.method === 8) {
      const cap = Math.min(limit - total, e.size + 1024);
      n = await inflatedSize(data, cap, holdsCells(e.name) ? maxTextRun : Infinity).catch((err: unknown) => {
        if (err instanceof ZipExpansionError && err.kind === 'too_large' && cap < limit - total)
          throw new ZipExpansionError('too_large', `“${e.name.slice(0, 60)}”解压后比声明的大`);
        if (err instanceof ZipExpansionError && err.kind === 'too_large')
          throw new ZipExpansionError('too_large', `解压后超过上限 ${mb(limit)}`);
        throw err;
      });
    } else throw new ZipExpansionError('broken', `不支持的压缩方式 ${e.method}`);
    if (n > e.size + 1024) throw new ZipExpansionError('too_large', `“${e.name.slice(0, 60)}”解压后比声明的大`);
    total += n;
    if (total >= limit) throw new ZipExpansionError('too_large', `解压后达到上限 ${mb(limit)}`);
  }
  return total;
}
