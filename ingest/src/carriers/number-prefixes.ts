import { carrierOfMsisdn, MVNO_PREFIXES, NUMBER_PREFIXES as ALL_PREFIXES, type Carrier } from '@geo/infra/basics';

/** 174 is China Telecom's satellite and maritime segment: routed, but no handset of a crowd has one. */
const NOT_A_CROWD = new Set(['174']);
const drawn = (p: string) => !MVNO_PREFIXES.has(p) && !NOT_A_CROWD.has(p);

/**
 * The number blocks the simulated population draws from: each basic carrier's own segments of the
 * one MIIT table in `@geo/infra/basics` (the MVNO segments, routed like any other, are left out so
 * that the carriers' shares below describe the simulated population).
 */
export const NUMBER_PREFIXES: Readonly<Record<Carrier, readonly string[]>> = {
  cmcc: ALL_PREFIXES.cmcc.filter(drawn),
  cucc: ALL_PREFIXES.cucc.filter(drawn),
  ctcc: ALL_PREFIXES.ctcc.filter(drawn),
};

/** Carrier shares of the simulated population, close to the national figures. */
export const CARRIER_SHARE: Readonly<Record<Carrier, number>> = { cmcc: 0.6, cucc: 0.2, ctcc: 0.2 };

export { carrierOfMsisdn };
