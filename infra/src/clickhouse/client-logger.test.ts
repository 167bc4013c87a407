import { pino } from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ThrottledClickHouseLog } from './client-logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, sink) };
}
const flush = () => new Promise((r) => setImmediate(r));

describe('ThrottledClickHouseLog', () => {
  it('writes one line per distinct message per window and counts the ones left out', async () => {
    let now = 0;
    const { lines, logger } = capture();
    const log = new ThrottledClickHouseLog(logger, 30_000, () => now);
    const refused = { module: 'HTTP Adapter', message: 'An error occurred', err: new Error('connect ECONNREFUSED 127.0.0.1:8123') };
    for (let i = 0; i < 500; i++) log.write('error', refused);
    log.write('error', { ...refused, err: new Error('socket hang up') });
    now = 31_000;
    log.write('error', refused);
    await flush();
    expect(lines.map((l) => [(l.err as { message: string }).message, l.suppressed])).toEqual([
      ['connect ECONNREFUSED 127.0.0.1:8123', undefined],
      ['socket hang up', undefined],
      ['connect ECONNREFUSED 127.0.0.1:8123', 499],
    ]);
    expect(lines[0]).toMatchObject({ level: 50, module: 'HTTP Adapter', msg: 'An error occurred' });
  });

  it('keeps levels apart and passes args through', async () => {
    const { lines, logger } = capture();
    const log = new ThrottledClickHouseLog(logger, 30_000, () => 0);
    log.write('warn', { module: 'Client', message: 'slow', args: { ms: 5 } });
    log.write('error', { module: 'Client', message: 'slow' });
    log.write('warn', { module: 'Client', message: 'slow', args: { ms: 6 } });
    await flush();
    expect(lines.map((l) => [l.level, l.args])).toEqual([
      [40, { ms: 5 }],
      [50, undefined],
    ]);
  });
});
