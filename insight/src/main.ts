import { serviceMain } from '@geo/infra';
import { InsightEnv } from './config.ts';
import { createInsight } from './service.ts';

await serviceMain('insight', InsightEnv, createInsight);
