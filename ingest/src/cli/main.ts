/**
 * The simulator and replay command line (`npm run sim -- <command>`).
 *
 *   run       simulate the province and publish into LOCATION, with a progress line
 *   scenario  start a scenario in a running ingest service (NATS request)
 *   status    show a running ingest service's status
 *   replay    validate and publish an NDJSON or CSV file
 *   geography build the administrative-area file of a province
 *
 * NATS_URL says where NATS is (default nats://127.0.0.1:4222).
 */
import { statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { commonEnv, connectNats, createLogger, ensureDeadLetterStream, readConfig } from '@geo/infra';
import {
  Carrier,
  DEFAULT_SHARDS,
  IngestStatus,
  SCENARIO_KINDS,
  SCENARIO_START_SUBJECT,
  STATUS_SUBJECT,
  ScenarioReply,
} from '../contract.ts';
import { replayFile } from '../feeds/file-replay.ts';
import { FeedPipeline } from '../feeds/feed-pipeline.ts';
import { adminFilePath, loadAdminAreas } from '../geography/admin-areas.ts';
import { buildProvince } from '../geography/build-geography.ts';
import { ingestMetrics } from '../metrics.ts';
import { BatchPublisher } from '../publish/batch-publisher.ts';
import { SimulatorRunner, type SimulatorProgress } from '../simulator/run-simulator.ts';
import { Simulator } from '../simulator/simulator.ts';
import { declareLocationStream } from '../streams.ts';
import { shanghaiDateTime } from '@geo/infra/basics';

const USAGE = `usage: npm run sim -- <command> [options]

  run [--subscribers 200000] [--speed 60] [--seed 1] [--start ISO] [--hours H] [--province 33]
      [--scenario typhoon|concert|holiday] [--scenario-json '{"kind":"typhoon","landfall":"cangnan"}']
      speed 0 = as fast as JetStream takes events
  scenario <typhoon|concert|holiday> [--json '{...}']    start one in the running ingest service
  status                                                  the running ingest service's status
  replay <file.ndjson|file.csv> [--carrier cmcc] [--shift-to-now]
  geography [province code, default 33]                   rebuild ingest/data/admin-<code>.geo.json
`;

const Env = z.object({ ...commonEnv });

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const cst = (ms: number) => `${shanghaiDateTime(ms)} CST`;
function progressLine(p: SimulatorProgress): string {
  return `simulated ${cst(p.simTime)} | ${fmt(p.subscribers)} subscribers | ${fmt(p.eventsPerSecond)} events/s | ${fmt(p.eventsTotal)} events`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const env = readConfig(Env);
  const log = createLogger('ingest-cli', env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL);
  switch (command) {
    case 'run': {
      const { values } = parseArgs({
        args: rest,
        options: {
          subscribers: { type: 'string', default: '200000' },
          speed: { type: 'string', default: '60' },
          seed: { type: 'string', default: '1' },
          start: { type: 'string' },
          hours: { type: 'string' },
          province: { type: 'string', default: '33' },
          scenario: { type: 'string' },
          'scenario-json': { type: 'string' },
        },
      });
      const nc = await connectNats(env.NATS_URL, 'ingest-sim-cli');
      await ensureDeadLetterStream(nc);
      await declareLocationStream(nc);
      const startMs = values.start ? Date.parse(values.start) : Date.now();
      if (Number.isNaN(startMs)) throw new Error(`--start: not a date: ${values.start}`);
      const t = performance.now();
      const sim = new Simulator({
        areas: loadAdminAreas(values.province),
        subscribers: Number(values.subscribers),
        seed: Number(values.seed),
        startMs,
      });
      console.error(`province ready: ${fmt(sim.pop.size)} subscribers, ${fmt(sim.cells.count)} cells in ${fmt(performance.now() - t)} ms`);
      const scenario = values['scenario-json']
        ? JSON.parse(values['scenario-json'])
        : values.scenario
          ? { kind: values.scenario }
          : undefined;
      if (scenario) console.error(`scenario: ${JSON.stringify(sim.startScenario(scenario))}`);
      const publisher = new BatchPublisher({ nc, runId: `cli-${Date.now().toString(36)}`, log });
      const runner = new SimulatorRunner(sim, publisher, {
        speed: Number(values.speed),
        untilMs: values.hours ? startMs + Number(values.hours) * 3600_000 : undefined,
      });
      const tty = process.stderr.isTTY;
      const timer = setInterval(
        () => process.stderr.write(tty ? `\r${progressLine(runner.progress)}\x1b[K` : `${progressLine(runner.progress)}\n`),
        1000,
      );
      const stop = () => void runner.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await runner.done;
      clearInterval(timer);
      process.stderr.write(
        `${tty ? '\n' : ''}done: ${progressLine(runner.progress)}; published ${fmt(publisher.eventsPublished)}, failed ${fmt(publisher.failed)}\n`,
      );
      await nc.drain();
      return publisher.failed ? 1 : 0;
    }
    case 'scenario': {
      const { values, positionals } = parseArgs({ args: rest, options: { json: { type: 'string' } }, allowPositionals: true });
      const kind = positionals[0];
      if (!kind || !(SCENARIO_KINDS as readonly string[]).includes(kind)) {
        console.error(`scenario: expected one of ${SCENARIO_KINDS.join(', ')}`);
        return 2;
      }
      const nc = await connectNats(env.NATS_URL, 'ingest-cli');
      const reply = ScenarioReply.parse(
        (
          await nc.request(SCENARIO_START_SUBJECT, JSON.stringify({ ...(values.json ? JSON.parse(values.json) : {}), kind }), {
            timeout: 10_000,
          })
        ).json(),
      );
      console.log(JSON.stringify(reply, null, 2));
      await nc.close();
      return reply.ok ? 0 : 1;
    }
    case 'status': {
      const nc = await connectNats(env.NATS_URL, 'ingest-cli');
      const status = IngestStatus.parse((await nc.request(STATUS_SUBJECT, '', { timeout: 5000 })).json());
      console.log(JSON.stringify(status, null, 2));
      await nc.close();
      return 0;
    }
    case 'replay': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { carrier: { type: 'string' }, 'shift-to-now': { type: 'boolean', default: false } },
        allowPositionals: true,
      });
      const path = positionals[0];
      if (!path) {
        console.error('replay: which file?');
        return 2;
      }
      // Checked before connecting: a bad argument gets its one-line answer, not a hang on NATS.
      const carrier = values.carrier === undefined ? undefined : Carrier.safeParse(values.carrier);
      if (carrier && !carrier.success) {
        console.error(`error: unknown carrier "${values.carrier}": expected one of ${Carrier.options.join(', ')}`);
        return 1;
      }
      const what = statSync(path, { throwIfNoEntry: false });
      if (!what) {
        console.error(`error: no such file: ${path}`);
        return 1;
      }
      if (!what.isFile()) {
        console.error(`error: ${path} is a ${what.isDirectory() ? 'directory' : 'special file'}, not a file to replay`);
        return 1;
      }
      const nc = await connectNats(env.NATS_URL, 'ingest-replay-cli');
      await ensureDeadLetterStream(nc);
      await declareLocationStream(nc);
      const publisher = new BatchPublisher({ nc, runId: `replay-${Date.now().toString(36)}`, log });
      const pipeline = new FeedPipeline({ nc, publisher, shards: DEFAULT_SHARDS, metrics: ingestMetrics(), log });
      const t = performance.now();
      const result = await replayFile(path, pipeline, {
        carrier: carrier?.data,
        shiftToNow: values['shift-to-now'],
        onProgress: (lines) =>
          process.stderr.write(`\r${fmt(lines)} lines, ${fmt((lines * 1000) / (performance.now() - t))} lines/s\x1b[K`),
      });
      process.stderr.write('\n');
      console.log(
        JSON.stringify({ ...result, errors: result.errors.slice(0, 20), seconds: Math.round(performance.now() - t) / 1000 }, null, 2),
      );
      await nc.drain();
      return result.rejected ? 1 : 0;
    }
    case 'geography': {
      const code = rest[0] ?? '33';
      const file = buildProvince(code);
      writeFileSync(adminFilePath(code), JSON.stringify(file));
      console.log(`wrote ${adminFilePath(code)} (${file.areas.length} areas)`);
      for (const n of file.notes) console.log(`  note: ${n}`);
      return 0;
    }
    default:
      console.error(USAGE);
      return command ? 2 : 0;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`error: ${(err as Error).message}`);
    // An open NATS connection would keep the process alive after the error: end it.
    process.exit(1);
  },
);
