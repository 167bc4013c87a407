import {
  connectClickHouse, connectNats, ensureDeadLetterStream, natsHealth, startServiceHttp, type ClickHouseClient, type Logger, type Stoppable,
} from '@geo/infra';
import type { SmsCarrier } from './contract.ts';
import type { MessagingConfig } from './config.ts';
import { declareMessagingStreams } from './streams.ts';
import { messagingNames, type MessagingNames } from './names.ts';
import { migrateSendLog } from './send-log/schema.ts';
import { SmppConnector } from './smpp/smpp-connector.ts';
import type { CarrierConnector } from './smpp/connector.ts';
import { ExtensionRegistry } from './replies/extension-numbers.ts';
import { SmsSender } from './sender/sms-sender.ts';
import { RecipientLimiter } from './limits/recipient-limits.ts';

export interface MessagingService extends Stoppable {
  sender: SmsSender;
  connectors: Map<SmsCarrier, CarrierConnector>;
  healthUrl: string;
}

/** The messaging service: owns SMS_JOBS and SMS_EVENTS, the carrier connectors and the send log. */
export async function createMessaging(cfg: MessagingConfig, log: Logger, opts: { names?: MessagingNames } = {}): Promise<MessagingService> {
  const names = opts.names ?? messagingNames(cfg.MESSAGING_NS);
  const http = await startServiceHttp('messaging', cfg.HEALTH_PORT);
  // Not healthy until started: /healthz answered 200 before NATS, the streams and the send log were
  // there (no check registered yet), and a test that waited for it raced the migration.
  let started = false;
  http.addCheck('started', () => ({ ok: started, detail: started ? 'started' : 'starting' }));
  const nc = await connectNats(cfg.NATS_URL, 'messaging');
  http.addCheck('nats', natsHealth(nc));
  await ensureDeadLetterStream(nc, cfg.STREAM_REPLICAS);
  await declareMessagingStreams(nc, cfg.STREAM_REPLICAS, names);
  const ch = connectClickHouse(cfg.CLICKHOUSE_URL);
  // ClickHouse down at start is not fatal: sending goes on, send-log rows wait (bounded) in the
  // writer, and the table is created as soon as ClickHouse answers. /healthz says so meanwhile.
  const schema = ensureSendLogTable(ch, cfg.SEND_LOG_TABLE, log);
  // The first attempt is awaited (briefly): with ClickHouse up, the table exists once we are ready.
  await Promise.race([schema.first, new Promise((r) => setTimeout(r, 5000).unref())]);

  const ports: Record<SmsCarrier, number> = { cmcc: cfg.SMSC_PORT_CMCC, cucc: cfg.SMSC_PORT_CUCC, ctcc: cfg.SMSC_PORT_CTCC };
  const rates: Record<SmsCarrier, number> = { cmcc: cfg.SMSC_RATE_CMCC, cucc: cfg.SMSC_RATE_CUCC, ctcc: cfg.SMSC_RATE_CTCC };
  const accessNumbers: Record<SmsCarrier, string> = { cmcc: cfg.ACCESS_NUMBER_CMCC, cucc: cfg.ACCESS_NUMBER_CUCC, ctcc: cfg.ACCESS_NUMBER_CTCC };
  const connectors = new Map<SmsCarrier, CarrierConnector>();
  for (const carrier of ['cmcc', 'cucc', 'ctcc'] as const) {
    const c = new SmppConnector({
      carrier, host: cfg.SMSC_HOST, port: ports[carrier], systemId: cfg.SMSC_SYSTEM_ID, password: cfg.SMSC_PASSWORD, accessNumber: accessNumbers[carrier],
      binds: Math.max(1, cfg.SMSC_BINDS), windowSize: Math.max(1, cfg.SMSC_WINDOW), segmentsPerSecond: rates[carrier], log,
      clientRefTlv: cfg.SMSC_CLIENT_REF_TLV.includes(carrier),
    });
    connectors.set(carrier, c);
    http.addCheck(`smpp-${carrier}`, () => {
      const s = c.status();
      return { ok: s.bound > 0, detail: `${s.bound}/${s.binds} bound, ${s.queued} queued, ${s.inFlight} in flight` };
    });
  }
  const extensions = await ExtensionRegistry.open(nc, names.extensionsBucket, cfg.STREAM_REPLICAS);
  const limiter = await RecipientLimiter.open(nc, names.limitsBucket, {
    perMinute: cfg.RECIPIENT_LIMIT_PER_MINUTE, perHour: cfg.RECIPIENT_LIMIT_PER_HOUR, perDay: cfg.RECIPIENT_LIMIT_PER_DAY, limitedAlertTypes: cfg.RECIPIENT_LIMIT_ALERT_TYPES,
  }, cfg.STREAM_REPLICAS);
  const sender = new SmsSender({
    nc, ch, log, connectors, accessNumbers, extensions, limiter, names, table: cfg.SEND_LOG_TABLE, registry: http.registry,
    maxInFlight: cfg.MAX_IN_FLIGHT, uncertainResolveMs: cfg.UNCERTAIN_RESOLVE_MS, uncertainPolicy: cfg.UNCERTAIN_POLICY, unknownReceiptMs: cfg.UNKNOWN_RECEIPT_MS, ackWaitMs: cfg.ACK_WAIT_MS, replicas: cfg.STREAM_REPLICAS,
  });
  http.addCheck('clickhouse', () => {
    const h = sender.sendLogHealth();
    return schema.error ? { ok: false, detail: `degraded: send-log table not ready (${schema.error}); ${h.queued} rows queued, retrying` } : h;
  });
  await sender.start();
  started = true;
  log.info({ health: http.url, smsc: `${cfg.SMSC_HOST}:${ports.cmcc}/${ports.cucc}/${ports.ctcc}` }, 'messaging ready');
  return {
    sender,
    connectors,
    healthUrl: http.url,
    async stop() {
      schema.stop();
      await sender.stop();
      await Promise.all([...connectors.values()].map((c) => c.close()));
      await nc.drain();
      await ch.close();
      await http.close();
    },
  };
}

/**
 * Runs the send-log migration, retrying with backoff until ClickHouse answers. `error` holds the
 * last failure until it succeeds.
 */
function ensureSendLogTable(ch: ClickHouseClient, table: string, log: Logger): { error?: string; first: Promise<void>; stop(): void } {
  let firstDone!: () => void;
  const state: { error?: string; first: Promise<void>; stop(): void } = { error: 'not migrated yet', first: new Promise((r) => (firstDone = r)), stop: () => undefined };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  state.stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
  const attempt = (n: number) => {
    migrateSendLog(ch, table, table === 'sms_log' ? 'messaging' : `messaging:${table}`).then(
      () => {
        if (state.error && n > 1) log.info({ attempts: n }, 'send-log table ready; ClickHouse is back');
        state.error = undefined;
        firstDone();
      },
      (err: unknown) => {
        state.error = (err as Error).message.slice(0, 200);
        if (n === 1 || n % 10 === 0) log.error({ err: state.error, attempt: n }, 'ClickHouse unreachable: send-log rows are queued until it answers');
        firstDone();
        if (!stopped) timer = setTimeout(() => attempt(n + 1), Math.min(5000, 250 * 2 ** Math.min(n, 5)));
      },
    );
  };
  attempt(1);
  return state;
}
