import { serve, type ServerType } from '@hono/node-server';
import {
  connectClickHouse,
  connectNats,
  createLogger,
  migratePostgres,
  natsHealth,
  openDb,
  type Logger,
  type NatsConnection,
} from '@geo/infra';
import { startIndustry, type RunningIndustry } from './api/industry/index.ts';
import { AlertBus, setAlertBus } from './api/bigdata/index.ts';
import { startLedger } from './api/ledger/runtime.ts';
import { startImportJobs } from './api/industry/index.ts';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from './app.ts';
import type { PortalConfig } from './config.ts';
import { seedDemo } from './demo/seed.ts';
import type { Deps } from './http/context.ts';
import { openSecrets } from './auth/secrets.ts';
import { startCheckIns, type CheckInRuntime } from './api/bigdata/checkins/index.ts';
import { startBoundarySync } from './api/bigdata/boundaries/store.ts';

export const DEFAULT_WEB_DIST = resolve(fileURLToPath(new URL('.', import.meta.url)), '../web/dist');

export interface Portal {
  readonly url: string;
  readonly port: number;
  readonly deps: Deps;
  /** In-process requests, for tests: `portal.request('/api/status')`. */
  request(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * Opens PostgreSQL (PGlite or a server), applies migrations, seeds the demo when asked, and serves
 * the API and the SPA on `cfg.port` (0 = a free port).
 */
export async function createPortal(cfg: PortalConfig, log: Logger = createLogger('portal', cfg.logLevel ?? 'info')): Promise<Portal> {
  const db = await openDb({
    databaseUrl: cfg.databaseUrl,
    dataDir: cfg.pgliteDir ?? 'memory://',
    onIdleError: (err) => log.warn({ err }, 'PostgreSQL ended an idle pooled connection; the next query opens a new one'),
  });
  let server: ServerType | undefined;
  try {
    const applied = await migratePostgres(db);
    if (applied.length) log.info({ applied }, 'postgres migrations applied');
    if (cfg.demo) {
      await seedDemo(db, cfg.scryptLogN);
      log.info('demo enterprise and accounts seeded');
    }
    const secrets = await openSecrets(db, cfg, log);
    const ch = cfg.clickhouseUrl ? connectClickHouse(cfg.clickhouseUrl) : undefined;
    const deps: Deps = { db, cfg, log, ch };
    deps.secrets = secrets;
    const { app } = buildApp(deps, cfg.webDist ?? DEFAULT_WEB_DIST);
    const host = cfg.host ?? '127.0.0.1';
    const port = await new Promise<number>((resolvePort, reject) => {
      server = serve({ fetch: app.fetch, port: cfg.port, hostname: host }, (info) => resolvePort(info.port));
      server.once('error', reject);
    });
    const url = `http://${host}:${port}`;
    log.info({ url, db: db.kind }, 'portal listening');
    const nats = cfg.natsUrl ? attachNats(deps, cfg.natsUrl, log) : undefined;
    const ledger = startLedger(deps);
    const importJobs = startImportJobs(deps);
    const boundaries = await startBoundarySync(db, log);
    return {
      url,
      port,
      deps,
      request: async (path, init) => app.request(path, init),
      async stop() {
        await ledger.stop();
        await importJobs.stop();
        boundaries.stop();
        await nats?.stop();
        await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
        await ch?.close();
        await db.close();
      },
    };
  } catch (err) {
    server?.close();
    await db.close().catch(() => undefined);
    throw err;
  }
}

const NATS_RETRY_MS = 10_000;

/**
 * Connects to NATS in the background and starts what needs it: the industry-SMS dispatcher and
 * reply consumer, and the big-data console's bus. The portal serves (status page, logins, queued
 * sends) while NATS is down, and retries until it comes.
 */
function attachNats(deps: Deps, url: string, log: Logger): { stop(): Promise<void> } {
  let stopped = false;
  let nc: NatsConnection | undefined;
  let industry: RunningIndustry | undefined;
  let checkIns: CheckInRuntime | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  deps.natsState = () => ({ ok: false, detail: 'connecting' });
  const attempt = async () => {
    try {
      nc = await connectNats(url, 'portal');
      deps.natsState = natsHealth(nc);
      industry = await startIndustry(deps, { nc });
      // The big-data console shares this connection (closed at stop) instead of opening its own.
      setAlertBus(deps, await AlertBus.open(nc));
      // Check-in answers of alert tasks (#21): recorded from messaging's replies, areas from alerting's claim log.
      checkIns = await startCheckIns(deps, { nc });
      log.info({ url }, 'nats connected: industry dispatcher and reply consumer running');
    } catch (err) {
      log.warn({ err, url }, `nats not available; retrying in ${NATS_RETRY_MS / 1000} s`);
      await checkIns?.stop().catch(() => undefined);
      await industry?.stop().catch(() => undefined);
      await nc?.close().catch(() => undefined);
      nc = industry = undefined;
      deps.natsState = () => ({ ok: false, detail: (err as Error).message });
      if (!stopped) timer = setTimeout(() => void attempt(), NATS_RETRY_MS);
    }
  };
  void attempt();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await checkIns?.stop().catch(() => undefined);
      await industry?.stop().catch(() => undefined);
      await nc?.drain().catch(() => undefined);
    },
  };
}
