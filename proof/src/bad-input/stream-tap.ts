import { DeliverPolicy, jetstream, type JsMsg } from '@nats-io/jetstream';
import { DEAD_LETTER_STREAM, DeadLetter, type NatsConnection } from '@geo/infra';
import { untilValue } from '@geo/infra/testing';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Reads a stream from a point in time on with an ordered consumer, in the background, handing
 * each message to `onMsg` (the stream is shared with other test files: callers pick out theirs).
 */
export async function tapStream(
  nc: NatsConnection,
  stream: string,
  filter: string,
  since: Date,
  onMsg: (m: JsMsg) => void,
): Promise<{ stop(): void }> {
  const js = jetstream(nc, { timeout: 15_000 });
  const c = await js.consumers.get(stream, {
    filter_subjects: filter,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: since.toISOString(),
  });
  const msgs = await c.consume();
  void (async () => {
    for await (const m of msgs) {
      try {
        onMsg(m);
      } catch {
        // a message that is not ours or not in the shape we read: ignore it
      }
    }
  })();
  return { stop: () => void msgs.stop() };
}

/** Dead letters under `dlq.<service>.>` since `since`, indexed by the first marker found in their original bytes. */
export async function tapDeadLetters(nc: NatsConnection, service: string, since: Date, marker: RegExp) {
  const byMarker = new Map<string, DeadLetter & { text: string }>();
  const tap = await tapStream(nc, DEAD_LETTER_STREAM, `dlq.${service}.>`, since, (m) => {
    const d = DeadLetter.parse(m.json());
    const text = Buffer.from(d.data, 'base64').toString('utf8');
    const hit = text.match(marker);
    if (hit && !byMarker.has(hit[0])) byMarker.set(hit[0], { ...d, text });
  });
  return {
    byMarker,
    stop: tap.stop,
    get: (mark: string, timeoutMs = 30_000) => untilValue(`a dead letter for ${mark}`, () => byMarker.get(mark), timeoutMs),
  };
}
