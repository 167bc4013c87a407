import { jetstream, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import {
  connectClickHouse,
  connectNats,
  createLogger,
  ensureStream,
  jetstreamManager,
  migrateClickHouse,
  type ClickHouseClient,
  type NatsConnection,
} from '@geo/infra';
import { INSIGHT_MIGRATIONS } from '../schema/migrations.ts';
import { CellDictionary } from '../sink/cells.ts';
import { PresenceState } from '../sink/presence-state.ts';
import { LocationSink, type SinkOptions } from '../sink/sink.ts';

/**
 * The one setup of the sink's integration tests (#20): a stream, a ClickHouse database with
 * insight's schema and a NATS connection of the test's own on the run's shared servers, and sinks
 * on them with the tests' settings (quick flushes and checkpoints, silent log).
 */
export interface SinkWorld {
  /** The test's connection (publishes, inspects consumers); a sink may be given another one. */
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** ClickHouse, on the test's database. */
  ch: ClickHouseClient;
  /** The stream, holding `${prefix}.>`. */
  stream: string;
  prefix: string;
  /**
   * A sink on the stream (not started), filtering `${prefix}.loc.>`, flushing every 100 ms and
   * checkpointing every 200 ms, and its presence state (a fresh one unless given); stopped by `close()`.
   */
  sink(opts: Partial<SinkOptions> & Pick<SinkOptions, 'consumer'>): { sink: LocationSink; state: PresenceState };
  /** Stops the sinks, drains the connection, drops the database. */
  close(): Promise<void>;
}

/**
 * Opens a {@link SinkWorld} named `name` (lower case letters, digits and `_`), made unique per run.
 * @example
 * const w = await sinkWorld('dl');
 * await w.js.publish(`${w.prefix}.loc.cmcc.0`, '{not json');
 * const { sink, state } = w.sink({ consumer: 'insight-dl' });
 * await sink.start();
 */
export async function sinkWorld(name: string, servers: { natsUrl: string; clickhouseUrl: string }): Promise<SinkWorld> {
  const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const stream = `INSIGHT_${name.toUpperCase()}_${tag}`;
  const prefix = `insight${name.replaceAll('_', '')}${tag}`;
  const db = `insight_${name}_${tag}`;
  const nc = await connectNats(servers.natsUrl, `insight-${name}-test`);
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, { name: stream, subjects: [`${prefix}.>`] });
  const root = connectClickHouse(servers.clickhouseUrl);
  await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await root.close();
  const ch = connectClickHouse(servers.clickhouseUrl, db);
  await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);
  const sinks: LocationSink[] = [];
  const log = createLogger(`insight-${name}-it`, 'silent');
  return {
    nc,
    js: jetstream(nc),
    jsm,
    ch,
    stream,
    prefix,
    sink(opts) {
      const state = opts.state ?? new PresenceState(new CellDictionary());
      const sink = new LocationSink({
        nc,
        ch,
        log,
        stream,
        filterSubject: `${prefix}.loc.>`,
        flushMs: 100,
        checkpointMs: 200,
        ...opts,
        state,
      });
      sinks.push(sink);
      return { sink, state };
    },
    async close() {
      for (const s of sinks) await s.stop();
      await nc.drain();
      await ch.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => undefined);
      await ch.close();
    },
  };
}
