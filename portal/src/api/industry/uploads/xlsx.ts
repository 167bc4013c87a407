import ExcelJS from 'exceljs';
import { safeCell } from '../../../industry/export-cells.ts';
import { AppError } from '../../../errors.ts';
import { drainingBodyLimit } from '../../../http/body-limit.ts';
import { readUploadOffThread } from '../../../industry/read-upload-off-thread.ts';
import { checkExpansion, sniffUpload, UploadError, type UploadedTable } from '../../../industry/upload-table.ts';
import type { Ctx } from '../../../http/context.ts';

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
/** Uploads larger than this are refused before parsing. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** An Excel file of `header` and `rows`, every text cell escaped against formula injection (CWE-1236). */
export async function xlsxBytes(sheet: string, header: string[], rows: (string | number | null | undefined)[][]): Promise<Uint8Array> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet(sheet);
  ws.addRow(header.map((h) => safeCell(h)));
  ws.getRow(1).font = { bold: true };
  for (const r of rows) ws.addRow(r.map((v) => safeCell(v)));
  ws.columns.forEach((col) => (col.width = 18));
  return new Uint8Array(await wb.xlsx.writeBuffer());
}

export function fileResponse(c: Ctx, bytes: Uint8Array, fileName: string, type = XLSX_TYPE): Response {
  return c.body(bytes as unknown as ArrayBuffer, 200, {
    'content-type': type,
    'content-disposition': `attachment; filename="export.xlsx"; filename*=UTF-8''${encodeURIComponent(fileName)}`,
    'cache-control': 'no-store',
  });
}

/** Over this many rows a file is refused (a send or an import of 100,000 numbers is allowed). */
export const MAX_UPLOAD_ROWS = 100_000;

/**
 * Refuses bodies over the upload limit even when the client sends no Content-Length, after reading
 * them to their end (a slow uploader of a 30 MB file gets the 413 and its message, not a reset).
 */
export const uploadBodyLimit = drainingBodyLimit({
  maxSize: MAX_UPLOAD_BYTES + 64 * 1024,
  tooLarge: () => new AppError('UPLOAD_TOO_LARGE', `文件过大，上限为 ${MAX_UPLOAD_BYTES / 1048576} MB`),
});

/** An UploadError as the error the portal's handler maps to a status (413, 415 or 400). */
export function uploadFailure(err: unknown): unknown {
  if (!(err instanceof UploadError)) return err;
  // A cell too long or a row too wide is a file too large in one direction: 413 with the reason.
  if (err.code === 'UPLOAD_TOO_LARGE' || err.code === 'UPLOAD_CELL_TOO_LONG' || err.code === 'UPLOAD_TOO_MANY_COLUMNS')
    return new AppError('UPLOAD_TOO_LARGE', err.message);
  if (err.code === 'UPLOAD_FORMAT') return new AppError('UPLOAD_TYPE', err.message);
  return new AppError(err.code, err.message);
}

export interface UploadedFile {
  name: string;
  bytes: Uint8Array;
  fields: Record<string, string>;
}

/**
 * The `file` part of a multipart upload with the other fields, after the checks that need no
 * parsing (type by name and by content, empty, size, an .xlsx's expanded size), or a clear error.
 */
export async function receiveUpload(c: Ctx): Promise<UploadedFile> {
  const len = Number(c.req.header('content-length') ?? 0);
  if (len > MAX_UPLOAD_BYTES + 64 * 1024) throw new AppError('UPLOAD_TOO_LARGE', `文件过大，上限为 ${MAX_UPLOAD_BYTES / 1048576} MB`);
  if (!c.req.header('content-type')?.startsWith('multipart/form-data'))
    throw new AppError('UPLOAD_TYPE', '请以 multipart/form-data 上传文件（字段名 file）');
  let form: FormData;
  try {
    form = await c.req.formData();
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('UPLOAD_BROKEN', '上传内容无法解析，请重新选择文件');
  }
  const file = form.get('file');
  if (!file || typeof file === 'string') throw new AppError('VALIDATION', '请选择要上传的文件（TXT 或 Excel）');
  const fields: Record<string, string> = {};
  form.forEach((v, k) => {
    if (typeof v === 'string') fields[k] = v;
  });
  const name = file.name || 'upload';
  if (!/\.(txt|csv|xlsx|xls)$/i.test(name))
    throw new AppError('UPLOAD_TYPE', `不支持“${name.slice(-40)}”这种文件，只支持 TXT、CSV 或 Excel（.xlsx）文件`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  try {
    sniffUpload(bytes, { maxBytes: MAX_UPLOAD_BYTES });
    // A zip bomb is refused here, in the request, also for the uploads that continue as background jobs.
    await checkExpansion(bytes);
  } catch (err) {
    throw uploadFailure(err);
  }
  return { name, bytes, fields };
}

/**
 * Reads an upload's rows on a worker thread (the server keeps answering meanwhile). A large file's
 * `bytes` are handed to the worker, not copied: don't use them afterwards.
 */
export async function parseUpload(bytes: Uint8Array, onProgress?: (rows: number) => void): Promise<UploadedTable> {
  try {
    return await readUploadOffThread(bytes, { maxBytes: MAX_UPLOAD_BYTES, maxRows: MAX_UPLOAD_ROWS, onProgress, transfer: true });
  } catch (err) {
    throw uploadFailure(err);
  }
}

/** The `file` part of a multipart upload read into rows, with the other fields, or a clear error. */
export async function readUpload(c: Ctx): Promise<{ name: string; table: UploadedTable; fields: Record<string, string> }> {
  const { name, bytes, fields } = await receiveUpload(c);
  return { name, table: await parseUpload(bytes), fields };
}
