/**
 * The basics every service and the web share, one home each: the carriers and their number segments, the phone-number form,
 * Asia/Shanghai time and a seeded random generator. No Node or server dependency: the browser
 * imports it too (`@geo/infra/basics`).
 */
export * from './carriers.ts';
export * from './msisdn.ts';
export * from './number-prefixes.ts';
export * from './shanghai-time.ts';
export * from './seeded-random.ts';
export * from './subscriber-index.ts';
export * from './edge-hysteresis.ts';
