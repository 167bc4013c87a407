import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { connectNats, type NatsConnection } from '@geo/infra';
import { IngestStatus, SCENARIO_START_SUBJECT, STATUS_SUBJECT, ScenarioReply } from '../contract.ts';
import { startControl } from '../control.ts';
import { FeedPipeline } from '../feeds/feed-pipeline.ts';
import { loadAdminAreas } from '../geography/admin-areas.ts';
import { ingestMetrics } from '../metrics.ts';
import { BatchPublisher } from '../publish/batch-publisher.ts';
import { testLocationStream } from '../testing/test-stream.ts';
import { SimulatorRunner } from './run-simulator.ts';
import { Simulator } from './simulator.ts';

const log = pino({ level: 'silent' });
const START = Date.parse('2026-07-01T08:00:00+08:00');

describe('simulator into JetStream (real nats-server)', () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'ingest-sim-test');
  });
  afterAll(async () => nc?.drain());

  it('publishes every simulated event, batched, each message with its own Msg-Id, and counts them', async () => {
    const stream = await testLocationStream(nc, 'sim');
    const registry = new Registry();
    const metrics = ingestMetrics(registry);
    const sim = new Simulator({ areas: loadAdminAreas(), subscribers: 4000, seed: 11, startMs: START });
    const publisher = new BatchPublisher({ nc, runId: 'sim-test', batchSize: 200, metrics, subjectOf: stream.subjectOf });
    const runner = new SimulatorRunner(sim, publisher, { speed: 0, untilMs: START + 3600_000, metrics });
    await runner.done;
    expect(sim.eventsTotal).toBeGreaterThan(4000);
    const { events, msgIds } = await stream.read();
    expect(events.length).toBe(sim.eventsTotal);
    expect(new Set(msgIds).size).toBe(msgIds.length);
    expect(msgIds.length).toBeLessThan(events.length / 10);
    expect(events.every((e) => e.ts >= START && e.ts < START + 3600_000)).toBe(true);
    expect(await registry.getSingleMetricAsString('ingest_events_published_total')).toMatch(new RegExp(` ${sim.eventsTotal}$`, 'm'));
    expect(runner.progress).toMatchObject({ subscribers: 4000, running: false, eventsTotal: sim.eventsTotal });
  });

  it('answers status and scenario requests over NATS, refusing a malformed scenario with the reason', async () => {
    const stream = await testLocationStream(nc, 'ctl');
    const sim = new Simulator({ areas: loadAdminAreas(), subscribers: 3000, seed: 12, startMs: START });
    const publisher = new BatchPublisher({ nc, runId: 'ctl-test', subjectOf: stream.subjectOf });
    const runner = new SimulatorRunner(sim, publisher, { speed: 60 });
    const pipeline = new FeedPipeline({ nc, publisher, shards: 8, metrics: ingestMetrics(new Registry()), log });
    const control = startControl(nc, { runner, pipeline, log });
    try {
      const status = IngestStatus.parse((await nc.request(STATUS_SUBJECT, '', { timeout: 5000 })).json());
      expect(status.simulator).toMatchObject({ subscribers: 3000, running: true, speed: 60 });
      expect(status.simulator!.cells).toBeGreaterThan(1000);

      const ok = ScenarioReply.parse(
        (await nc.request(SCENARIO_START_SUBJECT, JSON.stringify({ kind: 'concert', share: 0.2 }), { timeout: 5000 })).json(),
      );
      expect(ok.ok).toBe(true);
      if (ok.ok) {
        expect(ok.scenario.kind).toBe('concert');
        expect(ok.scenario.people).toBeGreaterThan(0);
      }
      const after = IngestStatus.parse((await nc.request(STATUS_SUBJECT, '', { timeout: 5000 })).json());
      expect(after.simulator!.scenarios.map((s) => s.kind)).toEqual(['concert']);

      const bad = ScenarioReply.parse(
        (await nc.request(SCENARIO_START_SUBJECT, JSON.stringify({ kind: 'meteor' }), { timeout: 5000 })).json(),
      );
      expect(bad).toMatchObject({ ok: false });
      if (!bad.ok) expect(bad.error).toMatch(/kind/);
      const unknownPlace = ScenarioReply.parse(
        (await nc.request(SCENARIO_START_SUBJECT, JSON.stringify({ kind: 'holiday', area: 'atlantis' }), { timeout: 5000 })).json(),
      );
      expect(unknownPlace).toMatchObject({ ok: false });
      if (!unknownPlace.ok) expect(unknownPlace.error).toMatch(/unknown place "atlantis"/);
    } finally {
      await control.stop();
      await runner.stop();
    }
  });
});
