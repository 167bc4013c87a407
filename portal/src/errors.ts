import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * Every failure the API reports, by stable code: its HTTP status and the message a person reads
 * (zh-CN). Clients switch on `code`; the message may change wording, the code never does.
 */
export const ERRORS = {
  VALIDATION: [400, '请求参数有误'],
  BAD_JSON: [400, '请求内容不是有效的 JSON'],
  UNAUTHENTICATED: [401, '请先登录'],
  SESSION_EXPIRED: [401, '登录已过期，请重新登录'],
  CSRF: [403, '请求来源校验失败，请刷新页面后重试'],
  FORBIDDEN: [403, '没有权限执行此操作'],
  NOT_FOUND: [404, '记录不存在'],
  CAPTCHA_INVALID: [400, '验证码错误或已过期'],
  LOGIN_FAILED: [401, '账户名或密码错误'],
  ACCOUNT_LOCKED: [429, '登录失败次数过多，请稍后再试'],
  IP_THROTTLED: [429, '该地址登录失败次数过多，请稍后再试'],
  LOGIN_STEP_EXPIRED: [401, '登录验证已过期或错误次数过多，请重新登录'],
  LOGIN_STEP_CLIENT: [401, '登录验证须在输入密码的同一浏览器、同一网络中完成，请重新登录'],
  SECOND_FACTOR_INVALID: [400, '动态口令或恢复码错误'],
  TOTP_REQUIRED: [409, '平台运营账户必须启用动态口令，不能关闭'],
  ACCOUNT_FROZEN: [403, '账户已冻结，请联系管理员'],
  WRONG_PASSWORD: [400, '原密码错误'],
  WEAK_PASSWORD: [400, '密码不符合要求：至少 12 位，且不能是常见密码'],
  NAME_TAKEN: [409, '名称已被使用'],
  DEPT_HAS_CHILDREN: [409, '该部门下还有下级部门，请先删除下级部门'],
  DEPT_HAS_MEMBERS: [409, '该部门下还有账户，请先移走或删除这些账户'],
  DEPT_CYCLE: [400, '不能把部门移到它自己或它的下级部门之下'],
  SIGNATURE_NOT_APPROVED: [409, '签名未通过审核，不能使用'],
  ALREADY_REVIEWED: [409, '该记录已审核'],
  CANNOT_MODIFY_SELF: [409, '不能对自己的账户执行此操作'],
  UPLOAD_TOO_LARGE: [413, '文件过大'],
  UPLOAD_TYPE: [415, '不支持的文件类型'],
  UNSUPPORTED_MEDIA_TYPE: [415, '请求内容须为 JSON（Content-Type: application/json）'],
  TASK_STATE: [409, '任务当前状态不允许此操作'],
  BUS_UNAVAILABLE: [503, '预警服务暂不可用（消息总线未连接），请稍后再试'],
  INSIGHT_UNAVAILABLE: [503, '洞察服务暂不可用，请稍后再试'],
  // Industry SMS: sends, address books, uploads.
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
  INTERNAL: [500, '服务器内部错误，请稍后再试'],
} as const satisfies Record<string, readonly [ContentfulStatusCode, string]>;

export type ErrorCode = keyof typeof ERRORS;

/** A failure with a stable code; the portal's one error handler (`http/error-response.ts`) turns it into `{ error: { code, message, details? } }`. */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    /** Replaces the default message when the situation deserves a more precise one. */
    message?: string,
    readonly details?: unknown,
  ) {
    super(message ?? ERRORS[code][1]);
  }
  get status(): ContentfulStatusCode {
    return ERRORS[this.code][0];
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export function errorBody(err: AppError): ErrorBody {
  return { error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } };
}
