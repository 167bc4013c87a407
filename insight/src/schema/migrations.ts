import type { ClickHouseMigration } from '@geo/infra';

/** Insight's ClickHouse schema. Runs on 18.16 and current releases (no TTL, LowCardinality, DateTime64). */
export const INSIGHT_MIGRATIONS: ClickHouseMigration[] = [];
