/**
 * The LOCATION message codec's front door: the binary GLOC v1 format and its constants
 * (`location-format.ts`), decoding binary or JSON messages (`location-decode.ts`) and encoding
 * batches (`location-encode.ts`).
 */
export {
  AGE_ABSENT,
  GENDER_ABSENT,
  HOME_ABSENT,
  LANG_ABSENT,
  LOCATION_BINARY_MAGIC,
  LOCATION_BINARY_VERSION,
  LocationDecodeError,
  MAX_BATCH_EVENTS,
  isBinaryLocationMessage,
  type LocationColumns,
} from './location-format.ts';
export { cellIdOf, columnsToEvents, decodeBinaryColumns, decodeLocationColumns, decodeLocationMessage } from './location-decode.ts';
export { LocationBatchBuilder, encodeLocationBatch } from './location-encode.ts';
