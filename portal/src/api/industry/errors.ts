import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AppError } from '../../errors.ts';

/**
 * Industry-SMS failures that the core's ERRORS table does not list yet. They travel as AppError
 * (so the portal's one error handler maps them) with their own stable code and status.
 */
export const INDUSTRY_ERRORS = {
  RECIPIENTS_REJECTED: [400, '有无效或重复的号码，请确认后再发送'],
  NO_RECIPIENTS: [400, '没有有效的接收号码'],
  TEXT_REFUSED: [400, '短信内容不能发送'],
  INSUFFICIENT_BALANCE: [409, '余额不足，不能发送'],
  RATE_LIMITED: [429, '发送过于频繁，请稍后再试'],
  GROUP_HAS_CHILDREN: [409, '该分组下还有子分组，请先删除子分组'],
  GROUP_HAS_CONTACTS: [409, '该分组下还有联系人，请先清空联系人'],
  PHONE_TAKEN: [409, '通讯录中已有这个手机号码'],
  NO_EXTENSION: [409, '可用的扩展码已用完，请稍后再试'],
  NOT_SCHEDULED: [409, '该短信已发出或已取消，不能修改'],
  UPLOAD_EMPTY: [400, '上传的文件是空的'],
  UPLOAD_BROKEN: [400, '文件已损坏或无法读取'],
  UPLOAD_TOO_MANY_ROWS: [413, '文件行数超过上限'],
  UPLOAD_ENCODING: [400, '无法识别文件的文字编码，请另存为 UTF-8 或 GBK 编码后上传'],
  IMPORT_NOT_FOUND: [404, '导入任务不存在或已过期'],
} as const satisfies Record<string, readonly [ContentfulStatusCode, string]>;

export type IndustryErrorCode = keyof typeof INDUSTRY_ERRORS;

export class IndustryError extends AppError {
  readonly industryCode: IndustryErrorCode;
  constructor(code: IndustryErrorCode, message?: string, details?: unknown) {
    super('VALIDATION', message ?? INDUSTRY_ERRORS[code][1], details);
    this.industryCode = code;
    // The portal's handler reads `code` and `status`: report ours.
    Object.defineProperty(this, 'code', { value: code });
  }
  override get status(): ContentfulStatusCode {
    return INDUSTRY_ERRORS[this.industryCode][0];
  }
}
