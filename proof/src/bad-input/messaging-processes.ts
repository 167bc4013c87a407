import { inject } from 'vitest';
import { connectClickHouse, connectNats, ensureDeadLetterStream, type ClickHouseClient, type NatsConnection } from '@geo/infra';
import { freePort, startService, type ServiceProcess } from '@geo/infra/testing';
import { messagingNames, type MessagingNames } from '@geo/messaging';

/** messaging and the simulated SMSCs as processes, with the connections a bad-input file reads them by. */
export interface MessagingProcesses {
  smsc: ServiceProcess;
  messaging: ServiceProcess;
  /** The simulator's inspection API (`POST /deliver`, …). */
  smscUrl: string;
  /** messaging's health server (`/healthz`, `/metrics`). */
  messagingUrl: string;
  names: MessagingNames;
  /** The send-log table of this run. */
  table: string;
  nc: NatsConnection;
  ch: ClickHouseClient;
  /** Drains NATS, stops both processes, drops the send-log table. */
  stop(): Promise<void>;
}

/**
 * The real processes behind a bad-input file that tests messaging from outside
 * (`messaging/src/main.ts` and `messaging/src/smsc-sim/main.ts`, as `npm start` runs them): a
 * namespace `ns` and a send-log table of the file's own, SMSCs that deliver everything (receipts
 * 10 ms later, no MOs), and the anti-bombing limits off, as every good job goes to one number.
 * `env` is added to messaging's.
 */
export async function startMessagingProcesses(ns: string, client: string, env: Record<string, string> = {}): Promise<MessagingProcesses> {
  const [smscHealth, msgHealth, cmcc, cucc, ctcc] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const smscPorts = { SMSC_PORT_CMCC: String(cmcc), SMSC_PORT_CUCC: String(cucc), SMSC_PORT_CTCC: String(ctcc) };
  const smscUrl = `http://127.0.0.1:${smscHealth}`;
  const messagingUrl = `http://127.0.0.1:${msgHealth}`;
  const table = `sms_log_${ns}`;
  const smsc = startService('smsc-sim', 'messaging/src/smsc-sim/main.ts', {
    healthUrl: `${smscUrl}/healthz`,
    env: { ...smscPorts, HEALTH_PORT: String(smscHealth), SMSC_SUCCESS_RATE: '1', SMSC_MO_RATE: '0', SMSC_RECEIPT_DELAY_MS: '10' },
  });
  let messaging: ServiceProcess | undefined;
  let nc: NatsConnection | undefined;
  const ch = connectClickHouse(inject('clickhouseUrl'));
  const stop = async () => {
    await nc?.drain();
    await messaging?.stop();
    await smsc.stop();
    await ch.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
    await ch.close();
  };
  try {
    await smsc.ready;
    messaging = startService('messaging', 'messaging/src/main.ts', {
      healthUrl: `${messagingUrl}/healthz`,
      env: {
        ...smscPorts,
        NATS_URL: inject('natsUrl'),
        CLICKHOUSE_URL: inject('clickhouseUrl'),
        HEALTH_PORT: String(msgHealth),
        SEND_LOG_TABLE: table,
        MESSAGING_NS: ns,
        SMSC_BINDS: '1',
        ACK_WAIT_MS: '10000',
        RECIPIENT_LIMIT_PER_MINUTE: '0',
        RECIPIENT_LIMIT_PER_HOUR: '0',
        RECIPIENT_LIMIT_PER_DAY: '0',
        ...env,
      },
    });
    await messaging.ready;
    nc = await connectNats(inject('natsUrl'), client);
    await ensureDeadLetterStream(nc);
    return { smsc, messaging, smscUrl, messagingUrl, names: messagingNames(ns), table, nc, ch, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
