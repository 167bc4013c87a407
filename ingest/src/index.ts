export * from './contract.ts';
export * from './streams.ts';
export { loadAdminAreas, loadAdminFile, DEFAULT_PROVINCE, type AdminArea, type AdminFile, type AdminLevel } from './geography/admin-areas.ts';
export { NUMBER_PREFIXES, CARRIER_SHARE, carrierOfMsisdn } from './carriers/number-prefixes.ts';
