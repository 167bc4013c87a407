/** Strings of the home page's ledger (额度账本); the page's other strings are in the shared catalogue. */
export const th = {
  available: '我现在可发送',
  reserved: (n: string) => `其中大数据短信任务预留 ${n} 条（已扣除，任务结束后未发部分退回）`,
  ledger: '额度账本',
  ledgerNote: '每一次充值、扣费、预留和退回都记在这里，余额即最后一条的结余。',
  at: '时间',
  kind: '类型',
  balanceOf: '账户',
  enterprise: '集团',
  /** The enterprise balance, with the account that moved it. */
  enterpriseVia: (account: string) => `集团（${account}）`,
  amount: '变动（条）',
  after: '结余',
  ref: '关联',
  refKinds: { industry: '行业短信', bigdata: '大数据短信任务' } as Record<string, string>,
  noLimit: '不单独限制',
};
