import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { z } from 'zod';
import { describeIssues } from '@geo/infra';
import {
  ScenarioRequest,
  SCENARIO_START_SUBJECT,
  SCENARIO_STOP_SUBJECT,
  STATUS_SUBJECT,
  type IngestStatus,
  type ScenarioReply,
} from './contract.ts';
import type { FeedPipeline } from './feeds/feed-pipeline.ts';
import type { SimulatorRunner } from './simulator/run-simulator.ts';

export interface Control {
  status(): IngestStatus;
  stop(): Promise<void>;
}

/**
 * Answers the requests ingest carries out: `ingest.status` (events flowing, subscribers,
 * simulated time) and `ingest.scenario.start` / `.stop`, so the portal can drive the simulator.
 */
export function startControl(nc: NatsConnection, deps: { runner?: SimulatorRunner; pipeline: FeedPipeline; log: Logger }): Control {
  const status = (): IngestStatus => {
    const r = deps.runner;
    const feeds = deps.pipeline.totals;
    return {
      simulator: r ? { ...r.progress, cells: r.sim.cells.count, scenarios: [...r.sim.running] } : null,
      feeds,
    };
  };
  const subs: Subscription[] = [];
  const serve = (subject: string, handle: (data: string) => unknown) => {
    const sub = nc.subscribe(subject);
    subs.push(sub);
    void (async () => {
      for await (const msg of sub) {
        let out: unknown;
        try {
          out = handle(msg.string());
        } catch (err) {
          out = { ok: false, error: (err as Error).message };
        }
        if (msg.reply) msg.respond(JSON.stringify(out));
      }
    })();
  };
  serve(STATUS_SUBJECT, () => status());
  serve(SCENARIO_START_SUBJECT, (data): ScenarioReply => {
    if (!deps.runner) return { ok: false, error: 'the simulator is not running here (SIM_ENABLED=0)' };
    let json: unknown;
    try {
      json = JSON.parse(data || '{}');
    } catch {
      return { ok: false, error: 'the request is not valid JSON' };
    }
    const req = ScenarioRequest.safeParse(json);
    if (!req.success) return { ok: false, error: describeIssues(req.error) };
    const scenario = deps.runner.sim.startScenario(req.data);
    deps.log.info({ scenario }, 'scenario started');
    return { ok: true, scenario };
  });
  serve(SCENARIO_STOP_SUBJECT, (data): ScenarioReply => {
    const req = z.object({ id: z.string() }).safeParse(JSON.parse(data || '{}'));
    if (!req.success) return { ok: false, error: describeIssues(req.error) };
    const s = deps.runner?.sim.stopScenario(req.data.id);
    return s ? { ok: true, scenario: s } : { ok: false, error: `no running scenario ${req.data.id}` };
  });
  return {
    status,
    async stop() {
      for (const s of subs) s.unsubscribe();
    },
  };
}
