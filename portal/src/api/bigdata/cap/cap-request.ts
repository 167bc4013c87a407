import { AppError } from '../../../errors.ts';
import { drainingBodyLimit } from '../../../http/body-limit.ts';
import type { Ctx } from '../../../http/context.ts';
import { z } from '../../../http/openapi.ts';
import { parse } from '../route-kit.ts';
import { MAX_CAP_BYTES, readCap, type CapAlert, type CapIssue } from './cap-xml.ts';

/*
 * Reading a CAP request: the body limit, the three ways the document comes (XML, JSON { xml, form },
 * multipart), the body as documented, and CAP's own errors (400 naming each path).
 */

const XML_TYPES = ['application/cap+xml', 'application/xml', 'text/xml'];

export const capBodyLimit = drainingBodyLimit({
  maxSize: MAX_CAP_BYTES + 64 * 1024,
  tooLarge: () => new AppError('UPLOAD_TOO_LARGE', `CAP 文档过大（上限 ${MAX_CAP_BYTES / 1048576} MB）`),
});

const Extra = z
  .record(z.string(), z.unknown())
  .refine((f) => JSON.stringify(f).length < 1_000_000, '表单过大')
  .openapi({
    description: 'CAP 没有的字段：quota、signature、authorizationLetter、windows、rules、frequency、minDwellMin（覆盖 CAP 中的值）',
  });
const CapJson = z
  .object({
    xml: z.string({ error: '请在 xml 字段中给出 CAP 1.2 文档' }).max(MAX_CAP_BYTES, 'CAP 文档过大'),
    form: Extra.optional(),
  })
  .openapi('BigdataCapImport');
const XML_DOC = { type: 'string' as const, description: 'CAP 1.2 文档（命名空间 urn:oasis:names:tc:emergency:cap:1.2，UTF-8）' };
const EXTRA_DOC = {
  type: 'object' as const,
  description:
    'CAP 没有的字段（覆盖 CAP 中的值）：quota、signature、authorizationLetter、windows、rules、frequency、minDwellMin，同 BigdataTaskForm',
};
/**
 * The body as documented. Plain JSON schemas, not zod: @hono/zod-openapi would otherwise gate the
 * content types with an HTTPException (a 500 here) and check a body before the handler reads it.
 */
export const capBody = {
  body: {
    required: true,
    content: Object.fromEntries([
      ...XML_TYPES.map((t) => [t, { schema: XML_DOC }]),
      ['application/json', { schema: { type: 'object' as const, required: ['xml'], properties: { xml: XML_DOC, form: EXTRA_DOC } } }],
      [
        'multipart/form-data',
        {
          schema: {
            type: 'object' as const,
            required: ['file'],
            properties: {
              file: { type: 'string' as const, format: 'binary', description: 'CAP 1.2 XML 文档（上限 2 MB）' },
              form: { type: 'string' as const, description: 'form 的 JSON 文本' },
            },
          },
        },
      ],
    ]),
  },
};

const utf8 = (bytes: ArrayBuffer) => {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new AppError('VALIDATION', 'CAP 文档须为 UTF-8 编码');
  }
};

export async function readRequest(c: Ctx): Promise<{ xml: string; extra: Record<string, unknown> }> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (XML_TYPES.includes(type)) return { xml: utf8(await c.req.arrayBuffer()), extra: {} };
  if (type === 'application/json') {
    const body = parse(CapJson, await c.req.json().catch(() => ({})));
    return { xml: body.xml, extra: body.form ?? {} };
  }
  if (type === 'multipart/form-data') {
    const body = await c.req.parseBody().catch(() => {
      throw new AppError('VALIDATION', '请以 multipart/form-data 上传文件（字段 file）');
    });
    if (!(body.file instanceof File)) throw new AppError('VALIDATION', '请选择 CAP 文件（字段 file）');
    if (body.file.size > MAX_CAP_BYTES) throw new AppError('UPLOAD_TOO_LARGE', `CAP 文档过大（上限 ${MAX_CAP_BYTES / 1048576} MB）`);
    let extra: Record<string, unknown> = {};
    if (typeof body.form === 'string' && body.form.trim()) {
      try {
        extra = parse(Extra, JSON.parse(body.form));
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw new AppError('BAD_JSON', 'form 字段不是有效的 JSON');
      }
    }
    return { xml: utf8(await body.file.arrayBuffer()), extra };
  }
  throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'CAP 文档请以 application/cap+xml、application/json（{ xml }）或 multipart/form-data 提交');
}

export function capErrors(issues: CapIssue[]): AppError {
  const shown = issues.slice(0, 20).map((i) => `${i.path}: ${i.message}`);
  const more = issues.length > 20 ? `；另有 ${issues.length - 20} 处` : '';
  return new AppError('VALIDATION', `CAP 1.2 校验未通过：${shown.join('；')}${more}`, issues);
}

export function readOrFail(xml: string): CapAlert {
  const r = readCap(xml);
  if (!r.ok) throw capErrors(r.issues);
  return r.alert;
}

/** Actual alerts are sent; Exercise and Test ones too, as exercises (演练); System and Draft ones are not. */
export function refusedStatus(a: CapAlert): void {
  if (!['Actual', 'Exercise', 'Test'].includes(a.status))
    throw capErrors([
      {
        path: 'alert.status',
        message: `status 为 ${a.status} 的预警不发送：只导入 Actual，以及作为演练的 Exercise、Test（Draft 可存为草稿）`,
      },
    ]);
}
