import ExcelJS from 'exceljs';
import Papa from 'papaparse';
import { Readable } from 'node:stream';
import { declaredExpansion, measureExpansion, ZipExpansionError } from './xlsx-expansion.ts';

/**
 * Reads an uploaded TXT/CSV or Excel (.xlsx) file into rows of text cells with their line numbers,
 * for batch sends, mail-merge sends and address-book imports. The format is decided by the bytes,
 * not the name; text may be UTF-8 (with or without BOM) or GBK, as Chinese Excel/Notepad saves it.
 * Formulas are never evaluated: a formula cell gives its cached result.
 */

export interface TableRow {
  /** 1-based line (TXT) or row (Excel) number, for the rejection report. */
  line: number;
  cells: string[];
}

export interface UploadedTable {
  format: 'txt' | 'xlsx';
  encoding?: 'utf-8' | 'gbk' | 'utf-16le' | 'utf-16be';
  rows: TableRow[];
}

export interface UploadLimits {
  /** @default 10 MiB */
  maxBytes?: number;
  /** Data rows: a header line (a first row without a phone number) is not counted. @default 100_000 */
  maxRows?: number;
  /** Bytes an .xlsx may expand to when unzipped (zip bombs). @default MAX_XLSX_EXPANDED (200 MiB) */
  maxExpandedBytes?: number;
}

export type UploadErrorCode =
  | 'UPLOAD_EMPTY'
  | 'UPLOAD_TOO_LARGE'
  | 'UPLOAD_TOO_MANY_ROWS'
  | 'UPLOAD_TOO_MANY_COLUMNS'
  | 'UPLOAD_CELL_TOO_LONG'
  | 'UPLOAD_FORMAT'
  | 'UPLOAD_BROKEN'
  | 'UPLOAD_ENCODING';

/** Characters in one cell: a long SMS text with its variables fits many times over. */
export const MAX_CELL_CHARS = 4000;
/** Columns in one row: a mail-merge sheet has a phone number and a few variables. */
export const MAX_COLUMNS = 50;
/**
 * Bytes of one text node in the workbook's XML, checked while inflating: a cell of
 * MAX_CELL_CHARS characters at 3 bytes each, escaped (`&amp;` is 5 bytes for 1), fits.
 */
const MAX_CELL_XML_BYTES = MAX_CELL_CHARS * 6;

export class UploadError extends Error {
  override name = 'UploadError';
  constructor(
    readonly code: UploadErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const isZip = (b: Uint8Array) => b.length > 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
const isOle = (b: Uint8Array) => b.length > 8 && b[0] === 0xd0 && b[1] === 0xcf && b[2] === 0x11 && b[3] === 0xe0;

/**
 * The checks that need no parsing (empty, too large, old .xls, binary), so that a request can refuse
 * such a file at once, before any background work starts.
 */
export function sniffUpload(bytes: Uint8Array, limits: UploadLimits = {}): 'txt' | 'xlsx' {
  const maxBytes = limits.maxBytes ?? 10 * 1024 * 1024;
  if (bytes.length === 0) throw new UploadError('UPLOAD_EMPTY', '上传的文件是空的');
  if (bytes.length > maxBytes) {
    throw new UploadError(
      'UPLOAD_TOO_LARGE',
      `文件过大（${(bytes.length / 1048576).toFixed(1)} MB），上限为 ${(maxBytes / 1048576).toFixed(0)} MB`,
    );
  }
  if (isOle(bytes)) throw new UploadError('UPLOAD_FORMAT', '不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 后上传');
  if (isZip(bytes)) {
    try {
      declaredExpansion(bytes, limits.maxExpandedBytes);
    } catch (err) {
      throw expansionError(err);
    }
    return 'xlsx';
  }
  if (utf16Bom(bytes)) return 'txt';
  if (bytes.subarray(0, 64 * 1024).includes(0)) throw new UploadError('UPLOAD_FORMAT', '文件不是文本文件（TXT）或 Excel（.xlsx）');
  return 'txt';
}

/**
 * Inflates an .xlsx upload's entries counting bytes (zlib works on libuv's thread pool: the event
 * loop keeps serving) and refuses a zip bomb, or a header that lies about sizes, with
 * UPLOAD_TOO_LARGE; a deflate stream that does not inflate is UPLOAD_BROKEN. Not a zip: nothing to do.
 */
export async function checkExpansion(bytes: Uint8Array, limits: UploadLimits = {}): Promise<void> {
  if (!isZip(bytes)) return;
  try {
    await measureExpansion(bytes, limits.maxExpandedBytes, MAX_CELL_XML_BYTES);
  } catch (err) {
    throw expansionError(err);
  }
}

/**
 * @param onRows called with each batch of rows as they are read (progress); the result holds them all.
 */
export async function readUploadedTable(
  bytes: Uint8Array,
  limits: UploadLimits = {},
  onRows?: (n: number) => void,
): Promise<UploadedTable> {
  const maxRows = limits.maxRows ?? 100_000;
  const kind = sniffUpload(bytes, limits);
  const table = kind === 'xlsx' ? await readXlsx(bytes, maxRows, limits.maxExpandedBytes, onRows) : readText(bytes);
  const data = dataRows(table.rows);
  if (data > maxRows) throw tooMany(data, maxRows);
  if (table.rows.length === 0)
    throw new UploadError('UPLOAD_EMPTY', kind === 'xlsx' ? 'Excel 文件的第一个工作表没有数据' : '文件中没有数据');
  return table;
}

const cellTooLong = (line?: number) =>
  new UploadError(
    'UPLOAD_CELL_TOO_LONG',
    `${line ? `第 ${line} 行有` : '有'}单元格的内容超过 ${MAX_CELL_CHARS} 个字，请检查文件后重新上传`,
  );
const tooWide = (line: number) =>
  new UploadError('UPLOAD_TOO_MANY_COLUMNS', `第 ${line} 行超过 ${MAX_COLUMNS} 列，请只保留需要的列后重新上传`);

/** Refuses a row with too many cells or a cell too long (rows × columns stay bounded with the row limit). */
function checkRow(line: number, cells: readonly string[]): void {
  if (cells.length > MAX_COLUMNS) throw tooWide(line);
  for (const c of cells) if (c.length > MAX_CELL_CHARS) throw cellTooLong(line);
}

const tooMany = (n: number | string, max: number) =>
  new UploadError('UPLOAD_TOO_MANY_ROWS', `文件有 ${n} 行数据（不含表头），超过上限 ${max} 行，请拆分后上传`);

/**
 * A first row without anything like a phone number (no run of 5 digits in its first three cells) is
 * a header line — 手机号码, 姓名,手机号码 — and not counted against the row limit.
 */
export function isHeaderRow(row: TableRow | undefined): boolean {
  return !!row && !row.cells.slice(0, 3).some((c) => /\d{5}/.test(c));
}

/** Rows that count against the limit: all but a header line. */
export const dataRows = (rows: readonly TableRow[]): number => rows.length - (isHeaderRow(rows[0]) ? 1 : 0);

function expansionError(err: unknown): unknown {
  if (!(err instanceof ZipExpansionError)) return err;
  if (err.kind === 'cell_too_long') return cellTooLong();
  if (err.kind === 'broken')
    return new UploadError('UPLOAD_BROKEN', `Excel 文件已损坏或无法读取（${err.message}），请用 Excel 打开后另存为 .xlsx 再上传`);
  return new UploadError(
    'UPLOAD_TOO_LARGE',
    `Excel 文件${err.message === 'ZIP64' ? '需要 ZIP64，解压后过大' : err.message}，不像正常的表格（可能是压缩炸弹），请检查后重新上传`,
  );
}

function utf16Bom(b: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return 'utf-16le';
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return 'utf-16be';
  return undefined;
}

function decodeText(bytes: Uint8Array): { text: string; encoding: UploadedTable['encoding'] } {
  // Notepad's "Unicode" is UTF-16 with a BOM.
  const bom = utf16Bom(bytes);
  if (bom) return { text: new TextDecoder(bom).decode(bytes), encoding: bom };
  if (bytes.includes(0)) throw new UploadError('UPLOAD_FORMAT', '文件不是文本文件（TXT）或 Excel（.xlsx）');
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes), encoding: 'utf-8' };
  } catch {
    // Not valid UTF-8: Chinese Windows tools save GBK (GB18030 is its superset).
  }
  try {
    return { text: new TextDecoder('gb18030', { fatal: true }).decode(bytes), encoding: 'gbk' };
  } catch {
    throw new UploadError(
      'UPLOAD_ENCODING',
      '无法识别文件的文字编码（既不是 UTF-8 也不是 GBK），请在记事本或 Excel 中另存为 UTF-8 编码后上传',
    );
  }
}

/**
 * The column separator: the first of tab, comma, full-width comma, semicolons and bar that appears
 * on nearly every non-empty line; none → one column. (A content column may itself hold `，`, so tab
 * and `,` win when present.)
 */
export function guessDelimiter(lines: readonly string[]): string | undefined {
  const data = lines.filter((l) => l.trim() !== '');
  if (data.length === 0) return undefined;
  for (const d of ['\t', ',', '，', ';', '；', '|']) {
    const n = data.filter((l) => l.includes(d)).length;
    if (n >= Math.ceil(data.length * 0.8)) return d;
  }
  return undefined;
}

function readText(bytes: Uint8Array): UploadedTable {
  const { text: raw, encoding } = decodeText(bytes);
  const text = raw.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const delimiter = guessDelimiter(text.split('\n').slice(0, 1000));
  const parsed = delimiter ? Papa.parse<string[]>(text, { delimiter, skipEmptyLines: false }) : { data: text.split('\n').map((l) => [l]) };
  const rows: TableRow[] = [];
  parsed.data.forEach((cells, i) => {
    const trimmed = cells.map((c) => c.trim());
    if (trimmed.every((c) => c === '')) return;
    checkRow(i + 1, trimmed);
    rows.push({ line: i + 1, cells: trimmed });
  });
  return { format: 'txt', encoding, rows };
}

/** Text of one Excel cell value: numbers as written (no 1.38e+10), formulas by cached result. */
export function cellText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number') return Number.isInteger(v) ? v.toFixed(0) : String(v);
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') {
    if ('richText' in v)
      return v.richText
        .map((t) => t.text)
        .join('')
        .trim();
    if ('formula' in v || 'sharedFormula' in v) return cellText((v as { result?: ExcelJS.CellValue }).result ?? null);
    if ('text' in v) return String((v as { text: unknown }).text).trim();
    if ('error' in v) return '';
  }
  return String(v).trim();
}

/**
 * The first worksheet of an .xlsx, read as a stream (ExcelJS's WorkbookReader): a 100,000-row file
 * reads in seconds where loading the whole workbook takes most of a minute, and stops as soon as it
 * has more rows than allowed.
 */
async function readXlsx(
  bytes: Uint8Array,
  maxRows: number,
  maxExpanded: number | undefined,
  onRows?: (n: number) => void,
): Promise<UploadedTable> {
  const rows: TableRow[] = [];
  let sheets = 0;
  // Before ExcelJS inflates anything (it caches shared strings and may spill sheets to temp files):
  // the real expanded size, counted with bounded memory.
  await checkExpansion(bytes, { maxExpandedBytes: maxExpanded });
  try {
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(Readable.from([Buffer.from(bytes)]), {
      sharedStrings: 'cache',
      hyperlinks: 'ignore',
      styles: 'ignore',
      worksheets: 'emit',
      entries: 'ignore',
    });
    for await (const sheet of reader) {
      sheets++;
      for await (const row of sheet as AsyncIterable<ExcelJS.Row>) {
        const values = row.values as ExcelJS.CellValue[];
        // values[0] is unused: column A is values[1]. Trailing empty cells do not count.
        if (values.length - 1 > MAX_COLUMNS && values.slice(MAX_COLUMNS + 1).some((v) => v !== null && v !== undefined && v !== ''))
          throw tooWide(row.number);
        const cells: string[] = [];
        for (let c = 1; c < values.length; c++) cells.push(cellText(values[c] ?? null));
        while (cells.length && cells[cells.length - 1] === '') cells.pop();
        if (!cells.length) continue;
        checkRow(row.number, cells);
        rows.push({ line: row.number, cells });
        if (rows.length > maxRows && dataRows(rows) > maxRows) throw tooMany(`${maxRows} 以上`, maxRows);
        if (onRows && rows.length % 5000 === 0) onRows(rows.length);
      }
      break; // the first worksheet only
    }
  } catch (err) {
    if (err instanceof UploadError) throw err;
    throw new UploadError('UPLOAD_BROKEN', `Excel 文件已损坏或无法读取（${(err as Error).message}），请用 Excel 打开后另存为 .xlsx 再上传`);
  }
  if (sheets === 0) throw new UploadError('UPLOAD_BROKEN', '文件不是有效的 Excel（.xlsx）工作簿：没有找到工作表');
  return { format: 'xlsx', rows };
}
