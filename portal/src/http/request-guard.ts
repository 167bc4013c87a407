import type { MiddlewareHandler } from 'hono';
import { drainRefused, readWithin } from '@geo/infra';
import { AppError } from '../errors.ts';
import type { AppEnv } from './context.ts';
import { jsonShapeProblem, MAX_JSON_DEPTH } from './json-shape.ts';

/** A JSON body on any API route. The big-data console's drawn regions are the largest. @default 2 MiB */
export const MAX_JSON_BYTES = 2 * 1024 * 1024;
/** A JSON body to the login and its second step: a name, a password, a code. @default 8 KiB */
export const MAX_AUTH_JSON_BYTES = 8 * 1024;
/** A multipart upload, whatever the route: the largest file (10 MiB of xlsx) and its form around it. */
export const MAX_MULTIPART_BYTES = 11 * 1024 * 1024;

/** CAP 1.2 alerts come as XML, only to the CAP routes (their parser refuses DTDs and entities). */
const XML_TYPES = new Set(['application/cap+xml', 'application/xml', 'text/xml']);
const XML_PATH = '/api/bigdata/cap';

const limitFor = (path: string, multipart: boolean) =>
  multipart
    ? MAX_MULTIPART_BYTES
    : path.startsWith('/api/auth/login') || path === '/api/auth/password'
      ? MAX_AUTH_JSON_BYTES
      : MAX_JSON_BYTES;

const tooLarge = (limit: number) =>
  new AppError('UPLOAD_TOO_LARGE', `请求内容过大（上限 ${limit >= 1048576 ? `${limit / 1048576} MB` : `${limit / 1024} KB`}）`);

/**
 * Every API request with a body, before any route sees it (ASVS 13.1, 5.1):
 * - only `application/json` or `multipart/form-data` (uploads) is accepted, and XML on the CAP routes
 *   (`application/cap+xml`, `application/xml`, `text/xml`): anything else is 415;
 * - one size limit for every route, refused with 413 before reading past it (a declared
 *   Content-Length over the limit is refused unread; an undeclared one is counted as it arrives).
 *   Without a login, or on the login and password routes, the 413 goes out at once and the
 *   connection closes: nobody legitimate sends a login of 30 MB, and reading it for them would let
 *   anyone make the portal take in 64 MB per request. With a login, the refused rest is drained
 *   (bounded) before answering, so that someone uploading too big a file reads the 413 and its
 *   message instead of a connection reset;
 * - a JSON body nested deeper than {@link MAX_JSON_DEPTH} or holding a NUL character is 400,
 *   before it is parsed; a multipart body that cannot be read is 400 `UPLOAD_BROKEN`, and one
 *   with a NUL in a field, a field name or a file name is 400 (PostgreSQL cannot store it);
 * - a NUL (`%00`) in the path or query is 400.
 * Routes may still set a smaller limit of their own.
 */
export function requestGuard(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.url.includes('%00')) throw new AppError('VALIDATION', '请求地址中含有空字符（\\0），请删除后重试');
    const body = c.req.raw.body;
    if (!body || c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const declared = c.req.raw.headers.has('transfer-encoding') ? NaN : Number(c.req.raw.headers.get('content-length') ?? NaN);
    if (declared === 0) return next();
    const multipart = type === 'multipart/form-data';
    const json = type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type);
    const xml = XML_TYPES.has(type) && c.req.path.startsWith(XML_PATH);
    if (!multipart && !json && !xml) {
      await drainRefused(body.getReader(), 0);
      throw new AppError('UNSUPPORTED_MEDIA_TYPE');
    }
    const limit = limitFor(c.req.path, multipart);
    const reader = body.getReader();
    const answerAtOnce = !c.get('principal') || limit === MAX_AUTH_JSON_BYTES;
    const refuse = async (seen: number): Promise<never> => {
      if (answerAtOnce) reader.cancel().catch(() => undefined);
      else await drainRefused(reader, seen);
      c.header('connection', 'close');
      throw tooLarge(limit);
    };
    if (Number.isFinite(declared) && declared > limit) return refuse(0);
    const read = await readWithin(reader, limit);
    if ('over' in read) return refuse(read.over);
    if (json) {
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(read.bytes);
      } catch {
        throw new AppError('BAD_JSON', '请求内容不是有效的 UTF-8 编码 JSON');
      }
      const problem = jsonShapeProblem(text);
      if (problem === 'depth') throw new AppError('BAD_JSON', `请求内容嵌套过深（最多 ${MAX_JSON_DEPTH} 层）`);
      if (problem === 'nul') throw new AppError('VALIDATION', '请求内容中含有空字符（\\0）等控制字符，请删除后重试');
    }
    if (multipart) await checkForm(read.bytes, c.req.header('content-type')!);
    c.req.raw = new Request(c.req.raw, { body: read.bytes });
    return next();
  };
}

/**
 * A multipart body as the routes will read it (undici's parser, as hono's `parseBody`): 400
 * `UPLOAD_BROKEN` when it cannot be read (hono's own 400 was answered as "不是有效的 JSON"), 400
 * when a field, a field name or a file name holds a NUL (it reached PostgreSQL: 500). File
 * contents are the upload readers' to judge.
 */
async function checkForm(bytes: Uint8Array<ArrayBuffer>, type: string): Promise<void> {
  let form: FormData;
  try {
    form = await new Response(bytes, { headers: { 'content-type': type } }).formData();
  } catch {
    throw new AppError('UPLOAD_BROKEN', '上传内容无法解析（multipart/form-data 不完整或缺少分隔符），请重新选择文件');
  }
  for (const [name, value] of form) {
    const text = typeof value === 'string' ? value : value.name;
    if (name.includes('\0') || text.includes('\0'))
      throw new AppError(
        'VALIDATION',
        `上传的表单字段“${name.replaceAll('\0', '')}”${typeof value === 'string' ? '' : '的文件名'}中含有空字符（\\0），请删除后重试`,
      );
  }
}
