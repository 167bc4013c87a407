/** Strings of the 回放预演 (what-if) panel beside the reach estimate (#21). */
export const wt = {
  title: '回放预演',
  hint: '按当前草稿，在过去的时段内回放移动记录（不发送），看将触达多少人、何时、在哪里',
  from: '开始时间',
  to: '结束时间',
  yesterday: '昨日 08:00–20:00',
  run: '开始回放',
  running: '回放中…',
  needRegion: '请先选择或绘制发送区域',
  reached: '将触达',
  sum: '合计',
  when: '累计触达（按时间）',
  areas: (n: number) => `触达区域：${n} 个六边形`,
  underK: (k: number) => `< ${k}`,
  privacy: (k: number) => `为保护隐私，每个基站小区的人数按 ${k} 人取整，少于 ${k} 人不显示`,
  took: (ms: number) => `用时 ${(ms / 1000).toFixed(1)} 秒`,
  note: '回放按草稿的规则、时段、驻留时长、频率和各运营商上限计算；历史只含移动记录（保留 7 天）',
};
