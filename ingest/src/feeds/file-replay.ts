import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import Papa from 'papaparse';
import type { Carrier } from '../contract.ts';
import type { FeedPipeline, FeedResult } from './feed-pipeline.ts';

export interface ReplayOptions {
  /** Guessed from the extension (`.csv`, else NDJSON) when omitted. */
  format?: 'ndjson' | 'csv';
  /** Only this carrier's events are accepted (others are dead-lettered). */
  carrier?: Carrier;
  /**
   * Shift every event's time by the same amount so the file's first event happens now: replays an
   * old capture as live traffic (otherwise events older than the age limit are refused).
   */
  shiftToNow?: boolean;
  /** Called every `progressEvery` lines. */
  onProgress?: (lines: number) => void;
  progressEvery?: number;
}

const NUMERIC = new Set(['ts', 'lat', 'lng', 'age']);

/** Turns a CSV row (header names = event fields) into an event-shaped object. */
function csvRecord(header: string[], cells: string[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  header.forEach((h, k) => {
    const v = cells[k];
    if (v === undefined || v === '') return;
    o[h] = NUMERIC.has(h) && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  });
  return o;
}

/**
 * Replays an NDJSON or CSV file through the feed pipeline, streaming (constant memory), every
 * line validated; returns when the accepted events are acknowledged by JetStream.
 */
export async function replayFile(path: string, pipeline: FeedPipeline, opts: ReplayOptions = {}): Promise<FeedResult> {
  const format = opts.format ?? (path.toLowerCase().endsWith('.csv') ? 'csv' : 'ndjson');
  const batch = pipeline.begin('file', path, opts.carrier);
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let header: string[] | undefined;
  let shift: number | undefined;
  let lines = 0;
  const every = opts.progressEvery ?? 100_000;
  for await (const line of rl) {
    lines++;
    if (opts.onProgress && lines % every === 0) opts.onProgress(lines);
    if (format === 'csv') {
      if (!line.trim()) continue;
      const cells = (Papa.parse<string[]>(line).data[0] ?? []).map((c) => c.trim());
      if (!header) {
        header = cells;
        continue;
      }
      const rec = csvRecord(header, cells);
      if (opts.shiftToNow && typeof rec.ts === 'number') {
        shift ??= pipeline.nowMs - rec.ts;
        rec.ts += shift;
      }
      batch.value(rec, line);
    } else if (opts.shiftToNow) {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        batch.line(line); // refused with the JSON reason
        continue;
      }
      if (value && typeof value === 'object' && typeof (value as { ts?: unknown }).ts === 'number') {
        const v = value as { ts: number };
        shift ??= pipeline.nowMs - v.ts;
        v.ts += shift;
      }
      batch.value(value, line);
    } else {
      batch.line(line);
    }
    // Let acks and dead letters progress on long files.
    if (lines % 5000 === 0) await batch.ready();
  }
  return batch.finish();
}
