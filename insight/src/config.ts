import { z } from 'zod';
import { clickhouseUrl, commonEnv, port } from '@geo/infra';

export const InsightEnv = z.object({
  ...commonEnv,
  HEALTH_PORT: port(9104),
  CLICKHOUSE_URL: clickhouseUrl.default('http://127.0.0.1:8123'),
});
export type InsightConfig = z.infer<typeof InsightEnv>;
