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
};
