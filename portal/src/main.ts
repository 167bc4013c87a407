import { serviceMain } from '@geo/infra';
import { envToConfig, PortalEnv } from './config.ts';
import { createPortal } from './portal.ts';

await serviceMain('portal', PortalEnv, (env, log) => createPortal(envToConfig(env), log));
