import type { TopologyPart } from '@geo/infra';

/** Sink lease and membership of the insight instances (one holder runs the sink, the others stand by). */
export const INSIGHT_LEASES_BUCKET = 'insight_leases';

/** insight's part of the NATS topology: it reads LOCATION (ingest's) and owns only its lease bucket. */
export function insightTopology(): TopologyPart {
  return { owner: 'insight', streams: [], buckets: [{ bucket: INSIGHT_LEASES_BUCKET }] };
}
