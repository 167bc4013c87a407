import { describeIssues } from '@geo/infra';
import { LocationEvent, MAX_EVENT_AGE_MS, MAX_EVENT_FUTURE_MS, type Carrier } from '../contract.ts';

/** Why an event was refused: a stable code for counters and a sentence for people. */
export type RejectCode = 'json' | 'schema' | 'too_old' | 'future' | 'carrier_mismatch' | 'too_long';
export type Verdict = { ok: true; event: LocationEvent } | { ok: false; code: RejectCode; reason: string };

/** Longest accepted line; a real event is ~200 bytes. */
export const MAX_LINE_BYTES = 4096;

/**
 * Checks one event from an external feed: the contract (zod), a plausible time (not older than
 * MAX_EVENT_AGE_MS, not further ahead than MAX_EVENT_FUTURE_MS), and, when the feed is bound to a
 * carrier (its ingest key or subject), that the event is that carrier's.
 */
export function validateEvent(value: unknown, nowMs: number, carrier?: Carrier): Verdict {
  const r = LocationEvent.safeParse(value);
  if (!r.success) return { ok: false, code: 'schema', reason: `does not match the location-event contract: ${describeIssues(r.error)}` };
  const e = r.data;
  if (carrier && e.carrier !== carrier)
    return { ok: false, code: 'carrier_mismatch', reason: `carrier "${e.carrier}" does not match this feed's carrier "${carrier}"` };
  if (e.ts < nowMs - MAX_EVENT_AGE_MS)
    return { ok: false, code: 'too_old', reason: `ts ${new Date(e.ts).toISOString()} is older than ${MAX_EVENT_AGE_MS / 3600_000} h` };
  if (e.ts > nowMs + MAX_EVENT_FUTURE_MS)
    return {
      ok: false,
      code: 'future',
      reason: `ts ${new Date(e.ts).toISOString()} is more than ${MAX_EVENT_FUTURE_MS / 60_000} min in the future`,
    };
  return { ok: true, event: e };
}

/** Like `validateEvent`, for one NDJSON line. */
export function validateLine(line: string, nowMs: number, carrier?: Carrier): Verdict {
  if (line.length > MAX_LINE_BYTES) return { ok: false, code: 'too_long', reason: `line longer than ${MAX_LINE_BYTES} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { ok: false, code: 'json', reason: `not valid JSON: ${(err as Error).message}` };
  }
  return validateEvent(value, nowMs, carrier);
}
