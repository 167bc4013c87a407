import type { Ctx } from './context.ts';

/**
 * What each state-changing route does, in the words the operation log shows (操作日志), keyed by
 * method and route pattern; `null` for requests that change nothing another person could care
 * about (live counts, reach estimates, checks of a send before it is made): those are not
 * operations and are never logged. Most handlers write their own entry with a target (冻结账户 张三);
 * these words are for those that do not (see {@link opLogRequest}), and every unsafe route of the
 * app must be listed (a test says which is missing), so the log never shows a bare request again.
 */
export const OPERATIONS: Readonly<Record<string, string | null>> = {
  // Reads sent as POST (a body too big for a query string, or a live count per keystroke).
  'POST /api/industry/count': null,
  'POST /api/industry/sends/check': null,
  'POST /api/industry/uploads': null,
  'POST /api/industry/upload-jobs': null,
  'POST /api/bigdata/count': null,
  'POST /api/bigdata/reach': null,
  'POST /api/bigdata/what-if': null, // a replay over history: reads, sends nothing
  'POST /api/insight/metrics': null,
  'POST /api/auth/login': null, // the login log has it
  'POST /api/auth/login/totp': null,
  'POST /api/auth/login/enrol': null,
  'POST /api/auth/login/enrol/confirm': null,
  'POST /api/messages/:id/read': null,
  'POST /api/messages/read-all': null,

  'POST /api/auth/logout': '退出登录',
  'POST /api/auth/password': '修改密码',
  'PUT /api/account/profile': '修改本人资料',
  'POST /api/auth/totp/setup': '绑定动态口令',
  'POST /api/auth/totp/enable': '启用动态口令',
  'POST /api/auth/totp/disable': '关闭动态口令',
  'POST /api/auth/totp/recovery-codes': '重新生成恢复码',

  'POST /api/accounts': '添加子账户',
  'PUT /api/accounts/:id': '编辑账户',
  'DELETE /api/accounts/:id': '删除子账户',
  'POST /api/accounts/:id/freeze': '冻结账户',
  'POST /api/accounts/:id/unfreeze': '解冻账户',
  'POST /api/accounts/:id/reset-password': '重置密码',
  'PUT /api/accounts/:id/permissions': '分配权限',
  'PUT /api/accounts/:id/default-signature': '设置默认签名',
  'POST /api/api-keys': '创建接口密钥',
  'DELETE /api/api-keys/:id': '撤销接口密钥',
  'POST /api/departments': '添加部门',
  'PUT /api/departments/:id': '编辑部门',
  'DELETE /api/departments/:id': '删除部门',
  'POST /api/signatures': '新增签名',
  'POST /api/signatures/:id/default': '设置默认签名',
  'DELETE /api/signatures/:id': '删除签名',
  'POST /api/settings/logo': '上传 LOGO',
  'DELETE /api/settings/logo': '恢复默认 LOGO',
  'POST /api/settings/qualifications': '上传资质证明',
  'DELETE /api/settings/qualifications/:id': '删除资质证明',
  'POST /api/feedback': '提交意见反馈',
  'POST /api/review/signatures/:id/approve': '通过签名',
  'POST /api/review/signatures/:id/reject': '驳回签名',
  'POST /api/review/qualifications/:id/approve': '通过资质证明',
  'POST /api/review/qualifications/:id/reject': '驳回资质证明',
  'POST /api/review/feedback/:id/reply': '回复意见反馈',
  'POST /api/operator/enterprises': '开通集团',
  'PUT /api/operator/enterprises/:id': '修改集团',
  'POST /api/operator/enterprises/:id/freeze': '冻结集团',
  'POST /api/operator/enterprises/:id/unfreeze': '解冻集团',
  'POST /api/operator/boundaries': '加载行政区划边界',
  'POST /api/operator/boundaries/:id/activate': '启用行政区划边界版本',

  'POST /api/industry/sends': '发送短信',
  'POST /api/industry/drafts/delete': '删除草稿',
  'POST /api/industry/schedules/delete': '删除定时短信',
  'PUT /api/industry/schedules/:id': '修改定时发送时间',
  'POST /api/industry/templates': '新增短信模板',
  'PUT /api/industry/templates/:id': '编辑短信模板',
  'DELETE /api/industry/templates/:id': '删除短信模板',
  'POST /api/industry/books/:book/contacts': '添加联系人',
  'PUT /api/industry/books/:book/contacts/:id': '编辑联系人',
  'DELETE /api/industry/books/:book/contacts/:id': '删除联系人',
  'POST /api/industry/books/:book/contacts/delete': '删除联系人',
  'POST /api/industry/books/:book/contacts/sort': '设置联系人排序',
  'POST /api/industry/books/:book/contacts/:op': '复制或迁移联系人',
  'POST /api/industry/books/:book/import': '导入通讯录',
  'POST /api/industry/books/personal/groups': '新增通讯录分组',
  'PUT /api/industry/books/personal/groups/:id': '重命名通讯录分组',
  'DELETE /api/industry/books/personal/groups/:id': '删除通讯录分组',

  'POST /api/bigdata/letters': '上传授权函',
  'POST /api/bigdata/drafts': '保存大数据短信草稿',
  'PUT /api/bigdata/drafts/:id': '修改大数据短信草稿',
  'DELETE /api/bigdata/drafts/:id': '删除大数据短信草稿',
  'POST /api/bigdata/tasks': '提交大数据短信任务',
  'POST /api/bigdata/cap': '导入 CAP 预警',
  'POST /api/bigdata/cap/draft': '导入 CAP 预警为草稿',
  'POST /api/bigdata/cap/preview': null,
  'PUT /api/bigdata/tasks/:id': '修改大数据短信任务',
  'POST /api/bigdata/tasks/:id/pause': '暂停大数据短信任务',
  'POST /api/bigdata/tasks/:id/resume': '恢复大数据短信任务',
  'POST /api/bigdata/tasks/:id/stop': '紧急停止大数据短信任务',
  'POST /api/bigdata/tasks/:id/approve': '审批大数据短信任务',
  'POST /api/bigdata/tasks/:id/reject': '驳回大数据短信任务',
  'PUT /api/bigdata/approval/settings': '修改大数据任务审批设置',
  'POST /api/bigdata/tasks/:id/checkin/close': '停止接收回复报平安',

  'PUT /api/operator/send-limits': '设置默认发送频率上限',
  'PUT /api/operator/send-limits/:accountId': '设置账户发送频率上限',
  'DELETE /api/operator/send-limits/:accountId': '恢复账户默认发送频率上限',
  'POST /api/operator/enterprises/:id/top-up': '充值',
};

/** What the middleware passes when a handler wrote no entry: `<METHOD> <route pattern>`. */
const REQUEST = /^(POST|PUT|PATCH|DELETE) (\/\S*)$/;

/**
 * Records a state-changing action: who, what, on which target, when and from where. Handlers call
 * it with the operation in words and its target (a name where there is one).
 * @example await opLog(c, '冻结账户', target.name)
 */
export async function opLog(c: Ctx, action: string, target = '', detail: Record<string, unknown> = {}): Promise<void> {
  c.set('opLogged', true);
  // The middleware's fallback passes the bare request (until it calls opLogRequest itself).
  if (REQUEST.test(action) && action === `${c.req.method} ${c.req.routePath}`) return opLogRequest(c);
  await insert(c, action, target, detail);
}

/**
 * The entry for a state-changing request whose handler wrote none: its operation in words from
 * {@link OPERATIONS} (target: the route's id), or nothing when the request is a read.
 */
export async function opLogRequest(c: Ctx): Promise<void> {
  c.set('opLogged', true);
  const request = `${c.req.method} ${c.req.routePath}`;
  const words = OPERATIONS[request];
  if (words === null) return;
  if (words === undefined) {
    c.get('deps').log.warn({ route: request }, 'operation without words in OPERATIONS (op-log.ts); logged as its request');
    return insert(c, request, c.req.path);
  }
  await insert(c, words, routeTarget(c), { path: c.req.path });
}

async function insert(c: Ctx, action: string, target: string, detail: Record<string, unknown> = {}): Promise<void> {
  const p = c.get('principal');
  await c
    .get('deps')
    .db.query(
      'INSERT INTO op_log (enterprise_id, account_id, account_name, action, target, detail, ip) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [p?.enterpriseId ?? null, p?.accountId ?? null, p?.name ?? '', action, target, JSON.stringify(detail), c.get('ip')],
    );
}

/** The route's own id parameter, when it has one (what the operation was done to). */
function routeTarget(c: Ctx): string {
  try {
    return c.req.param('id') ?? '';
  } catch {
    return '';
  }
}
