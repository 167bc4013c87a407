import { serviceMain } from '@geo/infra';
import { IngestEnv } from './config.ts';
import { createIngest } from './service.ts';

await serviceMain('ingest', IngestEnv, createIngest);
