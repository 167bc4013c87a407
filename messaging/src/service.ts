import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  LeaseManager,
  connectClickHouse,
  connectNats,
  ensureDeadLetterStream,
  ensureKv,
  natsHealth,
  startServiceHttp,
  type ClickHouseClient,
  type Logger,
  type Stoppable,
} from '@geo/infra';
import type { SmsCarrier } from './contract.ts';
import type { MessagingConfig } from './config.ts';
import { declareMessagingStreams } from './streams.ts';
import { messagingNames, type MessagingNames } from './names.ts';
import { migrateSendLog } from './send-log/schema.ts';
import { SmppConnector } from './smpp/smpp-connector.ts';
import { CmppConnector } from './cmpp/cmpp-connector.ts';
import { CMPP_VERSION_20, CMPP_VERSION_30 } from './cmpp/codec.ts';
import { SmgpConnector } from './smgp/smgp-connector.ts';
import { SgipConnector } from './sgip/sgip-connector.ts';
import type { LinkCarrierConfig, LinkConnector } from './smpp/link-connector.ts';
import { BIND_LEASE_GROUP, bindSlots, slotOf } from './smpp/bind-slots.ts';
import type { CarrierConnector } from './smpp/connector.ts';
import { ExtensionRegistry } from './replies/extension-numbers.ts';
import { SmsSender } from './sender/sms-sender.ts';
import { RecipientLimiter } from './limits/recipient-limits.ts';

export interface MessagingService extends Stoppable {
  sender: SmsSender;
  connectors: Map<SmsCarrier, CarrierConnector>;
  healthUrl: string;
  /** This instance's id and the bind-slot leases it holds (`cmcc-0` → epoch). */
  instance: string;
  leases: LeaseManager;
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
  const accessNumbers: Record<SmsCarrier, string> = {
    cmcc: cfg.ACCESS_NUMBER_CMCC,
    cucc: cfg.ACCESS_NUMBER_CUCC,
    ctcc: cfg.ACCESS_NUMBER_CTCC,
  };
  const instance =
    cfg.INSTANCE_ID ??
    `${hostname()
      .replace(/[^A-Za-z0-9_-]/g, '_')
      .slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const binds = Math.max(1, cfg.SMSC_BINDS);
  // The carriers' binds are shared by all instances: a slot is used only while its lease is held
  // (fence checked before every submit_sm), and each slot carries its share of the carrier's rate.
  const leaseKv = await ensureKv(nc, names.bindLeasesBucket, { replicas: cfg.STREAM_REPLICAS });
  let leases!: LeaseManager;
  const protocols: Record<SmsCarrier, string> = {
    cmcc: cfg.SMSC_PROTOCOL_CMCC,
    cucc: cfg.SMSC_PROTOCOL_CUCC,
    ctcc: cfg.SMSC_PROTOCOL_CTCC,
  };
  const connectors = new Map<SmsCarrier, LinkConnector<unknown>>();
  for (const carrier of ['cmcc', 'cucc', 'ctcc'] as const) {
    const link: LinkCarrierConfig = {
      carrier,
      host: cfg.SMSC_HOST,
      port: ports[carrier],
      accessNumber: accessNumbers[carrier],
      binds,
      windowSize: Math.max(1, cfg.SMSC_WINDOW),
      segmentsPerSecond: rates[carrier],
      rateGuardMs: cfg.SMSC_RATE_GUARD_MS,
      log,
      leasedBinds: true,
      canSend: (slot) => leases.fence(`${carrier}-${slot}`) !== undefined,
    };
    // Each carrier's gateway speaks its own protocol (SMSC_PROTOCOL_*); the rest is the same.
    const c: LinkConnector<unknown> =
      protocols[carrier] === 'sgip'
        ? new SgipConnector({
            ...link,
            loginName: cfg.SGIP_LOGIN_NAME,
            loginPassword: cfg.SGIP_LOGIN_PASSWORD,
            nodeId: cfg.SGIP_NODE_ID,
            corpId: cfg.SGIP_CORP_ID,
            serviceType: cfg.SGIP_SERVICE_TYPE,
            listenPort: { cmcc: cfg.SGIP_LISTEN_PORT_CMCC, cucc: cfg.SGIP_LISTEN_PORT_CUCC, ctcc: cfg.SGIP_LISTEN_PORT_CTCC }[carrier],
            listenHost: cfg.SGIP_LISTEN_HOST,
          })
        : protocols[carrier] === 'smgp'
          ? new SmgpConnector({
              ...link,
              clientId: cfg.SMGP_CLIENT_ID,
              sharedSecret: cfg.SMGP_SHARED_SECRET,
              serviceId: cfg.SMGP_SERVICE_ID,
            })
          : protocols[carrier] === 'cmpp'
            ? new CmppConnector({
                ...link,
                spId: cfg.CMPP_SP_ID,
                sharedSecret: cfg.CMPP_SHARED_SECRET,
                version: cfg.CMPP_VERSION === '2.0' ? CMPP_VERSION_20 : CMPP_VERSION_30,
                serviceId: cfg.CMPP_SERVICE_ID,
                feeType: cfg.CMPP_FEE_TYPE,
                feeCode: cfg.CMPP_FEE_CODE,
              })
            : new SmppConnector({
                ...link,
                systemId: cfg.SMSC_SYSTEM_ID,
                password: cfg.SMSC_PASSWORD,
                clientRefTlv: cfg.SMSC_CLIENT_REF_TLV.includes(carrier),
              });
    connectors.set(carrier, c);
    // The check keeps its name `smpp-<carrier>` whatever the protocol (dashboards and tests read it).
    http.addCheck(`smpp-${carrier}`, () => {
      const s = c.status();
      // Holding no slot is fine: other instances hold this carrier's binds.
      return {
        ok: s.bound > 0 || s.held === 0,
        detail: `${protocols[carrier]}: ${s.bound}/${s.held} held slots bound (of ${s.binds}), ${s.queued} queued, ${s.inFlight} in flight`,
      };
    });
  }
  const extensions = await ExtensionRegistry.open(nc, names.extensionsBucket, cfg.STREAM_REPLICAS);
  const limiter = await RecipientLimiter.open(
    nc,
    names.limitsBucket,
    {
      perMinute: cfg.RECIPIENT_LIMIT_PER_MINUTE,
      perHour: cfg.RECIPIENT_LIMIT_PER_HOUR,
      perDay: cfg.RECIPIENT_LIMIT_PER_DAY,
      limitedAlertTypes: cfg.RECIPIENT_LIMIT_ALERT_TYPES,
    },
    cfg.STREAM_REPLICAS,
  );
  const sender = new SmsSender({
    nc,
    ch,
    log,
    connectors,
    accessNumbers,
    extensions,
    limiter,
    names,
    table: cfg.SEND_LOG_TABLE,
    registry: http.registry,
    maxInFlight: cfg.MAX_IN_FLIGHT,
    uncertainResolveMs: cfg.UNCERTAIN_RESOLVE_MS,
    stallMs: cfg.CONSUMER_STALL_MS,
    uncertainPolicy: cfg.UNCERTAIN_POLICY,
    unknownReceiptMs: cfg.UNKNOWN_RECEIPT_MS,
    ackWaitMs: cfg.ACK_WAIT_MS,
    statusBatchMs: cfg.STATUS_EVENT_BATCH_MS,
    replicas: cfg.STREAM_REPLICAS,
    leasedCarriers: true,
    instance,
    peers: () => Math.max(0, leases.liveMembers().length - 1),
  });
  leases = new LeaseManager({
    kv: leaseKv,
    group: BIND_LEASE_GROUP,
    shards: bindSlots(binds),
    instance,
    ttlMs: cfg.BIND_LEASE_TTL_MS,
    log: (msg, fields) => log.info({ instance, ...fields }, msg),
    onAcquired: async (shard) => {
      const { carrier, slot } = slotOf(shard);
      connectors.get(carrier)!.hold(slot);
      await sender.resume(carrier);
    },
    onLost: async (shard, _epoch, reason) => {
      const { carrier, slot } = slotOf(shard);
      const c = connectors.get(carrier)!;
      // The carrier's last slot here: stop taking its jobs first, so that those handed back are
      // not pulled again by this instance.
      if (c.heldSlots().every((n) => n === slot)) await sender.pause(carrier);
      // Handed over or stopping: the lease is ours until released, so the slot is drained and
      // its rate window left to expire first. Expired or taken: nothing more is sent on it (the
      // fence already said so); its answers are awaited in the background.
      const released = reason === 'rebalance' || reason === 'stopped' ? c.release(slot) : void c.release(slot).catch(() => undefined);
      await released;
    },
  });
  http.addCheck('clickhouse', () => {
    const h = sender.sendLogHealth();
    return schema.error
      ? { ok: false, detail: `degraded: send-log table not ready (${schema.error}); ${h.queued} rows queued, retrying` }
      : h;
  });
  await sender.start();
  leases.start();
  http.addCheck('bind-leases', () => ({
    ok: true,
    detail: `${instance}: ${[...leases.owned().keys()].join(' ') || 'no slot'} (${leases.liveMembers().length} instances)`,
  }));
  started = true;
  log.info({ health: http.url, smsc: `${cfg.SMSC_HOST}:${ports.cmcc}/${ports.cucc}/${ports.ctcc}`, protocols }, 'messaging ready');
  return {
    sender,
    connectors,
    healthUrl: http.url,
    instance,
    leases,
    async stop() {
      schema.stop();
      // Slots drained together (each waits out its rate window once), then the leases handed back.
      await Promise.all([...connectors.values()].flatMap((c) => c.heldSlots().map((n) => c.release(n))));
      await leases.stop();
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
  const state: { error?: string; first: Promise<void>; stop(): void } = {
    error: 'not migrated yet',
    first: new Promise((r) => (firstDone = r)),
    stop: () => undefined,
  };
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
        if (n === 1 || n % 10 === 0)
          log.error({ err: state.error, attempt: n }, 'ClickHouse unreachable: send-log rows are queued until it answers');
        firstDone();
        if (!stopped) timer = setTimeout(() => attempt(n + 1), Math.min(5000, 250 * 2 ** Math.min(n, 5)));
      },
    );
  };
  attempt(1);
  return state;
}
