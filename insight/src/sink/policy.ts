import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '@geo/infra';
import { decodeLocationColumns, decodeLocationMessage, isBinaryLocationMessage, type LocationColumns } from '@geo/ingest';
import type { Counter } from 'prom-client';
import { CARRIER_CODE, streamPos, type EventLike, type PresenceState } from './presence-state.ts';
import type { SinkStorage } from './storage.ts';

/** A cheap structural check per event: the stream is internal and ingest validated with zod. */
function looksLikeEvent(e: EventLike): boolean {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.msisdn === 'string' &&
    e.msisdn.length === 11 &&
    CARRIER_CODE[e.carrier] !== undefined &&
    typeof e.ts === 'number' &&
    Number.isFinite(e.ts) &&
    e.ts > 0 &&
    typeof e.cell === 'string' &&
    e.cell.length > 0 &&
    typeof e.lat === 'number' &&
    Number.isFinite(e.lat) &&
    typeof e.lng === 'number' &&
    Number.isFinite(e.lng)
  );
}

/**
 * What a LOCATION message does to presence: its events are applied in order at their stream
 * positions (PresenceState decides moves, staleness and late or repeated events), and what that
 * changes goes to the storage's rows. A binary batch that does not decode is malformed whole; a JSON
 * batch keeps its good events and skips (and counts) the malformed ones.
 */
export class LocationPolicy {
  /** Events applied since start (for benchmarks and health). */
  applied = 0;

  constructor(
    private readonly state: PresenceState,
    private readonly storage: SinkStorage,
    private readonly log: Logger,
    /** Events by outcome (applied, duplicate, invalid); the holder counts, a standby does not. */
    private readonly counter?: Counter<'outcome'>,
  ) {}

  /**
   * Applies one message (stream sequence `seq`); returns a reason when the whole message is
   * malformed. `msg` is acked after the next checkpoint; a message read back from the stream to
   * fill a gap has none (its own redelivery is acked).
   */
  handle(data: Uint8Array, seq: number, msg?: JsMsg): string | undefined {
    let cols: LocationColumns;
    try {
      // Binary (ingest's publisher) or JSON LOCATION batches, as columns: no object per event.
      cols = decodeLocationColumns(data);
    } catch (err) {
      // A binary batch is checked whole; a JSON one with a bad event keeps its good events.
      if (isBinaryLocationMessage(data)) return (err as Error).message;
      return this.handleEvents(data, seq, msg);
    }
    const applied = this.state.applyColumns(cols, seq, this.storage);
    this.settled(msg, cols.count, applied, 0);
    return undefined;
  }

  /** The slow path for a JSON batch that holds malformed events: applies the others one by one. */
  private handleEvents(data: Uint8Array, seq: number, msg?: JsMsg): string | undefined {
    let events: EventLike[];
    try {
      events = decodeLocationMessage(data);
    } catch (err) {
      return (err as Error).message;
    }
    const state = this.state;
    let applied = 0;
    let invalid = 0;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (!looksLikeEvent(e)) {
        invalid++;
        continue;
      }
      if (state.apply(e, streamPos(seq, i), this.storage)) applied++;
    }
    if (invalid) this.log.warn({ seq, invalid }, 'skipped malformed events in a batch');
    this.settled(msg, events.length, applied, invalid);
    return undefined;
  }

  private settled(msg: JsMsg | undefined, events: number, applied: number, invalid: number): void {
    this.applied += applied;
    this.storage.taken(msg, events);
    const skipped = events - applied - invalid;
    if (this.counter) {
      if (applied) this.counter.inc({ outcome: 'applied' }, applied);
      if (skipped) this.counter.inc({ outcome: 'duplicate' }, skipped);
      if (invalid) this.counter.inc({ outcome: 'invalid' }, invalid);
    }
  }
}
