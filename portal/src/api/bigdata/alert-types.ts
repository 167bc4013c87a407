import type { AlertType } from '@geo/alerting';

/**
 * Alert types as the console names them, with the content template each starts from. Pure data:
 * the web pages import it too (type-only import of the contract, so no server code is bundled).
 */
export const ALERT_TYPE_INFO: Record<AlertType, { label: string; template: string }> = {
  typhoon: { label: '台风', template: '【台风预警】台风即将影响本地区，请关好门窗、收好室外物品，非必要不外出，远离广告牌和危旧建筑。' },
  rainstorm: { label: '暴雨', template: '【暴雨预警】本地区将出现强降雨，请远离低洼易涝区域和河道，注意交通安全。' },
  flood: { label: '洪水', template: '【洪水预警】河道水位上涨，沿河低洼地区人员请及时转移至安全地带。' },
  fire: { label: '火灾', template: '【火灾预警】附近发生火情，请听从现场指挥有序撤离，切勿围观。' },
  geological: { label: '地质灾害', template: '【地质灾害预警】本地区存在山体滑坡、泥石流风险，请远离山坡沟谷，及时避让。' },
  earthquake: { label: '地震', template: '【地震预警】请保持冷静，就近躲避，震后有序撤离到空旷地带。' },
  heat: { label: '高温', template: '【高温预警】近期持续高温，请减少午后户外活动，注意防暑降温。' },
  cold: { label: '寒潮', template: '【寒潮预警】气温将明显下降，请注意防寒保暖，做好防冻措施。' },
  snow: { label: '暴雪', template: '【暴雪预警】本地区将出现较强降雪，请减少出行，注意道路结冰。' },
  other: { label: '其他', template: '' },
};

export const CARRIER_LABELS = { cmcc: '中国移动', cucc: '中国联通', ctcc: '中国电信' } as const;
