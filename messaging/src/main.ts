import { serviceMain } from '@geo/infra';
import { MessagingEnv } from './config.ts';
import { createMessaging } from './service.ts';

await serviceMain('messaging', MessagingEnv, (cfg, log) => createMessaging(cfg, log));
