import { z } from 'zod';
import { port } from '@geo/infra';
import { DEFAULT_PASSWORD, DEFAULT_SYSTEM_ID } from '../smpp/protocol.ts';

const rate = z.coerce.number().min(0).max(1);

export const SmscSimEnv = z.object({
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  HEALTH_PORT: port(9105),
  SMSC_HOST: z.string().default('127.0.0.1'),
  SMSC_PORT_CMCC: port(2775),
  SMSC_PORT_CUCC: port(2776),
  SMSC_PORT_CTCC: port(2777),
  SMSC_SYSTEM_ID: z.string().max(15).default(DEFAULT_SYSTEM_ID),
  SMSC_PASSWORD: z.string().max(8).default(DEFAULT_PASSWORD),
  SMSC_LATENCY_MS: z.coerce.number().int().min(0).default(5),
  SMSC_SUCCESS_RATE: rate.default(0.97),
  SMSC_REJECT_RATE: rate.default(0),
  SMSC_THROTTLE_PER_S: z.coerce.number().int().min(0).default(0),
  SMSC_DISCONNECT_AFTER: z.coerce.number().int().min(0).default(0),
  SMSC_RECEIPT_DELAY_MS: z.coerce.number().int().min(0).default(200),
  SMSC_MO_RATE: rate.default(0.05),
  SMSC_KEEP: z.coerce.number().int().min(0).default(100_000),
});
export type SmscSimConfig = z.infer<typeof SmscSimEnv>;
