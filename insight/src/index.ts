/** Insight's public surface: the API's request/response schemas (for the portal) and the schema. */
export * from './api/schemas.ts';
export { atom, kCount, topGroups, DEFAULT_K } from './metrics/privacy.ts';
export { resolutionForZoom } from './metrics/heatmap.ts';
export { INSIGHT_MIGRATIONS, INSIGHT_HISTORY_TABLES } from './schema/migrations.ts';
export { adminAreasFrom, type AdminAreas } from './regions/region.ts';
export { insightTopology, INSIGHT_LEASES_BUCKET } from './streams.ts';
