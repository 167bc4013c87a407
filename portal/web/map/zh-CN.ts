/** Strings of the map components (settings panel, region import), shared by the big-data and insight pages. */
export const mt = {
  settings: '地图设置',
  theme: '底图风格',
  dark: '深色',
  light: '浅色',
  styleUrl: '瓦片/样式地址（留空使用离线底图）',
  cancel: '取消',
  save: '保存',
  close: '关闭',
  badStyleUrl: '请输入以 http:// 或 https:// 开头的完整地址',
  styleFailed: (url: string, reason: string) =>
    `无法加载自定义地图样式 ${url}：${reason}。已改用离线底图；请在「地图设置」中检查地址，或留空使用离线底图。`,
  styleHttp: (status: number) => `服务器返回 HTTP ${status}`,
  styleUnreachable: '无法连接该服务器',
  styleRefused: '门户的内容安全策略不允许连接该地址（需由部署方将该地图服务器加入允许的来源）',
  styleNotStyle: '返回的内容不是 MapLibre 地图样式（style.json）',
  notGeoJSON: '文件不是 GeoJSON',
  noParts: '文件中没有多边形或折线，无法作为区域',
  cut: '挖空（减去区域）',
  cutHint: '在已绘制的区域上画一个多边形，将其从区域中减去（可形成带洞的区域）',
  cutDone: (n: number) => `已从 ${n} 个图形中减去`,
  cutNothing: '所画的多边形没有与任何已绘制的区域相交，未减去',
};
