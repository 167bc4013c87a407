import { z } from 'zod';

/**
 * The what-if replay's wire contract as alerting defines it (`alerting/src/what-if/contract.ts`,
 * #21). It belongs to alerting; until `@geo/alerting`'s front door exports it, the portal mirrors
 * the two things it reads: the subject and the reply. Keep in step with the original.
 */
export const WHAT_IF_SUBJECT = 'alert.whatif';

const Cells = z.object({
  ids: z.array(z.string()),
  lng: z.array(z.number()),
  lat: z.array(z.number()),
  cell: z.array(z.number().int()),
  bucket: z.array(z.number().int()),
  n: z.array(z.number().int()),
});
export const WhatIfWireReply = z.object({
  v: z.literal(1),
  instance: z.string(),
  bucketMs: z.number().int(),
  buckets: z.number().int(),
  cells: z.object({ cmcc: Cells.optional(), cucc: Cells.optional(), ctcc: Cells.optional() }),
  stats: z.object({ regionCells: z.number().int(), readMs: z.number(), replayMs: z.number() }).passthrough(),
  part: z.number().int().min(0).default(0),
  parts: z.number().int().min(1).default(1),
  error: z.string().optional(),
});
export type WhatIfWireReply = z.infer<typeof WhatIfWireReply>;
