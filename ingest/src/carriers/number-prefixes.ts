import type { Carrier } from '../contract.ts';
import { MSISDN } from '@geo/infra/basics';

/**
 * Mainland mobile number blocks (号段) per carrier, as allocated by MIIT (basic carriers only; the
 * MVNO blocks 162/165/167x/170/171 and China Broadnet's 192 are left out on purpose).
 * `134` is China Mobile except `1349` (a satellite block), hence the four-digit entries.
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
  ],
  cucc: ['130', '131', '132', '145', '146', '155', '156', '166', '175', '176', '185', '186', '196'],
  ctcc: ['133', '1349', '149', '153', '173', '177', '180', '181', '189', '190', '191', '193', '199'],
};

/** Carrier shares of the simulated population, close to the national figures. */
export const CARRIER_SHARE: Readonly<Record<Carrier, number>> = { cmcc: 0.6, cucc: 0.2, ctcc: 0.2 };

const byPrefix = new Map<string, Carrier>();
for (const [carrier, list] of Object.entries(NUMBER_PREFIXES) as [Carrier, readonly string[]][]) {
  for (const p of list) byPrefix.set(p, carrier);
}

/**
 * The carrier a mainland number was issued by (longest matching block), or undefined for an
 * unknown block. Accepts `+86`/`0086` and spaces or dashes.
 *
 * @example carrierOfMsisdn('13912345678') // 'cmcc'
 */
export function carrierOfMsisdn(msisdn: string): Carrier | undefined {
  const n = msisdn.replace(/[\s-]/g, '').replace(/^(\+86|0086)/, '');
  if (!MSISDN.test(n)) return undefined;
  return byPrefix.get(n.slice(0, 4)) ?? byPrefix.get(n.slice(0, 3));
}
