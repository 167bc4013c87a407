import { alertingTopology } from '@geo/alerting';
import { locationTopology } from '@geo/ingest';
import { insightTopology } from '@geo/insight';
import { messagingTopology } from '@geo/messaging';
import type { NatsConnection } from '@nats-io/transport-node';
import { deadLetterTopology } from '../nats/dead-letter.ts';
import { declareTopology, type TopologyPart } from '../nats/topology.ts';

/**
 * The whole system's NATS topology, in one place: each owner's part (its streams and buckets, as the
 * owner specifies them in its `streams.ts`). `npm start` and the whole-system tests declare it once,
 * before any service starts, with the deployment's `STREAM_REPLICAS` applied to every stream and
 * bucket — including those that services only read or open without a replica count (the portal's
 * task bucket, insight's lease bucket), which otherwise stayed R1 on a cluster.
 */
export function systemTopology(): TopologyPart[] {
  return [deadLetterTopology(), locationTopology(), messagingTopology(), alertingTopology(), insightTopology()];
}

/** Declares {@link systemTopology} with `replicas` each. Idempotent; never scales a stream down. */
export async function declareSystemTopology(nc: NatsConnection, replicas = 1): Promise<void> {
  await declareTopology(nc, systemTopology(), replicas);
}
