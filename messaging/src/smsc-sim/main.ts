import { serviceMain } from '@geo/infra';
import { SmscSimEnv } from './config.ts';
import { startSmscHttp } from './http.ts';
import { startSimulatedSmsc } from './smsc.ts';
import type { SmscBehaviour } from './simulated-smsc.ts';
import { startCmppGateway } from './cmpp-gateway.ts';
import { startSmgpGateway } from './smgp-gateway.ts';
import { startSgipGateway } from './sgip-gateway.ts';
import { CMPP_VERSION_20, CMPP_VERSION_30 } from '../cmpp/codec.ts';

/**
 * Three simulated carrier gateways, each speaking its carrier's SMSC_PROTOCOL_* (an SMPP SMSC or a
 * CMPP ISMG), and their inspection/health HTTP port.
 */
await serviceMain('smsc-sim', SmscSimEnv, async (cfg, log) => {
  const ports = { cmcc: cfg.SMSC_PORT_CMCC, cucc: cfg.SMSC_PORT_CUCC, ctcc: cfg.SMSC_PORT_CTCC } as const;
  const protocols = { cmcc: cfg.SMSC_PROTOCOL_CMCC, cucc: cfg.SMSC_PROTOCOL_CUCC, ctcc: cfg.SMSC_PROTOCOL_CTCC } as const;
  const behaviour: Partial<SmscBehaviour> = {
    latencyMs: cfg.SMSC_LATENCY_MS,
    successRate: cfg.SMSC_SUCCESS_RATE,
    rejectRate: cfg.SMSC_REJECT_RATE,
    throttlePerSecond: cfg.SMSC_THROTTLE_PER_S,
    maxBinds: cfg.SMSC_MAX_BINDS,
    disconnectAfter: cfg.SMSC_DISCONNECT_AFTER,
    receiptDelayMs: cfg.SMSC_RECEIPT_DELAY_MS,
    moRate: cfg.SMSC_MO_RATE,
    strictOptionalParams: cfg.SMSC_STRICT === '1',
  };
  const smscs = await Promise.all(
    (Object.keys(ports) as (keyof typeof ports)[]).map((carrier) =>
      protocols[carrier] === 'sgip'
        ? startSgipGateway({
            carrier,
            port: ports[carrier],
            host: cfg.SMSC_HOST,
            loginName: cfg.SGIP_LOGIN_NAME,
            loginPassword: cfg.SGIP_LOGIN_PASSWORD,
            sp: {
              host: cfg.SGIP_SP_HOST,
              port: { cmcc: cfg.SGIP_LISTEN_PORT_CMCC, cucc: cfg.SGIP_LISTEN_PORT_CUCC, ctcc: cfg.SGIP_LISTEN_PORT_CTCC }[carrier],
            },
            keep: cfg.SMSC_KEEP,
            behaviour,
          })
        : protocols[carrier] === 'smgp'
          ? startSmgpGateway({
              carrier,
              port: ports[carrier],
              host: cfg.SMSC_HOST,
              clientId: cfg.SMGP_CLIENT_ID,
              sharedSecret: cfg.SMGP_SHARED_SECRET,
              keep: cfg.SMSC_KEEP,
              messageIds: cfg.SMSC_MESSAGE_IDS,
              behaviour,
            })
          : protocols[carrier] === 'cmpp'
            ? startCmppGateway({
                carrier,
                port: ports[carrier],
                host: cfg.SMSC_HOST,
                spId: cfg.CMPP_SP_ID,
                sharedSecret: cfg.CMPP_SHARED_SECRET,
                version: cfg.CMPP_VERSION === '2.0' ? CMPP_VERSION_20 : CMPP_VERSION_30,
                keep: cfg.SMSC_KEEP,
                messageIds: cfg.SMSC_MESSAGE_IDS,
                behaviour,
              })
            : startSimulatedSmsc({
                carrier,
                port: ports[carrier],
                host: cfg.SMSC_HOST,
                systemId: cfg.SMSC_SYSTEM_ID,
                password: cfg.SMSC_PASSWORD,
                keep: cfg.SMSC_KEEP,
                messageIds: cfg.SMSC_MESSAGE_IDS,
                behaviour,
              }),
    ),
  );
  const http = await startSmscHttp(smscs, cfg.HEALTH_PORT);
  log.info({ smpp: ports, protocols, http: `http://127.0.0.1:${http.port}` }, 'simulated SMSCs ready');
  return {
    async stop() {
      await Promise.all(smscs.map((s) => s.close()));
      await http.close();
    },
  };
});
