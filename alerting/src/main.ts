import { serviceMain } from '@geo/infra';
import { AlertingEnv } from './config.ts';
import { createAlerting } from './service.ts';

await serviceMain('alerting', AlertingEnv, createAlerting);
