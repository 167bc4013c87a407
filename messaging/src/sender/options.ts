import type { Registry } from 'prom-client';
import type { ClickHouseClient, Logger, NatsConnection } from '@geo/infra';
import type { SmsCarrier } from '../contract.ts';
import type { CarrierConnector } from '../smpp/connector.ts';
import type { ExtensionRegistry } from '../replies/extension-numbers.ts';
import type { MessagingNames } from '../names.ts';
import type { RecipientLimiter } from '../limits/recipient-limits.ts';

export interface SenderOptions {
  nc: NatsConnection;
  ch: ClickHouseClient;
  log: Logger;
  connectors: Map<SmsCarrier, CarrierConnector>;
  accessNumbers: Record<SmsCarrier, string>;
  extensions: ExtensionRegistry;
  /** Anti-bombing limits per (enterprise, number); none when absent. */
  limiter?: RecipientLimiter;
  names?: MessagingNames;
  table?: string;
  registry?: Registry;
  /** Unacked jobs in hand at once, each job of an SmsJobBatch counted (JobIntake waits for room). @default 5000 */
  maxInFlight?: number;
  /** @default 60000 */
  ackWaitMs?: number;
  /**
   * A carrier's consumer (or the claims tail) that delivered nothing this long while messages are
   * pending for it is stalled (its pulls were lost with a node) and is opened again. @default 20000
   */
  stallMs?: number;
  /** Status events of this window go out as one DeliveryStatusBatch per carrier; 0: one message each. @default 0 */
  statusBatchMs?: number;
  /**
   * A job claimed before a crash with no recorded outcome is matched to a receipt that echoes
   * its id (client_ref TLV, when the connector sends it) or else to a receipt from the same carrier's
   * SMSC whose message id is unknown and whose number is the job's. If none comes within this time,
   * `uncertainPolicy` decides. @default 600000
   */
  uncertainResolveMs?: number;
  /**
   * What happens to a job still uncertain after `uncertainResolveMs`:
   * - `resubmit` (default): no receipt came, so the carrier is taken not to have it and it is sent
   *   again (at least once: a duplicate only if the carrier took it and never sent its receipt);
   * - `fail`: recorded failed with code UNCERTAIN, never sent again (at most once: lost instead).
   */
  uncertainPolicy?: UncertainPolicy;
  /**
   * A receipt whose message id matches no job (in memory or in the send log) and whose ref names
   * no claimed job is refused (the carrier sends it again: its job may become known) for this
   * long from when it was first seen, then dead-lettered and accepted. @default 600000
   */
  unknownReceiptMs?: number;
  /** Delay before an uncertain job is looked at again. @default 2000 */
  uncertainRetryMs?: number;
  replicas?: number;
  /**
   * Several instances share the carriers' binds (leased bind slots): a carrier's jobs are taken
   * only while {@link SmsSender.resume} says this instance holds a slot of it. Off: every carrier's
   * jobs are taken from the start (one instance). @default false
   */
  leasedCarriers?: boolean;
  /**
   * This instance's id, and how many other instances share the carriers now: a receipt that one of
   * them is waiting for may come on our bind (an SMSC gives receipts to any bind of the account).
   */
  instance?: string;
  peers?: () => number;
}

export type UncertainPolicy = 'resubmit' | 'fail';
