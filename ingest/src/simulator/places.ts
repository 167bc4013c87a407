/**
 * Named places of the default province (Zhejiang) the simulator sends people to. Positions are
 * WGS-84 lng/lat, rounded; `weight` is the share of day-trippers an attraction draws.
 */
export interface Place {
  id: string;
  name: string;
  lat: number;
  lng: number;
  /** Radius of the dense cell cluster around it, km. */
  radiusKm: number;
  weight: number;
}

export const ATTRACTIONS: readonly Place[] = [
  { id: 'west-lake', name: '西湖', lat: 30.246, lng: 120.1445, radiusKm: 2.5, weight: 10 },
  { id: 'lingyin', name: '灵隐寺', lat: 30.2408, lng: 120.1017, radiusKm: 1, weight: 3 },
  { id: 'xixi', name: '西溪湿地', lat: 30.27, lng: 120.0635, radiusKm: 1.5, weight: 2 },
  { id: 'wuzhen', name: '乌镇', lat: 30.7453, lng: 120.4866, radiusKm: 1.5, weight: 3 },
  { id: 'qiandao-lake', name: '千岛湖', lat: 29.6048, lng: 119.0427, radiusKm: 2, weight: 2 },
  { id: 'putuoshan', name: '普陀山', lat: 29.9851, lng: 122.3866, radiusKm: 1.5, weight: 2 },
  { id: 'yandangshan', name: '雁荡山', lat: 28.372, lng: 121.074, radiusKm: 2, weight: 1.5 },
  { id: 'hengdian', name: '横店影视城', lat: 29.1574, lng: 120.3183, radiusKm: 1.5, weight: 1.5 },
  { id: 'nanxun', name: '南浔古镇', lat: 30.882, lng: 120.4247, radiusKm: 1, weight: 1 },
  { id: 'tiantai', name: '天台山', lat: 29.15, lng: 121.03, radiusKm: 1.5, weight: 1 },
];

export const VENUES: readonly Place[] = [
  { id: 'hangzhou-olympic', name: '杭州奥体中心体育场', lat: 30.2299, lng: 120.2334, radiusKm: 1, weight: 1 },
  { id: 'huanglong', name: '黄龙体育中心', lat: 30.2695, lng: 120.1318, radiusKm: 0.8, weight: 1 },
];

/** Where a typhoon usually makes landfall on this coast (温州苍南 → 台州温岭 → 宁波象山). */
export const LANDFALL_POINTS: readonly Place[] = [
  { id: 'wenling', name: '台州温岭', lat: 28.3717, lng: 121.3859, radiusKm: 0, weight: 1 },
  { id: 'cangnan', name: '温州苍南', lat: 27.5184, lng: 120.4259, radiusKm: 0, weight: 1 },
  { id: 'xiangshan', name: '宁波象山', lat: 29.4766, lng: 121.8695, radiusKm: 0, weight: 1 },
];

/** Approximate 2020 census population of Zhejiang's cities (millions), to spread homes. */
export const CITY_POPULATION: Readonly<Record<string, number>> = {
  '330100': 11.94,
  '330200': 9.4,
  '330300': 9.57,
  '330400': 5.4,
  '330500': 3.37,
  '330600': 5.27,
  '330700': 7.05,
  '330800': 2.28,
  '330900': 1.16,
  '331000': 6.62,
  '331100': 2.51,
};
export const findPlace = (id: string): Place | undefined => [...ATTRACTIONS, ...VENUES, ...LANDFALL_POINTS].find((p) => p.id === id);
