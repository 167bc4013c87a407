import { z } from 'zod';
import { clickhouseUrl } from '@geo/infra';

/**
 * Where what-if replays read insight's history (#21). It belongs in `AlertingEnv` (`config.ts`),
 * which this feature's owner may not edit: until it moves there, the service reads it with this
 * schema beside its own. @default http://127.0.0.1:8123 (as insight's)
 */
export const WhatIfEnv = z.object({ CLICKHOUSE_URL: clickhouseUrl.default('http://127.0.0.1:8123') });
export type WhatIfConfig = z.infer<typeof WhatIfEnv>;
