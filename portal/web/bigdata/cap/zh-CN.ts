/** Strings of the CAP 1.2 import page and the task detail's export (#21, #23 walk). */
export const capText = {
  menu: '导入 CAP 预警',
  title: '导入 CAP 1.2 预警',
  hint:
    '上传预警发布系统发出的 CAP 1.2 预警文件（XML，不超过 2 MB），先预览，确认后导入：' +
    'Alert（新预警）存为草稿，在发短信页补全发送条数和授权函后提交；' +
    'Update（更新）修改其 references 所指的任务；Cancel（取消）紧急停止该任务。',
  file: '选择 CAP 文件',
  checking: '正在校验…',
  invalid: (n: number) => `该文件未通过 CAP 1.2 校验，共 ${n} 处问题。请修改后重新选择文件：`,
  where: '位置',
  problem: '问题',
  /** One step of an element path: `<area>` 第 2 个. */
  step: (name: string, index?: number) => (index === undefined ? `<${name}>` : `<${name}> 第 ${index + 1} 个`),
  pathSep: ' › ',
  wholeFile: '整个文件',
  preview: '预览（尚未导入）',
  msgTypes: { Alert: 'Alert（新预警）', Update: 'Update（更新已导入的预警）', Cancel: 'Cancel（取消已导入的预警）' } as Record<
    string,
    string
  >,
  msgType: '消息类型',
  subject: '发送主题',
  alertType: '预警类型',
  dates: '发送日期',
  region: '区域',
  content: '中文内容',
  otherLanguage: (language: string) => `其他语言（${language}）`,
  exercise: '演练（每条短信前加“【演练】”，不计费）',
  references: '所指预警',
  joinList: (xs: string[]) => xs.join('；'),
  noChinese: '（没有中文 info：请在草稿中补写中文内容）',
  saveDraft: '存为草稿并补全',
  applyUpdate: '应用更新到所指任务',
  applyCancel: '紧急停止所指任务',
  confirmCancel: '将紧急停止该 CAP 取消消息所指的任务，已发出的短信不能撤回。确定吗？',
  draftSaved: '已存为草稿：请补全发送条数和授权函后提交',
  updated: (version?: number) => (version ? `已更新所指任务（第 ${version} 版）` : '已更新所指任务'),
  stopped: '所指任务已紧急停止',
  another: '重新选择文件',
  export: '导出 CAP',
  exportHint: '下载该任务的 CAP 1.2 预警文件（XML），可导入其他预警系统',
};
