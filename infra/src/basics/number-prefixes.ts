import type { Carrier } from './carriers.ts';
import { MSISDN } from './msisdn.ts';

/**
 * Mainland mobile number segments (号段) → carrier, longest prefix first: the one table the SMS
 * router (messaging's number-routing.ts) and the simulated population (ingest) both read. Kept as
 * data: a new segment is a line here, with a test case in messaging's number-routing.test.ts.
 * Sources: MIIT allocations as published by the three carriers (incl. MVNO 170x/171/162/165/167).
 */
export const NUMBER_PREFIXES: Readonly<Record<Carrier, readonly string[]>> = {
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

/**
 * The MVNO segments (虚拟运营商号段) among the above: routed to their host carrier like any other, but
 * the simulated population draws only the basic carriers' own blocks, as the national shares describe them.
 */
export const MVNO_PREFIXES: ReadonlySet<string> = new Set([
  '162',
  '165',
  '167',
  '171',
  '1700',
  '1701',
  '1702',
  '1703',
  '1704',
  '1705',
  '1706',
  '1707',
  '1708',
  '1709',
]);

const byPrefix = new Map<string, Carrier>();
for (const [carrier, list] of Object.entries(NUMBER_PREFIXES) as [Carrier, readonly string[]][]) {
  for (const p of list) {
    if (byPrefix.has(p)) throw new Error(`number prefix ${p} listed twice`);
    byPrefix.set(p, carrier);
  }
}

/**
 * The carrier a mainland number was issued by (longest matching segment), or undefined for an
 * unknown or unserved segment. Accepts `+86`/`0086` and spaces or dashes.
 *
 * @example carrierOfMsisdn('13912345678') // 'cmcc'
 */
export function carrierOfMsisdn(msisdn: string): Carrier | undefined {
  const n = msisdn.replace(/[\s-]/g, '').replace(/^(\+86|0086)/, '');
  if (!MSISDN.test(n)) return undefined;
  return byPrefix.get(n.slice(0, 4)) ?? byPrefix.get(n.slice(0, 3));
}
