import { randomUUID } from 'node:crypto';
import type { Queryable } from '@geo/infra';
import type { Context } from 'hono';
import { AppError } from '../../errors.ts';
import { inspectDocument } from '../../http/uploaded-document.ts';

/** What an upload may be, decided by its first bytes (the declared type is not trusted). */
const SNIFF: { type: string; ext: string; test: (b: Uint8Array) => boolean }[] = [
  { type: 'image/png', ext: 'png', test: (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 },
  { type: 'image/jpeg', ext: 'jpg', test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { type: 'application/pdf', ext: 'pdf', test: (b) => b[0] === 0x25 && b[1] === 0x50 && b[2] === 0x44 && b[3] === 0x46 },
];

export interface UploadRule {
  kind: 'logo' | 'qualification';
  types: readonly string[];
  maxBytes: number;
}

export const LOGO_RULE: UploadRule = { kind: 'logo', types: ['image/png', 'image/jpeg'], maxBytes: 512 * 1024 };
export const QUALIFICATION_RULE: UploadRule = {
  kind: 'qualification',
  types: ['application/pdf', 'image/png', 'image/jpeg'],
  maxBytes: 5 * 1024 * 1024,
};

const typeLabel: Record<string, string> = { 'image/png': 'PNG', 'image/jpeg': 'JPEG', 'application/pdf': 'PDF' };

/**
 * Checks a multipart file by content and size and stores it in the database (no file names on
 * disk, so no path tricks). The stored name keeps only safe characters, for the download header.
 */
export async function storeUpload(
  db: Queryable,
  rule: UploadRule,
  file: unknown,
  owner: { enterpriseId: string; accountId: string },
): Promise<{ id: string; contentType: string; fileName: string }> {
  if (!(file instanceof File))
    throw new AppError('VALIDATION', '请求参数有误：file: 请选择要上传的文件', [{ path: 'file', message: '请选择要上传的文件' }]);
  if (file.size === 0) throw new AppError('VALIDATION', '请求参数有误：file: 文件是空的', [{ path: 'file', message: '文件是空的' }]);
  if (file.size > rule.maxBytes) throw new AppError('UPLOAD_TOO_LARGE', `文件过大：最大 ${Math.round(rule.maxBytes / 1024)} KB`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  const sniffed = SNIFF.find((s) => s.test(bytes));
  if (!sniffed || !rule.types.includes(sniffed.type)) {
    throw new AppError('UPLOAD_TYPE', `不支持的文件类型：只接受 ${rule.types.map((t) => typeLabel[t]).join('、')}`);
  }
  // The first bytes only say what the file claims to be: it must also open, with a page.
  const doc = inspectDocument(bytes);
  if (!doc.ok)
    throw new AppError('UPLOAD_TYPE', `文件无法打开：${doc.problem}。请上传完整的 ${rule.types.map((t) => typeLabel[t]).join('、')} 文件`);
  const base =
    (file.name || 'file')
      .replace(/[^\p{L}\p{N}._-]+/gu, '_')
      .replace(/^\.+/, '')
      .slice(0, 80) || 'file';
  const fileName = base.toLowerCase().endsWith(`.${sniffed.ext}`) ? base : `${base}.${sniffed.ext}`;
  const id = randomUUID();
  await db.query(
    'INSERT INTO uploads (id, enterprise_id, account_id, kind, file_name, content_type, size, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [id, owner.enterpriseId, owner.accountId, rule.kind, fileName, sniffed.type, bytes.length, bytes],
  );
  return { id, contentType: sniffed.type, fileName };
}

/**
 * Sends a stored file with headers that stop a browser from running or re-typing it. A stored
 * document (营业执照, 授权书: names, ID numbers) is personal data: no browser keeps it (`no-store`,
 * ASVS 8.2.1); only the enterprise's logo may be cached.
 */
export function fileResponse(
  c: Context,
  f: { data: Uint8Array; content_type: string; file_name: string },
  download: boolean,
  cache: 'no-store' | 'private, max-age=300' = 'no-store',
): Response {
  return c.body(new Uint8Array(f.data), 200, {
    'content-type': f.content_type,
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'cache-control': cache,
    'content-disposition': `${download ? 'attachment' : 'inline'}; filename*=UTF-8''${encodeURIComponent(f.file_name)}`,
  });
}
