/** Strings of the insight pages (大数据洞察) that are not in the big-data catalogue. */
export const insightText = {
  /** Under the gender donut when some categories are hidden: which ones is not said (it would tell them apart from empty ones). */
  hiddenCategories: (k: number) => `少于 ${k} 人的类别不显示`,
  /** Under the 24-hour chart: gaps are buckets under k (or empty), never drawn as 0. */
  seriesGaps: (k: number) => `空缺处少于 ${k} 人（或无人），不画作 0`,
};
