/** 账户设置 › 本人资料: the words of the self-service profile form. */
export const tp = {
  title: '本人资料',
  displayName: '姓名',
  phone: '手机号码',
  email: '邮箱',
  phoneHint: '集团管理员的手机号码是发短信时“回复转发到手机”的默认号码。',
  saved: '本人资料已保存',
  separator: '；',
};
