/** Strings of the edge-hysteresis control (边缘防抖, #21), zh-CN. */
export const ht = {
  legend: '边缘防抖',
  hint: '在区域边缘来回切换基站的人不重复计为进入：离开区域超过缓冲距离、且连续超过离开时长，再进入才算新进入（驻留时间重新计算）。都为 0 时每次进入都算。',
  bufferMeters: '缓冲距离（米）',
  minOutsideMinutes: '离开时长（分钟）',
  // As the server words its refusals (portal/src/api/bigdata/hysteresis-form.ts), in the field's units.
  bufferNegative: '缓冲距离不能为负',
  bufferTooLarge: (max: number) => `缓冲距离最多 ${max} 米`,
  outsideNegative: '离开时长不能为负',
  outsideTooLong: (maxMinutes: number) => `离开时长最长 ${maxMinutes} 分钟（一天）`,
  /** The task detail's settings row. */
  off: '未启用（每次进入都算）',
  summary: (bufferMeters: number, minutes: number) => `缓冲 ${bufferMeters} 米，离开 ${minutes} 分钟后再进入才算新进入`,
};
