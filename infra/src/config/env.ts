import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'CONFIG';
}

/**
 * Reads a service's configuration from environment variables with a zod object schema. A wrong
 * value stops start-up with one line per bad variable, saying what was expected.
 * Library code takes the returned object and never reads `process.env` itself.
 */
export function readConfig<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const r = schema.safeParse(env);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const key = i.path.join('.');
    const got = env[key];
    return `  ${key}: ${i.message}${got === undefined ? ' (not set)' : ` (got ${JSON.stringify(got)})`}`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}

/** Common variables, to be spread into each service's schema. */
export const commonEnv = {
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  NATS_URL: z
    .string()
    .regex(/^(nats|tls|wss?):\/\/\S+$/, 'expected a nats://host:port URL (comma-separated for a cluster)')
    .default('nats://127.0.0.1:4222'),
};

/** A comma-separated list, each item trimmed, empty items dropped; unset is the empty list. */
export const commaList = () =>
  z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    );
export const port = (def: number) => z.coerce.number().int().min(0).max(65535).default(def);
export const clickhouseUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s)://host:port URL' });
export const databaseUrl = z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres://user:pass@host:port/db URL');
