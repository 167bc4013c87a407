import { jetstream } from '@nats-io/jetstream';
import { connectNats } from '@geo/infra';

export interface Backlog {
  stream: string;
  consumer: string;
  pending: number;
  ackPending: number;
  redelivered: number;
  /** Pull requests waiting on the server: 0 with messages pending and none unacked means nobody is pulling (#19's stall). */
  waiting: number;
}

/** Every durable consumer's backlog on the given streams. */
export async function backlogs(natsUrl: string, streams: readonly string[]): Promise<Backlog[]> {
  const nc = await connectNats(natsUrl, 'proof-backlog');
  try {
    const jsm = await jetstream(nc, { timeout: 15_000 }).jetstreamManager();
    const out: Backlog[] = [];
    for (const stream of streams) {
      let list;
      try {
        list = await jsm.consumers.list(stream).next();
      } catch {
        continue; // not declared (yet)
      }
      for (const c of list) {
        if (!c.config.durable_name) continue;
        out.push({
          stream,
          consumer: c.name,
          pending: c.num_pending,
          ackPending: c.num_ack_pending,
          redelivered: c.num_redelivered,
          waiting: c.num_waiting,
        });
      }
    }
    return out;
  } finally {
    await nc.close();
  }
}

/**
 * Waits until every durable consumer on `streams` has nothing pending or unacknowledged, and
 * `extra()` (e.g. the SMSC's counters) has not changed, for `stableMs` in a row. Returns the last
 * backlogs seen; throws with them after `timeoutMs`.
 */
export async function waitQuiet(
  natsUrl: string,
  streams: readonly string[],
  opts: { stableMs?: number; timeoutMs?: number; extra?: () => Promise<string>; say?: (msg: string) => void } = {},
): Promise<Backlog[]> {
  const stableMs = opts.stableMs ?? 5000;
  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  let quietSince = 0;
  let lastExtra = '';
  let last: Backlog[] = [];
  let lastSaid = 0;
  while (Date.now() < deadline) {
    try {
      last = await backlogs(natsUrl, streams);
      const extra = opts.extra ? await opts.extra() : '';
      const busy = last.some((b) => b.pending > 0 || b.ackPending > 0) || extra !== lastExtra;
      lastExtra = extra;
      if (busy) quietSince = 0;
      else if (!quietSince) quietSince = Date.now();
      else if (Date.now() - quietSince >= stableMs) return last;
      if (Date.now() - lastSaid > 15_000) {
        lastSaid = Date.now();
        opts.say?.(
          `  waiting for quiet: ${
            last
              .filter((b) => b.pending || b.ackPending)
              .map((b) => `${b.stream}/${b.consumer} ${b.pending}+${b.ackPending}${b.waiting ? '' : ' (no pull waiting)'}`)
              .join(', ') || 'consumers idle'
          } ${extra}`,
        );
      }
    } catch {
      quietSince = 0;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`not quiet after ${opts.timeoutMs ?? 180_000} ms: ${JSON.stringify(last.filter((b) => b.pending || b.ackPending))}`);
}
