import { connect, type NatsConnection } from '@nats-io/transport-node';

export type { NatsConnection };

/** Connects to NATS (comma-separated URLs for a cluster), reconnecting forever in the background. */
export function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({
    servers: url.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    timeout: 5_000,
  });
}
