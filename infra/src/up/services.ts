/**
 * The processes `npm start` runs, in start order. Each is a workspace entry point run with tsx;
 * `env` receives the ports and URLs the orchestrator chose. Entries whose file does not exist yet
 * are skipped with a note.
 */
export interface ServicePlan {
  name: string;
  entry: string;
  /** Port of its `/healthz` (for the portal: its main port). */
  healthPort: number;
  env: Record<string, string>;
}

export interface Ports {
  portal: number;
  health: Record<'ingest' | 'alerting' | 'messaging' | 'insight' | 'smsc-sim', number>;
  insightApi: number;
  ingestHttp: number;
  smsc: Record<'cmcc' | 'cucc' | 'ctcc', number>;
  /** Where messaging listens for an SGIP gateway's reverse connection (reports, replies), per carrier. */
  sgip?: Record<'cmcc' | 'cucc' | 'ctcc', number>;
}

export interface Urls {
  natsUrl: string;
  natsMonitorUrl?: string;
  clickhouseUrl: string;
  databaseUrl?: string;
  pgliteDir: string;
}

export function planServices(ports: Ports, urls: Urls, logLevel: string, ingestKeys = ''): ServicePlan[] {
  const base = { NATS_URL: urls.natsUrl, LOG_LEVEL: logLevel };
  const smsc = {
    SMSC_HOST: '127.0.0.1',
    SMSC_PORT_CMCC: String(ports.smsc.cmcc),
    SMSC_PORT_CUCC: String(ports.smsc.cucc),
    SMSC_PORT_CTCC: String(ports.smsc.ctcc),
    ...(ports.sgip
      ? {
          SGIP_LISTEN_PORT_CMCC: String(ports.sgip.cmcc),
          SGIP_LISTEN_PORT_CUCC: String(ports.sgip.cucc),
          SGIP_LISTEN_PORT_CTCC: String(ports.sgip.ctcc),
        }
      : {}),
  };
  const h = ports.health;
  const serviceUrls = Object.fromEntries(Object.entries(h).map(([k, p]) => [k, `http://127.0.0.1:${p}`]));
  return [
    {
      name: 'smsc-sim',
      entry: 'messaging/src/smsc-sim/main.ts',
      healthPort: h['smsc-sim'],
      env: { ...base, ...smsc, HEALTH_PORT: String(h['smsc-sim']) },
    },
    {
      name: 'ingest',
      entry: 'ingest/src/main.ts',
      healthPort: h.ingest,
      env: {
        ...base,
        HEALTH_PORT: String(h.ingest),
        INGEST_HTTP_PORT: String(ports.ingestHttp),
        SIM_ENABLED: '1',
        ...(ingestKeys ? { INGEST_KEYS: ingestKeys } : {}),
      },
    },
    {
      name: 'alerting',
      entry: 'alerting/src/main.ts',
      healthPort: h.alerting,
      env: { ...base, CLICKHOUSE_URL: urls.clickhouseUrl, HEALTH_PORT: String(h.alerting) },
    },
    {
      name: 'messaging',
      entry: 'messaging/src/main.ts',
      healthPort: h.messaging,
      env: { ...base, ...smsc, CLICKHOUSE_URL: urls.clickhouseUrl, HEALTH_PORT: String(h.messaging) },
    },
    {
      name: 'insight',
      entry: 'insight/src/main.ts',
      healthPort: h.insight,
      env: { ...base, CLICKHOUSE_URL: urls.clickhouseUrl, HEALTH_PORT: String(h.insight), API_PORT: String(ports.insightApi) },
    },
    {
      name: 'portal',
      entry: 'portal/src/main.ts',
      healthPort: ports.portal,
      env: {
        ...base,
        PORT: String(ports.portal),
        CLICKHOUSE_URL: urls.clickhouseUrl,
        ...(urls.databaseUrl ? { DATABASE_URL: urls.databaseUrl } : { PGLITE_DIR: urls.pgliteDir }),
        SERVICE_URLS: JSON.stringify(serviceUrls),
        SERVER_URLS: JSON.stringify({ nats: urls.natsMonitorUrl ?? '', clickhouse: urls.clickhouseUrl }),
        INSIGHT_URL: `http://127.0.0.1:${ports.insightApi}`,
        DEMO: '1',
      },
    },
  ];
}
