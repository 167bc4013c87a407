/** Strings of the map components (settings panel, region import), shared by the big-data and insight pages. */
export const mt = {
  settings: '地图设置',
  theme: '底图风格',
  dark: '深色',
  light: '浅色',
  styleUrl: '瓦片/样式地址（留空使用离线底图）',
  cancel: '取消',
  save: '保存',
  notGeoJSON: '文件不是 GeoJSON',
  noParts: '文件中没有多边形或折线，无法作为区域',
  cut: '挖空（减去区域）',
  cutHint: '在已绘制的区域上画一个多边形，将其从区域中减去（可形成带洞的区域）',
  cutDone: (n: number) => `已从 ${n} 个图形中减去`,
  cutNothing: '所画的多边形没有与任何已绘制的区域相交，未减去',
};
