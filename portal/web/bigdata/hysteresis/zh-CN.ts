/** Strings of the edge-hysteresis control (边缘防抖, #21), zh-CN. */
export const ht = {
  legend: '边缘防抖',
  hint: '在区域边缘来回切换基站的人不重复计为进入：离开区域超过缓冲距离、且连续超过离开时长，再进入才算新进入（驻留时间重新计算）。都为 0 时每次进入都算。',
  bufferMeters: '缓冲距离（米）',
  minOutsideMinutes: '离开时长（分钟）',
};
