import { z } from 'zod';
import { Carrier } from '@geo/ingest';
import { AlertTaskSpec, SKIP_REASONS } from '../contract.ts';

/**
 * What-if replay of a draft task (#21), request/reply on {@link WHAT_IF_SUBJECT}: one alerting
 * instance (queue group {@link WHAT_IF_QUEUE}) reads the region's movements of the window from
 * insight's history and runs the task over them with nothing sent ({@link replayTask}).
 *
 * Privacy (invariant 7): the counts are raw, per carrier and serving cell, for the portal only,
 * which releases them by the reach rule (each (cell, carrier) count on the grid of k, summed, shown
 * as a number ≥ k or "< k"). No number, no person leaves alerting.
 */
export const WHAT_IF_SUBJECT = 'alert.whatif';
export const WHAT_IF_QUEUE = 'alerting-whatif';
/** The longest window replayed: insight keeps a week of moves. */
export const WHAT_IF_MAX_WINDOW_MS = 7 * 86_400_000;

export const WhatIfRequest = z
  .object({
    v: z.literal(1),
    spec: AlertTaskSpec,
    /** Epoch ms, inclusive. */
    from: z.number().int().positive(),
    /** Epoch ms, exclusive. */
    to: z.number().int().positive(),
    /** Width of the time series' buckets. @default 15 min */
    bucketMs: z
      .number()
      .int()
      .min(60_000)
      .max(6 * 3600_000)
      .default(15 * 60_000),
  })
  .refine((r) => r.to > r.from, { path: ['to'], message: 'the window ends before it starts' })
  .refine((r) => r.to - r.from <= WHAT_IF_MAX_WINDOW_MS, { path: ['to'], message: 'a replay covers at most 7 days' });
export type WhatIfRequest = z.infer<typeof WhatIfRequest>;
export type WhatIfRequestInput = z.input<typeof WhatIfRequest>;

/**
 * The sends of one carrier, per serving cell (ids unique within the carrier, with the cell's
 * position) and per time bucket: `cell[j]`, `bucket[j]` (index from the window's start), `n[j]`
 * people sent in that cell during that bucket.
 */
export const WhatIfCells = z.object({
  ids: z.array(z.string()),
  lng: z.array(z.number()),
  lat: z.array(z.number()),
  cell: z.array(z.number().int()),
  bucket: z.array(z.number().int()),
  n: z.array(z.number().int()),
});
export type WhatIfCells = z.infer<typeof WhatIfCells>;

export const WhatIfReply = z.object({
  v: z.literal(1),
  instance: z.string(),
  bucketMs: z.number().int(),
  buckets: z.number().int(),
  cells: z.partialRecord(Carrier, WhatIfCells),
  /** Raw figures of the whole replay, for operators and benches; never released by the portal. */
  stats: z.object({
    regionCells: z.number().int(),
    moves: z.number().int(),
    matched: z.number().int(),
    skipped: z.partialRecord(z.enum(SKIP_REASONS), z.number().int()),
    readMs: z.number(),
    replayMs: z.number(),
    /**
     * Whether the history holds any move at all, anywhere, in the window: false for a window before
     * the history began (a system started today asked about yesterday), whose replay finds nobody
     * for want of records, not of people. A fact about the records, released as it is.
     */
    windowHasHistory: z.boolean().optional(),
  }),
  part: z.number().int().min(0).default(0),
  parts: z.number().int().min(1).default(1),
  error: z.string().optional(),
});
export type WhatIfReply = z.infer<typeof WhatIfReply>;
