import type { z } from 'zod';
import { ConfigError, readConfig } from '../config/env.ts';
import { createLogger } from './logger.ts';
import { runService, type Stoppable } from './run-service.ts';

/**
 * The whole of a service's `src/main.ts`: read env with zod → typed config → create the service →
 * run until SIGINT/SIGTERM. A bad variable stops start-up with a clear message (exit code 2).
 *
 * @example
 * await serviceMain('alerting', AlertingEnv, (cfg, log) => createAlerting(cfg, log));
 */
export async function serviceMain<S extends z.ZodObject>(
  name: string,
  schema: S,
  create: (cfg: z.infer<S>, log: ReturnType<typeof createLogger>) => Promise<Stoppable>,
): Promise<void> {
  let cfg: z.infer<S>;
  try {
    cfg = readConfig(schema);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${name}: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const log = createLogger(name, (cfg as { LOG_LEVEL?: string }).LOG_LEVEL ?? 'info');
  await runService(log, () => create(cfg, log));
}
