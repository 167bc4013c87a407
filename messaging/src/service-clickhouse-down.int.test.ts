import { createConnection, createServer, type Server } from 'node:net';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import { jetstream } from '@nats-io/jetstream';
import { connectClickHouse, connectNats, ident, list, selectRows, sql } from '@geo/infra';
import { MessagingEnv } from './config.ts';
import { createMessaging, type MessagingService } from './service.ts';
import { messagingNames } from './names.ts';
import { startSimulatedSmsc } from './smsc-sim/smsc.ts';
import type { SmsJob } from './contract.ts';
import { freePort, untilValue } from '@geo/infra/testing';

/**
 * Messaging started while ClickHouse is down: it starts, sends, says "degraded" on /healthz, keeps
 * the send-log rows and writes them once ClickHouse answers (here: a TCP proxy to the run's
 * clickhouse-server that starts listening only later, on the port messaging was given).
 */

const ns = `chd${Date.now().toString(36)}`;
const names = messagingNames(ns);
const table = `sms_log_${ns}`;
const open: { close(): unknown }[] = [];
let svc: MessagingService | undefined;

afterAll(async () => {
  await svc?.stop();
  for (const o of open.reverse()) await o.close();
});

/** A TCP proxy from `port` to the real ClickHouse, listening from when it is called. */
function proxy(port: number, target: URL): Promise<Server> {
  const server = createServer((c) => {
    const up = createConnection({ host: target.hostname, port: Number(target.port) });
    c.pipe(up).pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

describe('messaging with ClickHouse down at start', () => {
  it('starts, sends, reports ClickHouse degraded, and writes the queued send log when ClickHouse is back', async () => {
    const smsc = await startSimulatedSmsc({ carrier: 'cmcc', behaviour: { successRate: 1, receiptDelayMs: 10 } });
    open.push(smsc);
    const chPort = await freePort();
    svc = await createMessaging(
      MessagingEnv.parse({
        NATS_URL: inject('natsUrl'),
        CLICKHOUSE_URL: `http://127.0.0.1:${chPort}`,
        HEALTH_PORT: '0',
        SEND_LOG_TABLE: table,
        LOG_LEVEL: 'silent',
        SMSC_PORT_CMCC: String(smsc.port),
        SMSC_PORT_CUCC: String(smsc.port),
        SMSC_PORT_CTCC: String(smsc.port),
        SMSC_BINDS: '1',
        ACK_WAIT_MS: '10000',
      }),
      pino({ level: 'silent' }),
      { names },
    );
    const health = async () =>
      (await (await fetch(`${svc!.healthUrl}/healthz`)).json()) as {
        ok: boolean;
        checks: Record<string, { ok: boolean; detail?: string }>;
      };
    const h = await health();
    expect(h.checks.started).toEqual({ ok: true, detail: 'started' });
    expect(h.checks.clickhouse).toMatchObject({ ok: false });
    expect(h.checks.clickhouse!.detail).toMatch(/degraded/);

    const nc = await connectNats(inject('natsUrl'), 'messaging-ch-down-test');
    open.push({ close: () => nc.drain() });
    const jobs: SmsJob[] = Array.from({ length: 20 }, (_, i) => ({
      jobId: `${ns}-${i}`,
      source: 'industry',
      enterpriseId: 'e',
      accountId: 'a',
      sendId: 's',
      msisdn: `1380000${String(i).padStart(4, '0')}`,
      carrier: 'cmcc',
      content: 'ClickHouse 不在也要发',
      signature: '测试',
      createdAt: Date.now(),
    }));
    const numbers = new Set(jobs.map((j) => j.msisdn));
    const js = jetstream(nc);
    await Promise.all(jobs.map((j) => js.publish(names.jobSubject('cmcc'), JSON.stringify(j), { msgID: j.jobId })));
    // Sent although no send-log row can be written yet.
    await untilValue(
      'the SMSC to get every job',
      async () => (smsc.messages.filter((m) => numbers.has(m.destination)).length === jobs.length ? true : undefined),
      60_000,
    );
    await untilValue(
      'queued rows on /healthz',
      async () => {
        const c = (await health()).checks.clickhouse!;
        return !c.ok && Number(/(\d+) rows queued/.exec(c.detail ?? '')?.[1]) >= jobs.length ? true : undefined;
      },
      60_000,
    );

    open.push(await proxy(chPort, new URL(inject('clickhouseUrl'))));
    const ch = connectClickHouse(inject('clickhouseUrl'));
    open.push({
      close: async () => {
        await ch.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
        await ch.close();
      },
    });
    const rows = await untilValue(
      'every job delivered in the send log',
      async () => {
        const r = await selectRows<{ job_id: string; status: string }>(
          ch,
          sql`SELECT job_id, status FROM ${ident(table)} FINAL WHERE job_id IN ${list(jobs.map((j) => j.jobId))}`.text,
        );
        return r.length === jobs.length && r.every((x) => x.status === 'delivered') ? r : undefined;
      },
      60_000,
    );
    expect(rows).toHaveLength(jobs.length);
    expect((await health()).checks.clickhouse).toMatchObject({ ok: true });
    // Each went to the SMSC once.
    expect(smsc.messages.filter((m) => numbers.has(m.destination))).toHaveLength(jobs.length);
  }, 120_000);
});
