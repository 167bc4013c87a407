import { insightRoutes } from './routes.ts';

/** 大数据洞察's API (metrics, heat map, big-screen live feed). Add to the portal's `API_ROUTES`. */
export const INSIGHT_ROUTES = [insightRoutes];
export { InsightClient, InsightError, toInsightRegion } from './insight-client.ts';
