import type { SmsCarrier } from '../contract.ts';

/**
 * Mainland mobile number segments (号段) → carrier, longest prefix first. Kept as data: a new
 * segment is a line here, with a test case in number-routing.test.ts.
 * Sources: MIIT allocations as published by the three carriers (incl. MVNO 170x/171/162/165/167).
 */
export const NUMBER_PREFIXES: Readonly<Record<SmsCarrier, readonly string[]>> = {
  cmcc: [
    '1340',
    '1341',
    '1342',
    '1343',
    '1344',
    '1345',
    '1346',
    '1347',
    '1348',
    '135',
    '136',
    '137',
    '138',
    '139',
    '147',
    '148',
    '150',
    '151',
    '152',
    '157',
    '158',
    '159',
    '165',
    '172',
    '178',
    '182',
    '183',
    '184',
    '187',
    '188',
    '195',
    '197',
    '198',
    '1703',
    '1705',
    '1706',
  ],
  cucc: [
    '130',
    '131',
    '132',
    '145',
    '146',
    '155',
    '156',
    '166',
    '167',
    '171',
    '175',
    '176',
    '185',
    '186',
    '196',
    '1704',
    '1707',
    '1708',
    '1709',
  ],
  ctcc: ['133', '1349', '149', '153', '162', '173', '174', '177', '180', '181', '189', '190', '191', '193', '199', '1700', '1701', '1702'],
};

/**
 * Valid-looking segments no carrier of ours serves: 192 is China Broadnet (中国广电), a fourth
 * carrier we have no gateway for. They are refused with their own reason.
 */
export const UNSERVED_PREFIXES: Readonly<Record<string, string>> = {
  '192': '中国广电号段（192）暂不支持',
};
