/**
 * Features a sub-account can be given (分配权限). The enterprise admin has all of them; a platform
 * operator has none of them but the review screens. Other portal features add their key here.
 */
export const FEATURES = {
  home: '首页',
  'sms.send': '发短信',
  'sms.sent': '已发送',
  contacts: '通讯录',
  inbox: '收件箱',
  templates: '短信模板',
  stats: '发送统计',
  accounts: '账户管理',
  departments: '部门管理',
  signatures: '签名管理',
  'bigdata.send': '发大数据短信',
  'bigdata.tasks': '大数据任务',
  insight: '大数据洞察',
  'settings.logs': '操作日志与登录日志',
  'settings.platform': 'LOGO 与资质证明',
  apikeys: '接口密钥',
  'bigdata.approve': '审批大数据任务',
} as const;

export type Feature = keyof typeof FEATURES;
export const FEATURE_KEYS = Object.keys(FEATURES) as [Feature, ...Feature[]];

export type Role = 'admin' | 'sub' | 'operator';

export const ROLE_LABELS: Record<Role, string> = { admin: '企业管理员', sub: '子账户', operator: '平台运营' };

/** The features an account effectively has. */
export function effectivePermissions(role: Role, granted: readonly string[]): Feature[] {
  if (role === 'admin') return [...FEATURE_KEYS];
  if (role === 'operator') return [];
  return FEATURE_KEYS.filter((f) => granted.includes(f));
}
