export * from './contract.ts';
export * from './streams.ts';
export {
  LOCATION_BINARY_MAGIC,
  LOCATION_BINARY_VERSION,
  AGE_ABSENT,
  GENDER_ABSENT,
  HOME_ABSENT,
  MAX_BATCH_EVENTS,
  LocationBatchBuilder,
  LocationDecodeError,
  cellIdOf,
  columnsToEvents,
  decodeBinaryColumns,
  decodeLocationColumns,
  decodeLocationMessage,
  encodeLocationBatch,
  isBinaryLocationMessage,
  type LocationColumns,
} from './codec/location-codec.ts';
export {
  loadAdminAreas,
  loadAdminFile,
  DEFAULT_PROVINCE,
  type AdminArea,
  type AdminFile,
  type AdminLevel,
} from './geography/admin-areas.ts';
export { NUMBER_PREFIXES, CARRIER_SHARE, carrierOfMsisdn } from './carriers/number-prefixes.ts';
/** Named places scenarios accept (`west-lake`, `hangzhou-olympic`, `wenling`, …), for pickers. */
export { ATTRACTIONS, VENUES, LANDFALL_POINTS, type Place } from './simulator/places.ts';
export { HTTP_FEED_PATH } from './feeds/http-feed.ts';
