export * from './contract.ts';
export * from './streams.ts';
export { loadAdminAreas, loadAdminFile, DEFAULT_PROVINCE, type AdminArea, type AdminFile, type AdminLevel } from './geography/admin-areas.ts';
export { NUMBER_PREFIXES, CARRIER_SHARE, carrierOfMsisdn } from './carriers/number-prefixes.ts';
/** Named places scenarios accept (`west-lake`, `hangzhou-olympic`, `wenling`, …), for pickers. */
export { ATTRACTIONS, VENUES, LANDFALL_POINTS, type Place } from './simulator/places.ts';
export { HTTP_FEED_PATH } from './feeds/http-feed.ts';
