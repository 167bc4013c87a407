/** Strings of the insight pages (大数据洞察) that are not in the big-data catalogue. */
export const insightText = {
  /** Under the gender donut when some categories are hidden (their sum on the grid of k is 0): which ones is not said. */
  hiddenCategories: (k: number) => `各基站小区每类人数按 ${k} 人取整（少于 ${k} 人计 0），保护个人位置隐私`,
  /**
   * Under the wall's age bars: how many people they hold of all present. Rounded per cell and age
   * band, they held 30 of 18,250 on the #23 walk, with nothing to say why the bars were so short.
   */
  ageCounted: (counted: string, total: string, k: number) =>
    `年龄段计入 ${counted} 人，共 ${total} 人（各基站小区每个年龄段不足 ${k} 人的不计）`,
  /** Under the 24-hour chart: a gap is a bucket whose sum on the grid of k is 0, never drawn as 0. */
  seriesGaps: (k: number) => `各基站小区每类人数按 ${k} 人取整（少于 ${k} 人计 0），保护个人位置隐私；为 0 处留空`,
  /** Province names by the first two digits of a GB/T 2260 code. */
  provinces: {
    '11': '北京',
    '12': '天津',
    '13': '河北',
    '14': '山西',
    '15': '内蒙古',
    '21': '辽宁',
    '22': '吉林',
    '23': '黑龙江',
    '31': '上海',
    '32': '江苏',
    '33': '浙江',
    '34': '安徽',
    '35': '福建',
    '36': '江西',
    '37': '山东',
    '41': '河南',
    '42': '湖北',
    '43': '湖南',
    '44': '广东',
    '45': '广西',
    '46': '海南',
    '50': '重庆',
    '51': '四川',
    '52': '贵州',
    '53': '云南',
    '54': '西藏',
    '61': '陕西',
    '62': '甘肃',
    '63': '青海',
    '64': '宁夏',
    '65': '新疆',
    '71': '台湾',
    '81': '香港',
    '82': '澳门',
  } as Record<string, string>,
  /** A place outside Zhejiang: its province, and the code when it is not the province itself. */
  /**
   * A place outside Zhejiang (whose city names the portal does not hold): the province, and the
   * city's code. A municipality's city is the municipality itself: 上海市, not 上海（310100）
   * (#23 walk: the big screen's origins showed the bare code).
   */
  placeName: (province: string, code?: string) =>
    !code ? province : ['11', '12', '31', '50'].includes(code.slice(0, 2)) ? `${province}市` : `${province}（${code}）`,
  /** Dwell buckets of the API (`RegionMetrics.dwell[].bucket`). */
  dwell: {
    '<30m': '30分钟内',
    '30-60m': '30-60分钟',
    '1-2h': '1-2小时',
    '2-4h': '2-4小时',
    '4-8h': '4-8小时',
    '>8h': '8小时以上',
  } as Record<string, string>,
  /** The origin chart's last bar: the cities folded together. */
  other: '其他',
  /** A category's share in a legend: 男 52%. */
  share: (name: string, percent: number) => `${name} ${percent}%`,
  /** The big screen's mark on an exercise task (演练), beside its alert type. */
  exercise: '演练',
  /** Under the big screen's alert panel when more alerts run than it holds. */
  moreAlerts: (n: number) => `另有 ${n} 项预警执行中`,
  /** Beside the figures when the page's 边缘防抖 is set: flows, their series and dwell count by it. */
  hysteresisCaption: (metres: number, seconds: number) =>
    `流入流出与驻留按边缘防抖计：${[metres > 0 ? `缓冲 ${metres} 米` : '', seconds > 0 ? `离开满 ${Math.round(seconds / 60)} 分钟` : ''].filter(Boolean).join('、')}`,
  inflow: '漫入',
  outflow: '漫出',
};
