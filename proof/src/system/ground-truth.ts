import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connectNats } from '@geo/infra';
import { LOCATION_STREAM, decodeLocationMessage, type LocationEvent } from '@geo/ingest';

/** One event as the simulator published it (what every consumer saw), in stream order per subscriber. */
export type SeenEvent = Pick<LocationEvent, 'ts' | 'cell' | 'lat' | 'lng' | 'kind' | 'carrier' | 'gender' | 'age' | 'home'>;

/**
 * The simulator's ground truth: every event in the LOCATION stream, grouped by subscriber, read
 * independently of the services (an ordered consumer from the first message). Whatever the
 * services did under faults, this is what happened.
 */
export class GroundTruth {
  readonly bySubscriber = new Map<string, SeenEvent[]>();
  events = 0;
  messages = 0;

  static async read(natsUrl: string): Promise<GroundTruth> {
    const nc = await connectNats(natsUrl, 'proof-ground-truth');
    const gt = new GroundTruth();
    try {
      const js = jetstream(nc, { timeout: 30_000 });
      const info = await (await js.jetstreamManager()).streams.info(LOCATION_STREAM);
      const last = info.state.last_seq;
      if (info.state.messages === 0) return gt;
      const c = await js.consumers.get(LOCATION_STREAM, { deliver_policy: DeliverPolicy.All });
      const msgs = await c.consume({ max_messages: 1000 });
      for await (const m of msgs) {
        const batch = { events: decodeLocationMessage(m.data) }; // binary or JSON LOCATION batch
        gt.messages++;
        for (const e of batch.events) gt.add(e);
        if (m.seq >= last) break;
      }
      await msgs.close();
    } finally {
      await nc.close();
    }
    return gt;
  }

  add(e: LocationEvent): void {
    let list = this.bySubscriber.get(e.msisdn);
    if (!list) this.bySubscriber.set(e.msisdn, (list = []));
    list.push({
      ts: e.ts,
      cell: e.cell,
      lat: e.lat,
      lng: e.lng,
      kind: e.kind,
      carrier: e.carrier,
      gender: e.gender,
      age: e.age,
      home: e.home,
    });
    this.events++;
  }

  /**
   * Who was inside a region while attached: `inside` gives true, false, or undefined for a
   * position too close to the boundary to call (left out of both sides of the check).
   */
  split(
    inside: (lng: number, lat: number) => boolean | undefined,
    passes: (last: SeenEvent) => boolean,
  ): {
    qualifying: Map<string, SeenEvent>;
    excludedByRules: Set<string>;
    boundary: Set<string>;
    outside: Set<string>;
  } {
    const qualifying = new Map<string, SeenEvent>();
    const excludedByRules = new Set<string>();
    const boundary = new Set<string>();
    const outside = new Set<string>();
    for (const [msisdn, evs] of this.bySubscriber) {
      let verdict: boolean | undefined = false;
      for (const e of evs) {
        if (e.kind === 'detach') continue;
        const v = inside(e.lng, e.lat);
        if (v === true) {
          verdict = true;
          break;
        }
        if (v === undefined) verdict = undefined;
      }
      const last = evs[evs.length - 1]!;
      if (verdict === undefined) boundary.add(msisdn);
      else if (!verdict) outside.add(msisdn);
      else if (!passes(last)) excludedByRules.add(msisdn);
      else qualifying.set(msisdn, last);
    }
    return { qualifying, excludedByRules, boundary, outside };
  }

  /**
   * What insight's sink must end with: each subscriber's last event (time and whether it was a
   * detach), and its moves (a changed serving cell, a first sighting included) as
   * `msisdn|second|from|to` identities.
   */
  insightExpectations(): { last: Map<string, { ts: number; detached: boolean }>; moves: Set<string> } {
    const last = new Map<string, { ts: number; detached: boolean }>();
    const moves = new Set<string>();
    for (const [msisdn, evs] of this.bySubscriber) {
      let cell: string | undefined;
      let ts = -Infinity;
      for (const e of evs) {
        if (e.ts < ts) continue;
        if (e.cell !== cell) moves.add(`${msisdn}|${Math.floor(e.ts / 1000)}|${cell ?? ''}|${e.cell}`);
        cell = e.cell;
        ts = e.ts;
      }
      // The newest by event time, not the last in the stream: a batch retried across a NATS restart
      // can land after newer ones, and an older event does not move anyone back.
      let l = evs[0]!;
      for (const e of evs) if (e.ts >= l.ts) l = e;
      last.set(msisdn, { ts: l.ts, detached: l.kind === 'detach' });
    }
    return { last, moves };
  }
}
