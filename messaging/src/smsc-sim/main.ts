import { serviceMain } from '@geo/infra';
import { SmscSimEnv } from './config.ts';
import { startSmscHttp } from './http.ts';
import { startSimulatedSmsc } from './smsc.ts';

/** Three simulated carrier SMSCs (one SMPP server each) and their inspection/health HTTP port. */
await serviceMain('smsc-sim', SmscSimEnv, async (cfg, log) => {
  const ports = { cmcc: cfg.SMSC_PORT_CMCC, cucc: cfg.SMSC_PORT_CUCC, ctcc: cfg.SMSC_PORT_CTCC } as const;
  const smscs = await Promise.all(
    (Object.keys(ports) as (keyof typeof ports)[]).map((carrier) =>
      startSimulatedSmsc({
        carrier,
        port: ports[carrier],
        host: cfg.SMSC_HOST,
        systemId: cfg.SMSC_SYSTEM_ID,
        password: cfg.SMSC_PASSWORD,
        keep: cfg.SMSC_KEEP,
        messageIds: cfg.SMSC_MESSAGE_IDS,
        behaviour: {
          latencyMs: cfg.SMSC_LATENCY_MS,
          successRate: cfg.SMSC_SUCCESS_RATE,
          rejectRate: cfg.SMSC_REJECT_RATE,
          throttlePerSecond: cfg.SMSC_THROTTLE_PER_S,
          maxBinds: cfg.SMSC_MAX_BINDS,
          disconnectAfter: cfg.SMSC_DISCONNECT_AFTER,
          receiptDelayMs: cfg.SMSC_RECEIPT_DELAY_MS,
          moRate: cfg.SMSC_MO_RATE,
          strictOptionalParams: cfg.SMSC_STRICT === '1',
        },
      }),
    ),
  );
  const http = await startSmscHttp(smscs, cfg.HEALTH_PORT);
  log.info({ smpp: ports, http: `http://127.0.0.1:${http.port}` }, 'simulated SMSCs ready');
  return {
    async stop() {
      await Promise.all(smscs.map((s) => s.close()));
      await http.close();
    },
  };
});
