/**
 * `npm start`: servers (or the existing ones named by NATS_URL / CLICKHOUSE_URL / DATABASE_URL),
 * every service, the simulator and the portal; prints the portal's URL and the demo logins.
 * Ctrl-C stops everything; running it again reuses `.data/`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, readConfig } from '../config/env.ts';
import { pickPort } from '../servers/pick-port.ts';
import { ensureNewerNats } from '../servers/nats-release.ts';
import type { NatsSync } from '../servers/nats.ts';
import { startStack, type RunningStack } from '../servers/stack.ts';
import { connectNats } from '../nats/connect.ts';
import { planServices } from './services.ts';
import { serverLines } from './server-lines.ts';
import { declareSystemTopology } from './topology.ts';
import { Supervisor } from './supervisor.ts';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

const UpEnv = z.object({
  DATA_DIR: z.string().default(join(ROOT, '.data')),
  PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  NATS_URL: z
    .string()
    .regex(/^(nats|tls):\/\//, 'expected nats://host:port')
    .optional(),
  CLICKHOUSE_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected postgres://user:pass@host:port/db')
    .optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
  /**
   * When the NATS server started here fsyncs what it acknowledged: `always` (survives a power loss;
   * about 15–20× fewer publishes/s, `npm run bench:infra`), an interval like `1s`, or `default`
   * (every 2 minutes). Anything but `default` needs nats-server ≥ 2.10, which is fetched from Debian
   * trixie when the system has an older one.
   */
  /** Replicas of every stream and bucket (3 on a NATS cluster given by NATS_URL); the topology is declared once, here. */
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  NATS_SYNC: z
    .string()
    .regex(/^(always|default|\d+(ms|s|m))$/, 'expected always, default or an interval like 1s')
    .default('default'),
});

const say = (msg: string) => console.log(msg);

async function waitHealthy(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return true;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

interface DemoLogin {
  name: string;
  password: string;
  role: string;
}

/** The portal's demo accounts (`@geo/portal/demo`), printed for the person who ran `npm start`. */
async function demoLogins(): Promise<string[]> {
  try {
    const mod = (await import('@geo/portal/demo' as string)) as { DEMO_CREDENTIALS?: Record<string, unknown> };
    const logins = Object.values(mod.DEMO_CREDENTIALS ?? {}).filter(
      (v): v is DemoLogin => typeof v === 'object' && v !== null && 'name' in v && 'password' in v,
    );
    return logins.map((a) => `    ${a.name.padEnd(12)} ${a.password.padEnd(16)} ${a.role}`);
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  let cfg: z.infer<typeof UpEnv>;
  try {
    cfg = readConfig(UpEnv);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  mkdirSync(cfg.DATA_DIR, { recursive: true });
  say('geo-alert: starting servers …');
  let stack: RunningStack;
  const taken = new Set<number>();
  try {
    // A nats-server ≥ 2.10 (for sync_interval) when one can be had; otherwise the system's runs.
    if (!cfg.NATS_URL) await ensureNewerNats({ log: say });
    stack = await startStack({
      natsSync: cfg.NATS_SYNC as NatsSync,
      dataDir: cfg.DATA_DIR,
      natsUrl: cfg.NATS_URL,
      clickhouseUrl: cfg.CLICKHOUSE_URL,
      natsPort: cfg.NATS_URL ? undefined : await pickPort(4222, taken),
      clickhousePort: cfg.CLICKHOUSE_URL ? undefined : await pickPort(8123, taken),
      log: say,
    });
  } catch (err) {
    console.error(`could not start the servers: ${(err as Error).message}`);
    process.exitCode = 1;
    return;
  }
  for (const line of serverLines(stack, { dataDir: resolve(cfg.DATA_DIR), root: ROOT, databaseUrl: cfg.DATABASE_URL })) say(line);

  // The whole NATS topology, declared once with one replica count before any service starts.
  try {
    const nc = await connectNats(stack.natsUrl, 'geo-up');
    await declareSystemTopology(nc, cfg.STREAM_REPLICAS);
    await nc.close();
  } catch (err) {
    console.error(`could not declare the NATS streams: ${(err as Error).message}`);
    await stack.stop();
    process.exitCode = 1;
    return;
  }

  const ports = {
    portal: await pickPort(cfg.PORT, taken),
    health: {
      ingest: await pickPort(9101, taken),
      alerting: await pickPort(9102, taken),
      messaging: await pickPort(9103, taken),
      insight: await pickPort(9104, taken),
      'smsc-sim': await pickPort(9105, taken),
    },
    insightApi: await pickPort(9204, taken),
    ingestHttp: await pickPort(9201, taken),
    smsc: { cmcc: await pickPort(2775, taken), cucc: await pickPort(2776, taken), ctcc: await pickPort(2777, taken) },
    sgip: { cmcc: await pickPort(8801, taken), cucc: await pickPort(8802, taken), ctcc: await pickPort(8803, taken) },
  };
  // Per-carrier keys for ingest's HTTP feed, made once and kept in .data/ (unless given).
  const keysFile = join(cfg.DATA_DIR, 'ingest-keys');
  const ingestKeys =
    process.env.INGEST_KEYS ??
    (existsSync(keysFile)
      ? readFileSync(keysFile, 'utf8').trim()
      : (() => {
          const k = ['cmcc', 'cucc', 'ctcc'].map((c) => `${c}=${randomBytes(18).toString('base64url')}`).join(',');
          writeFileSync(keysFile, k, { mode: 0o600 });
          return k;
        })());
  const plans = planServices(
    ports,
    {
      natsUrl: stack.natsUrl,
      natsMonitorUrl: stack.natsMonitorUrl,
      clickhouseUrl: stack.clickhouseUrl,
      databaseUrl: cfg.DATABASE_URL,
      pgliteDir: join(cfg.DATA_DIR, 'pglite'),
    },
    cfg.LOG_LEVEL,
    ingestKeys,
  );
  for (const p of plans) p.env.STREAM_REPLICAS = String(cfg.STREAM_REPLICAS);
  const logDir = join(cfg.DATA_DIR, 'logs');
  const sup = new Supervisor(ROOT, logDir, say);

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    say(`\n${signal}: stopping services and servers …`);
    await sup.stopAll();
    await stack.stop();
    say('stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  say('geo-alert: starting services …');
  // All at once: each service declares what it needs idempotently and reconnects on its own, so
  // start-up takes as long as the slowest one, not the sum.
  const started = plans.map((plan) => ({ plan, s: sup.start(plan) })).filter((x) => x.s !== undefined);
  await Promise.all(
    started.map(async ({ plan }) => {
      const ok = await waitHealthy(`http://127.0.0.1:${plan.healthPort}/healthz`, 180_000);
      if (shuttingDown) return;
      say(
        `  ${ok ? '✓' : '✗'} ${plan.name.padEnd(16)} http://127.0.0.1:${plan.healthPort}/healthz${ok ? '' : `  (not healthy yet — see ${join(logDir, `${plan.name}.log`)})`}`,
      );
    }),
  );
  if (shuttingDown) return;
  const logins = await demoLogins();
  say('');
  say(`Portal:  http://127.0.0.1:${ports.portal}/   (system status: http://127.0.0.1:${ports.portal}/status)`);
  if (logins.length) say(`Demo logins:\n${logins.join('\n')}`);
  say(`Feeds:   POST http://127.0.0.1:${ports.ingestHttp}/v1/location-events (NDJSON; keys per carrier in ${keysFile})`);
  say(`Logs:    ${logDir}/<service>.log       Ctrl-C stops everything.`);
}

await main();
