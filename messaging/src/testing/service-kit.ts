import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, inject } from 'vitest';
import { pino } from 'pino';
import { jetstream } from '@nats-io/jetstream';
import { connectClickHouse, connectNats, selectRows, sql, ident, list, type ClickHouseClient, type NatsConnection } from '@geo/infra';
import { until } from '@geo/infra/testing';
import { MessagingEnv } from '../config.ts';
import { createMessaging, type MessagingService } from '../service.ts';
import { messagingNames, type MessagingNames } from '../names.ts';
import { deliveryStatusesOf, SmsReply, type DeliveryStatus, type SmsCarrier, type SmsJob } from '../contract.ts';
import { declareMessagingStreams } from '../streams.ts';
import type { SimulatedSmsc } from '../smsc-sim/simulated-smsc.ts';
import { startSimulatedSmsc, type SmscOptions } from '../smsc-sim/smsc.ts';

/** How a test's simulated SMSCs differ from the kit's (see `startSmscs`). */
export type SmscOver = Partial<Omit<SmscOptions, 'carrier'>>;

/** A send-log row as the service tests read it. */
export interface LogRow {
  job_id: string;
  status: string;
  code: string;
  segments: number;
  carrier: string;
  message_id: string;
  task: number;
}

/**
 * The messaging service against real NATS and ClickHouse (the int project's servers) and simulated
 * gateways over TCP, for service-level tests: its own namespace and send-log table, the environment
 * pointing at the gateways, jobs, the send log, the status and reply events, the service in process
 * or as a child process (`main.ts`) to kill, and the SIGKILL drill.
 */
export class ServiceKit {
  readonly ns: string;
  readonly names: MessagingNames;
  readonly table: string;
  readonly statuses: DeliveryStatus[] = [];
  /** NATS messages the statuses came in (one per status, or a batch of them). */
  statusMessages = 0;
  readonly replies: SmsReply[] = [];
  nc!: NatsConnection;
  ch!: ClickHouseClient;
  /** The gateways, by carrier (set by the test before `env` is used). */
  smscs!: Record<SmsCarrier, SimulatedSmsc>;
  private seq = 0;

  constructor(
    prefix: string,
    private readonly client: string,
    /** Environment beside the servers, table and gateway ports (protocols, listen ports). */
    private readonly extraEnv: () => Record<string, string> = () => ({}),
  ) {
    this.ns = `${prefix}${Date.now().toString(36)}`;
    this.names = messagingNames(this.ns);
    this.table = `sms_log_${this.ns}`;
  }

  /** Connects, declares the streams and collects the status and reply events. */
  async open(): Promise<void> {
    this.nc = await connectNats(inject('natsUrl'), this.client);
    this.ch = connectClickHouse(inject('clickhouseUrl'));
    await declareMessagingStreams(this.nc, 1, this.names);
    const c = await jetstream(this.nc).consumers.get(this.names.eventsStream);
    void (async () => {
      for await (const m of await c.consume()) {
        if (m.subject.includes('.status.')) {
          const got = deliveryStatusesOf(m.json());
          if (!got) throw new Error(`not a delivery status: ${m.string()}`);
          this.statusMessages++;
          this.statuses.push(...got);
        } else this.replies.push(SmsReply.parse(m.json()));
      }
    })();
  }

  /**
   * One simulated SMPP SMSC per carrier (set as `smscs`): plain sequential message ids, the same on
   * the three (invariant 8: receipts are matched per carrier and SMSC), every message delivered
   * with its receipt 10 ms later, refused receipts sent again after 300 ms; `over` (or, per carrier,
   * what it answers for the carrier) changes any of it.
   */
  async startSmscs(over: SmscOver | ((carrier: SmsCarrier) => SmscOver) = {}): Promise<Record<SmsCarrier, SimulatedSmsc>> {
    const sims = await Promise.all(
      (['cmcc', 'cucc', 'ctcc'] as const).map((carrier) => {
        const o = typeof over === 'function' ? over(carrier) : over;
        return startSimulatedSmsc({
          carrier,
          messageIds: 'sequential',
          retryMs: 300,
          ...o,
          behaviour: { successRate: 1, receiptDelayMs: 10, ...o.behaviour },
        });
      }),
    );
    this.smscs = { cmcc: sims[0]!, cucc: sims[1]!, ctcc: sims[2]! };
    return this.smscs;
  }

  /** Closes the gateways and connections and drops the send-log table. */
  async close(): Promise<void> {
    await Promise.all(Object.values(this.smscs ?? {}).map((s) => s.close()));
    await this.nc?.drain();
    await this.ch?.command({ query: `DROP TABLE IF EXISTS ${this.table}` }).catch(() => undefined);
    await this.ch?.close();
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      NATS_URL: inject('natsUrl'),
      CLICKHOUSE_URL: inject('clickhouseUrl'),
      HEALTH_PORT: '0',
      SEND_LOG_TABLE: this.table,
      LOG_LEVEL: 'silent',
      SMSC_PORT_CMCC: String(this.smscs.cmcc.port),
      SMSC_PORT_CUCC: String(this.smscs.cucc.port),
      SMSC_PORT_CTCC: String(this.smscs.ctcc.port),
      ACK_WAIT_MS: '4000',
      SMSC_BINDS: '1',
      ...this.extraEnv(),
      ...extra,
    };
  }

  /**
   * The usual set-up of a test file, as its beforeAll and afterAll: the simulated SMSCs
   * (`startSmscs`, given `smscs`), the kit opened and the service in this process; stopped and
   * closed after all. Answers the running service.
   */
  serveInProcess(smscs?: Parameters<ServiceKit['startSmscs']>[0]): () => MessagingService {
    let svc: MessagingService | undefined;
    beforeAll(async () => {
      await this.startSmscs(smscs);
      await this.open();
      svc = await this.startService();
    });
    afterAll(async () => {
      await svc?.stop();
      await this.close();
    });
    return () => {
      if (!svc) throw new Error('the service is not running (serveInProcess: beforeAll failed?)');
      return svc;
    };
  }

  /** The service in this process, its connectors bound. */
  async startService(): Promise<MessagingService> {
    const svc = await createMessaging(MessagingEnv.parse(this.env()), pino({ level: 'silent' }), { names: this.names });
    await Promise.all([...svc.connectors.values()].map((c) => c.ready()));
    return svc;
  }

  /** The service as its own process (`main.ts`), to be killed. */
  spawnService(extra: Record<string, string> = {}): ChildProcess {
    const main = fileURLToPath(new URL('../main.ts', import.meta.url));
    return spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, ...this.env({ ...extra, MESSAGING_NS: this.ns }) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }

  job(over: Partial<SmsJob> = {}): SmsJob {
    return {
      jobId: `${this.ns}-j${++this.seq}`,
      source: 'industry',
      enterpriseId: 'ent1',
      accountId: 'acc1',
      sendId: 'send1',
      msisdn: '13800000000',
      carrier: 'cmcc',
      content: '明天有雨，记得带伞。',
      signature: '气象台',
      createdAt: Date.now(),
      ...over,
    };
  }

  async publish(jobs: SmsJob[]): Promise<void> {
    const js = jetstream(this.nc);
    await Promise.all(jobs.map((j) => js.publish(this.names.jobSubject(j.carrier), JSON.stringify(j), { msgID: j.jobId })));
  }

  rows(ids: string[]): Promise<LogRow[]> {
    return selectRows<LogRow>(
      this.ch,
      sql`SELECT job_id, status, code, segments, carrier, message_id, task FROM ${ident(this.table)} FINAL WHERE job_id IN ${list(ids)}`
        .text,
    );
  }

  async finalRows(ids: string[]): Promise<LogRow[]> {
    return (await this.rows(ids)).filter((r) => r.status !== 'submitted');
  }

  /**
   * The SIGKILL drill: the service runs as a process, `jobs` are published, and once `killAfter` of
   * their parts reached the gateways the process is killed with SIGKILL and started again, until
   * every job is final. With `holdAnswers` the gateways stop answering submits once `killAfter` parts
   * arrived and the kill waits until that many submits are provably on the wire unanswered (racing a
   * kill against answers leaves none in flight on a loaded machine); answers flow again after it.
   * Answers how many parts of each job the gateways received, and the final send-log rows.
   */
  async killDrill(o: {
    gateways: SimulatedSmsc[];
    jobs: SmsJob[];
    env: Record<string, string>;
    killAfter: number;
    holdAnswers?: number;
  }): Promise<{ sent: Map<string, number>; final: LogRow[]; atKill: number }> {
    const ids = o.jobs.map((j) => j.jobId);
    const numbers = new Map(o.jobs.map((j) => [j.msisdn, j.jobId]));
    const received = () => o.gateways.reduce((n, s) => n + s.parts.filter((p) => numbers.has(p.destination)).length, 0);
    // Submits the gateways have neither answered nor dropped (their counters are cumulative).
    const unanswered = () =>
      o.gateways.reduce((n, s) => {
        const c = s.stats();
        return n + c.submits - c.accepted - c.rejected - c.throttled - c.dropped;
      }, 0);
    const before = received();
    let child = this.spawnService(o.env);
    const stop = async (signal: NodeJS.Signals) => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill(signal);
        await exited;
      }
    };
    try {
      await this.publish(o.jobs);
      await until('the first sends', () => received() - before >= o.killAfter, 60_000);
      if (o.holdAnswers !== undefined) {
        const latencies = o.gateways.map((g) => g.behaviour.latencyMs);
        for (const g of o.gateways) g.configure({ latencyMs: 600_000 });
        const base = unanswered();
        await until('submits left unanswered', () => unanswered() - base >= o.holdAnswers!, 60_000);
        await stop('SIGKILL');
        o.gateways.forEach((g, i) => g.configure({ latencyMs: latencies[i]! }));
      } else await stop('SIGKILL');
      const atKill = received() - before;
      child = this.spawnService(o.env);
      await until('every job final', async () => (await this.finalRows(ids)).length === ids.length, 90_000);
      const sent = new Map<string, number>();
      for (const s of o.gateways) {
        for (const p of s.parts) {
          const id = numbers.get(p.destination);
          if (id) sent.set(id, (sent.get(id) ?? 0) + 1);
        }
      }
      return { sent, final: await this.finalRows(ids), atKill };
    } finally {
      await stop('SIGTERM');
    }
  }
}
