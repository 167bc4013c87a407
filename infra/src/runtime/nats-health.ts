import type { NatsConnection } from '@nats-io/transport-node';
import type { HealthCheck } from './service-http.ts';

/** A `/healthz` check that is ok while the NATS connection is open and not reconnecting. */
export function natsHealth(nc: NatsConnection): HealthCheck {
  let reconnecting = false;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnecting') reconnecting = true;
      if (s.type === 'reconnect') reconnecting = false;
    }
  })();
  return () => ({ ok: !nc.isClosed() && !reconnecting, detail: nc.isClosed() ? 'closed' : reconnecting ? 'reconnecting' : nc.getServer() });
}
