import { z } from 'zod';
import { port } from '@geo/infra';
import { DEFAULT_PASSWORD, DEFAULT_SYSTEM_ID } from '../smpp/protocol.ts';
import { CARRIER_PROTOCOLS, cmppEnv } from '../config.ts';

const rate = z.coerce.number().min(0).max(1);

export const SmscSimEnv = z.object({
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  HEALTH_PORT: port(9105),
  SMSC_HOST: z.string().default('127.0.0.1'),
  SMSC_PORT_CMCC: port(2775),
  SMSC_PORT_CUCC: port(2776),
  SMSC_PORT_CTCC: port(2777),
  /** Which protocol each simulated carrier gateway speaks (`smpp` or `cmpp`), the same variables messaging reads. */
  SMSC_PROTOCOL_CMCC: z.enum(CARRIER_PROTOCOLS).default('smpp'),
  SMSC_PROTOCOL_CUCC: z.enum(CARRIER_PROTOCOLS).default('smpp'),
  SMSC_PROTOCOL_CTCC: z.enum(CARRIER_PROTOCOLS).default('smpp'),
  ...cmppEnv,
  SMSC_SYSTEM_ID: z.string().max(15).default(DEFAULT_SYSTEM_ID),
  SMSC_PASSWORD: z.string().max(8).default(DEFAULT_PASSWORD),
  SMSC_LATENCY_MS: z.coerce.number().int().min(0).default(5),
  SMSC_SUCCESS_RATE: rate.default(0.97),
  SMSC_REJECT_RATE: rate.default(0),
  SMSC_THROTTLE_PER_S: z.coerce.number().int().min(0).default(0),
  /** Binds the account may hold at once per carrier (0 = no limit); more are refused with ESME_RBINDFAIL. */
  SMSC_MAX_BINDS: z.coerce.number().int().min(0).default(0),
  SMSC_DISCONNECT_AFTER: z.coerce.number().int().min(0).default(0),
  SMSC_RECEIPT_DELAY_MS: z.coerce.number().int().min(0).default(200),
  SMSC_MO_RATE: rate.default(0.05),
  SMSC_KEEP: z.coerce.number().int().min(0).default(100_000),
  /** `sequential`: plain ids 1, 2, 3 … per carrier, the same on every carrier's SMSC (see MessageIdStyle). */
  SMSC_MESSAGE_IDS: z.enum(['prefixed', 'sequential']).default('prefixed'),
  /** `1`: refuse a submit_sm with an optional parameter SMPP 3.4 does not define for it (a vendor TLV), as strict gateways do. */
  SMSC_STRICT: z.enum(['0', '1']).default('0'),
});
export type SmscSimConfig = z.infer<typeof SmscSimEnv>;
