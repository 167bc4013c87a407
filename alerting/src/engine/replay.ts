import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { Logger, NatsConnection } from '@geo/infra';
import { LOCATION_STREAM, LocationDecodeError, decodeLocationColumns, type LocationColumns } from '@geo/ingest';
import { presenceConsumer } from '../streams.ts';
import type { Engine } from './engine.ts';
import type { Candidate } from './task-runtime.ts';

/** The events of a LOCATION message as columns (binary or JSON), or the reason it is malformed. */
export function columnsOf(data: Uint8Array): LocationColumns | string {
  try {
    return decodeLocationColumns(data);
  } catch (err) {
    return err instanceof LocationDecodeError ? err.message : `not a LOCATION batch: ${(err as Error).message}`;
  }
}

export const shardOfSubject = (subject: string) => Number(subject.slice(subject.lastIndexOf('.') + 1));

/**
 * Restores presence and region membership after a (re)start by replaying LOCATION from
 * `now − (staleness + longest minimum dwell)` up to the stream's end. The stream is already the
 * durable log of every event, so there is no second copy (snapshot) to keep consistent; the replay
 * window is bounded by the staleness limit, and at the measured ~1 M events/s of consume + parse
 * the typical 2 h of a province replays in tens of seconds.
 *
 * Events up to a shard's ack floor (`evaluatedUpTo`) were evaluated before and only rebuild state.
 * Later ones may never have been (they arrived while no instance ran, or the last one died before
 * acking them): they are evaluated as they are replayed, in order, and who qualifies is pushed to
 * `candidates` for the caller to send once tasks are active. Evaluating them only when the durable
 * consumer delivers them again is too late: presence already holds the person's newer events, so
 * someone who walked into the region and out again during the gap was tracked and never sent.
 * Claims restored beforehand keep this once-only.
 */
export async function replayPresence(
  nc: NatsConnection,
  engine: Engine,
  shards: number[],
  sinceMs: number,
  log: Logger,
  evaluatedUpTo: ReadonlyMap<number, number> = new Map(),
  candidates: Candidate[] = [],
): Promise<number> {
  // A busy 2-core box answers JetStream requests slowly; 5 s (the default) fails good work there.
  const js = jetstream(nc, { timeout: 15_000 });
  const jsm = await js.jetstreamManager();
  const info = await jsm.streams.info(LOCATION_STREAM);
  const last = info.state.last_seq;
  if (info.state.messages === 0 || last === 0) return 0;
  const mine = new Set(shards);
  const c = await js.consumers.get(LOCATION_STREAM, {
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(sinceMs).toISOString(),
  });
  let events = 0;
  const msgs = await c.consume({ max_messages: 512 });
  const timer = setTimeout(() => void msgs.close(), 600_000);
  try {
    for await (const m of msgs) {
      if (mine.has(shardOfSubject(m.subject))) {
        // Malformed messages were dead-lettered by the live consumer; nothing to restore from them.
        const cols = columnsOf(m.data);
        if (typeof cols !== 'string') {
          const unevaluated = m.seq > (evaluatedUpTo.get(shardOfSubject(m.subject)) ?? Infinity);
          const found = engine.applyColumns(cols, unevaluated);
          for (let k = 0; k < found.length; k++) candidates.push(found[k]!);
          events += cols.count;
        }
      }
      if (m.seq >= last || m.info.pending === 0) break;
    }
  } finally {
    clearTimeout(timer);
    await msgs.close();
  }
  log.info({ events, upToSeq: last, qualifiedInGap: candidates.length }, 'presence restored from LOCATION');
  return events;
}

/**
 * Per shard, the stream sequence up to which its durable consumer has acked everything (0 when it
 * has acked nothing yet). The consumers are declared before this is asked; a failure to answer
 * fails the start rather than guess (0 would evaluate the whole replay window again).
 */
export async function ackFloors(nc: NatsConnection, shards: number[]): Promise<Map<number, number>> {
  const jsm = await jetstream(nc, { timeout: 15_000 }).jetstreamManager();
  const out = new Map<number, number>();
  for (const shard of shards) out.set(shard, (await jsm.consumers.info(LOCATION_STREAM, presenceConsumer(shard))).ack_floor.stream_seq);
  return out;
}
