import { z } from 'zod';
import { commonEnv, port } from '@geo/infra';

const flag = z
  .enum(['0', '1', 'true', 'false', ''])
  .default('0')
  .transform((v) => v === '1' || v === 'true');

export const IngestEnv = z.object({
  ...commonEnv,
  HEALTH_PORT: port(9101),
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** The external feeds' HTTP port (NDJSON POST, status). */
  INGEST_HTTP_PORT: port(9201),
  INGEST_HTTP_HOST: z.string().default('127.0.0.1'),
  /** `cmcc=<key>,cucc=<key>,ctcc=<key>`; the HTTP feed refuses every request while none is set. */
  INGEST_KEYS: z
    .string()
    .regex(
      /^((cmcc|cucc|ctcc)=[^,=\s]{16,})(,(cmcc|cucc|ctcc)=[^,=\s]{16,})*$/,
      'expected cmcc=<key>,cucc=<key>,ctcc=<key> with keys of 16+ characters',
    )
    .optional(),
  /** Run the province simulator in this process. */
  SIM_ENABLED: flag,
  SIM_SUBSCRIBERS: z.coerce.number().int().min(1).max(10_000_000).default(200_000),
  /** Simulated seconds per real second; 0 = as fast as JetStream takes the events. */
  SIM_SPEED: z.coerce.number().min(0).max(100_000).default(1),
  SIM_SEED: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(1),
  /** Simulated start (ISO 8601); now when unset. */
  SIM_START: z.iso.datetime({ offset: true }).optional(),
  /** Province (GB/T 2260, 2 or 6 digits) whose geography is simulated. */
  SIM_PROVINCE: z
    .string()
    .regex(/^\d{2}(0000)?$/, 'expected a province code such as 33 or 330000')
    .default('33'),
  SIM_BATCH: z.coerce.number().int().min(1).max(10_000).default(500),
  /**
   * The three carriers use plain cell ids (1, 2, 3 …) in their own orders, so one id names different
   * places in different carriers' networks, as nothing forbids (DESIGN.md invariant 8): for the
   * chaos suite and anyone checking that consumers key cells by (carrier, cell). Off by default.
   */
  SIM_PLAIN_CELL_IDS: flag,
  /**
   * Format of the LOCATION messages this process publishes (feeds and simulator): `binary` (GLOC v1,
   * columnar, ~60 B per event) or `json` (the `LocationBatch` JSON, ~190 B per event) — the rollback
   * for a consumer that cannot read binary batches yet. Consumers in this repo read both.
   * @default binary
   */
  LOCATION_FORMAT: z.enum(['binary', 'json'], { error: 'expected binary or json' }).default('binary'),
});
export type IngestConfig = z.infer<typeof IngestEnv>;
