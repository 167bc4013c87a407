/**
 * A sink in a process of its own, for the kill -9 test (`sink.int.test.ts`): it writes moves on
 * every message but its checkpoint only after an hour, so when it is killed its moves are in
 * ClickHouse and none of its messages is acked. Prints `applied <n> flushes <n>` as it goes.
 * Env: NATS_URL, CLICKHOUSE_URL (with the database), STREAM, CONSUMER, FILTER.
 */
import { connectClickHouse, connectNats, createLogger } from '@geo/infra';
import { CellDictionary } from './cells.ts';
import { PresenceState } from './presence-state.ts';
import { LocationSink } from './sink.ts';

const env = process.env as Record<string, string>;
const nc = await connectNats(env.NATS_URL!, 'insight-sink-fixture');
const ch = connectClickHouse(env.CLICKHOUSE_URL!);
const sink = new LocationSink({
  nc,
  ch,
  state: new PresenceState(new CellDictionary()),
  log: createLogger('insight-sink-fixture', 'silent'),
  stream: env.STREAM!,
  consumer: env.CONSUMER!,
  filterSubject: env.FILTER!,
  flushEvents: 1,
  flushMs: 100,
  checkpointMs: 3_600_000,
});
await sink.start();
setInterval(() => process.stdout.write(`applied ${sink.applied} flushes ${sink.flushes} checkpoints ${sink.checkpoints}\n`), 100);
