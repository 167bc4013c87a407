import { z } from 'zod';
import { clickhouseUrl, commaList, commonEnv, consumerStallMs, port } from '@geo/infra';
import { DEFAULT_ACCESS_NUMBER, DEFAULT_PASSWORD, DEFAULT_SYSTEM_ID } from './smpp/protocol.ts';
import { DEFAULT_CMPP_SECRET, DEFAULT_CMPP_SP_ID } from './cmpp/codec.ts';
import { DEFAULT_SMGP_CLIENT_ID, DEFAULT_SMGP_SECRET } from './smgp/codec.ts';

const count = (def: number) => z.coerce.number().int().min(0).default(def);
const digits = (def: string) =>
  z
    .string()
    .regex(/^\d{3,12}$/, 'expected the access number digits')
    .default(def);

export const CARRIER_PROTOCOLS = ['smpp', 'cmpp', 'smgp', 'sgip'] as const;
export type CarrierProtocol = (typeof CARRIER_PROTOCOLS)[number];
const carrierProtocol = z.enum(CARRIER_PROTOCOLS).default('smpp');

/** The CMPP account (for carriers whose SMSC_PROTOCOL_* is `cmpp`); shared with the simulator's env. */
export const cmppEnv = {
  /** SP 企业代码: CONNECT's Source_Addr and SUBMIT's Msg_src. */
  CMPP_SP_ID: z
    .string()
    .regex(/^[0-9A-Za-z]{1,6}$/, 'expected the 6-character SP code')
    .default(DEFAULT_CMPP_SP_ID),
  CMPP_SHARED_SECRET: z.string().min(1).max(64).default(DEFAULT_CMPP_SECRET),
  CMPP_VERSION: z.enum(['3.0', '2.0']).default('3.0'),
  /** 业务代码 (Service_Id). */
  CMPP_SERVICE_ID: z.string().max(10).default('GEOALERT'),
  /** FeeType (01 free to the handset, 02 per message …) and FeeCode (fen); Fee_UserType is 2, the SP pays. */
  CMPP_FEE_TYPE: z
    .string()
    .regex(/^0[0-5]$/)
    .default('01'),
  CMPP_FEE_CODE: z
    .string()
    .regex(/^\d{1,6}$/)
    .default('0'),
  /** SMGP account (carriers whose SMSC_PROTOCOL_* is `smgp`): Login ClientID (≤ 8) and shared secret. */
  SMGP_CLIENT_ID: z.string().min(1).max(8).default(DEFAULT_SMGP_CLIENT_ID),
  SMGP_SHARED_SECRET: z.string().min(1).max(64).default(DEFAULT_SMGP_SECRET),
  SMGP_SERVICE_ID: z.string().max(10).default('GEOALERT'),
  /**
   * SGIP account (a carrier whose SMSC_PROTOCOL_* is `sgip`, China Unicom's): Login Name / Password
   * (the SMG binds back with the same), the SP node number, CorpId and ServiceType, and where messaging
   * listens for the SMG's reverse connection (Report, Deliver); the simulator connects back to
   * SGIP_SP_HOST:SGIP_LISTEN_PORT_<carrier> (one listener per carrier on SGIP).
   */
  SGIP_LOGIN_NAME: z.string().min(1).max(16).default('geoalert'),
  SGIP_LOGIN_PASSWORD: z.string().min(1).max(16).default('sim-pass'),
  SGIP_NODE_ID: z.coerce.number().int().min(0).max(4_294_967_295).default(3_020_099_999),
  SGIP_CORP_ID: z
    .string()
    .regex(/^\d{1,5}$/)
    .default('00000'),
  SGIP_SERVICE_TYPE: z.string().max(10).default('GEOALERT'),
  SGIP_LISTEN_PORT_CMCC: port(8801),
  SGIP_LISTEN_PORT_CUCC: port(8802),
  SGIP_LISTEN_PORT_CTCC: port(8803),
  SGIP_LISTEN_HOST: z.string().default('127.0.0.1'),
  SGIP_SP_HOST: z.string().default('127.0.0.1'),
};

export const MessagingEnv = z.object({
  ...commonEnv,
  HEALTH_PORT: port(9103),
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  CLICKHOUSE_URL: clickhouseUrl.default('http://127.0.0.1:8123'),
  SEND_LOG_TABLE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .default('sms_log'),
  SMSC_HOST: z.string().default('127.0.0.1'),
  SMSC_PORT_CMCC: port(2775),
  SMSC_PORT_CUCC: port(2776),
  SMSC_PORT_CTCC: port(2777),
  /**
   * The protocol of each carrier's gateway: `smpp` (SMPP 3.4), `cmpp` (CMPP 3.0 / 2.0, China
   * Mobile's), `smgp` (SMGP 3.0, China Telecom's) or `sgip` (SGIP 1.2, China Unicom's). The simulator (`smsc-sim`) reads the same variables, so `npm start` runs any mix.
   */
  SMSC_PROTOCOL_CMCC: carrierProtocol,
  SMSC_PROTOCOL_CUCC: carrierProtocol,
  SMSC_PROTOCOL_CTCC: carrierProtocol,
  ...cmppEnv,
  SMSC_SYSTEM_ID: z.string().max(15).default(DEFAULT_SYSTEM_ID),
  SMSC_PASSWORD: z.string().max(8).default(DEFAULT_PASSWORD),
  /**
   * Transceiver binds the carrier grants the account, shared by every messaging instance: each
   * bind slot is a lease (KV `sms_bind_leases`), an instance opens only the slots it holds and
   * sends at their share of SMSC_RATE_* (see README, "Several instances").
   */
  SMSC_BINDS: count(2),
  /** This instance's id among the messaging instances (default: host, pid and a random tail). */
  INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
  /** A bind slot whose holder stopped renewing is taken over after this long. */
  BIND_LEASE_TTL_MS: z.coerce.number().int().min(500).default(6000),
  /** Unanswered submit_sm per bind. */
  SMSC_WINDOW: count(64),
  /** Throughput limit per carrier in segments per second (0 = none). */
  SMSC_RATE_CMCC: count(0),
  SMSC_RATE_CUCC: count(0),
  SMSC_RATE_CTCC: count(0),
  /** Sends are counted over 1,000 ms plus this guard, for a strict SMSC that counts arrival times (smpp-connector.ts). */
  SMSC_RATE_GUARD_MS: z.coerce.number().int().min(0).max(1000).default(50),
  /**
   * Carriers whose submit_sm carry our job id in the vendor TLV 0x1501 (client_ref), comma-separated
   * (e.g. `cmcc,ctcc`), for SMSCs known to accept it and echo it in receipts. None by default: a
   * strict SMSC refuses optional parameters it does not know. Exactly-once holds without it.
   */
  SMSC_CLIENT_REF_TLV: commaList().pipe(z.array(z.enum(['cmcc', 'cucc', 'ctcc']))),
  ACCESS_NUMBER_CMCC: digits(DEFAULT_ACCESS_NUMBER.cmcc),
  ACCESS_NUMBER_CUCC: digits(DEFAULT_ACCESS_NUMBER.cucc),
  ACCESS_NUMBER_CTCC: digits(DEFAULT_ACCESS_NUMBER.ctcc),
  /**
   * Anti-bombing: SMS one enterprise may send one number per minute / hour / day (sliding windows,
   * shared by all instances; 0 = no limit in that window). Alert jobs and forwarded replies are
   * exempt (limits/recipient-limits.ts). Held-back jobs end rejected with code RATE_LIMITED.
   */
  RECIPIENT_LIMIT_PER_MINUTE: count(1),
  RECIPIENT_LIMIT_PER_HOUR: count(5),
  RECIPIENT_LIMIT_PER_DAY: count(10),
  /** Alert types (comma-separated) whose jobs are limited like industry SMS, e.g. `drill`. None by default. */
  RECIPIENT_LIMIT_ALERT_TYPES: commaList(),
  /** Jobs in hand at once, each job of a batch counted (also the consumers' max_ack_pending, in messages). */
  MAX_IN_FLIGHT: count(5000),
  /** How long a job cut off by a crash waits for a receipt before it is recorded as UNCERTAIN. */
  UNCERTAIN_RESOLVE_MS: count(600_000),
  /**
   * A job still uncertain after UNCERTAIN_RESOLVE_MS (claimed before a crash, no receipt names it):
   * `resubmit` sends it again (at least once), `fail` records it failed with code UNCERTAIN (at most once).
   */
  UNCERTAIN_POLICY: z.enum(['resubmit', 'fail']).default('resubmit'),
  /** A receipt matching no job is refused (the carrier resends it) this long, then dead-lettered. */
  UNKNOWN_RECEIPT_MS: count(600_000),
  ACK_WAIT_MS: count(60_000),
  /**
   * A consumer that delivered nothing this long while messages were pending for it (its pulls lost
   * with a NATS node) is opened again (#19); the claims tail after 5 s at most. @default 20000
   */
  CONSUMER_STALL_MS: consumerStallMs(),
  /**
   * Status events (`sms.status.<carrier>`) of this many ms go out as one DeliveryStatusBatch message
   * per carrier; 0 = one DeliveryStatus message each (the form readers took before
   * `deliveryStatusesOf`). Every reader (the portal's alert bus, the tests' kit) takes both forms;
   * batched, nats-server stores ~0.08 messages per SMS instead of ~2 (#22).
   */
  STATUS_EVENT_BATCH_MS: count(50),
  /** Prefix for stream, subject and bucket names, for tests sharing a nats-server. Empty in production. */
  MESSAGING_NS: z
    .string()
    .regex(/^[a-z0-9]*$/)
    .default(''),
});
export type MessagingConfig = z.infer<typeof MessagingEnv>;
