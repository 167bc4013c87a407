export * from './contract.ts';
export * from './streams.ts';
export * from './geofence/validate-region.ts';
export * from './geofence/point-in-region.ts';
export * from './geofence/admin-areas.ts';
export * from './geofence/region-index.ts';
export * from './rules/evaluate.ts';
export * from './rules/shanghai-time.ts';
