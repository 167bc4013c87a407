import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats, ensureDeadLetterStream, type NatsConnection } from '@geo/infra';
import { REPO_ROOT, untilValue } from '@geo/infra/testing';
import { LOCATION_STREAM, decodeLocationMessage, type LocationEvent } from '@geo/ingest';
import { CaseTally } from './report.ts';
import { locationCases, type LocationCase } from './location-cases.ts';
import { tapDeadLetters, tapStream } from './stream-tap.ts';

/**
 * Bad input at ingest's third entry point, file replay (`npm run sim -- replay <file>`), run as the
 * real command against the real nats-server: broken NDJSON and CSV files, binary junk, a huge line,
 * a missing file, a directory, another carrier's events. Each case checks the command's exit code and
 * its summary (or its one-line error), the bad lines' dead letters with their reasons, and that the
 * good lines beside them reach LOCATION, each exactly once.
 */

const tally = new CaseTally('file-replay');
const { mark: MARK, ours: OURS, fresh, good, badObj } = locationCases('BADRP', '137');
type Fresh = LocationCase;
const HOUR = 3600_000;

interface Replay {
  code: number | null;
  stdout: string;
  stderr: string;
  summary?: { accepted: number; rejected: number; errors: { line: number; code: string; reason: string }[] };
}

/** Runs `ingest/src/cli/main.ts replay …` as its own process, as `npm run sim -- replay` does. */
function replay(natsUrl: string, args: string[]): Promise<Replay> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'ingest/src/cli/main.ts', 'replay', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, NATS_URL: natsUrl, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-20_000)));
    const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(kill);
      let summary: Replay['summary'];
      try {
        summary = JSON.parse(stdout);
      } catch {
        summary = undefined;
      }
      resolve({ code, stdout, stderr, summary });
    });
  });
}

// Each case starts the replay command as its own process (tsx compiles it on start): 2–4 s a case
// on a quiet machine, 25–60 s at load 20, so a case may take up to the command's own 120 s limit.
describe('bad input at file replay (the real replay command, real nats-server)', { timeout: 150_000 }, () => {
  let nc: NatsConnection;
  let dir: string;
  const landed = new Map<string, LocationEvent[]>();
  let stopTap: () => void;
  let dead: Awaited<ReturnType<typeof tapDeadLetters>>;
  const file = (name: string, body: string | Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, body);
    return p;
  };
  const landedOnce = (msisdn: string) =>
    untilValue(`${msisdn} in LOCATION`, () => (landed.get(msisdn)?.length ? landed.get(msisdn) : undefined));

  beforeAll(async () => {
    const since = new Date(Date.now() - 1000);
    dir = mkdtempSync(join(tmpdir(), 'bad-replay-'));
    nc = await connectNats(inject('natsUrl'), 'proof-bad-input-replay');
    await ensureDeadLetterStream(nc);
    // The replay command declares LOCATION itself; the tap needs it first.
    const first = await replay(inject('natsUrl'), [file('empty-first.ndjson', '')]);
    expect(first.code).toBe(0);
    const tap = await tapStream(nc, LOCATION_STREAM, 'loc.>', since, (m) => {
      for (const e of decodeLocationMessage(m.data))
        if (e.msisdn.startsWith(OURS)) landed.set(e.msisdn, [...(landed.get(e.msisdn) ?? []), e]);
    });
    stopTap = tap.stop;
    dead = await tapDeadLetters(nc, 'ingest', since, MARK);
  }, 180_000);

  afterAll(async () => {
    stopTap?.();
    dead?.stop();
    await nc?.drain();
    if (dir) rmSync(dir, { recursive: true, force: true });
    tally.write();
  });

  const LINE_CASES = tally.add('file replay (NDJSON lines)', [
    { name: 'truncated JSON', line: (c: Fresh) => `{"msisdn":"13700000000","mark":"${c.mark}"`, code: 'json' },
    { name: 'binary junk with a marker', line: (c: Fresh) => `\u0000\u0001\u00ff${c.mark}\ufffd`, code: 'json' },
    { name: 'a JSON array', line: (c: Fresh) => `[1,"${c.mark}"]`, code: 'schema' },
    { name: 'unknown carrier', line: (c: Fresh) => badObj(c, { carrier: 'xxcc' }), code: 'schema' },
    { name: 'lat 91', line: (c: Fresh) => badObj(c, { lat: 91 }), code: 'schema' },
    { name: 'ts as an ISO string', line: (c: Fresh) => badObj(c, { ts: new Date().toISOString() }), code: 'schema' },
    { name: 'ts one hour ahead', line: (c: Fresh) => badObj(c, { ts: Date.now() + HOUR }), code: 'future' },
    { name: 'ts eight days ago', line: (c: Fresh) => badObj(c, { ts: Date.now() - 8 * 24 * HOUR }), code: 'too_old' },
    { name: 'a 5 kB line', line: (c: Fresh) => badObj(c, { cell: 'x'.repeat(5000) }), code: 'too_long' },
  ]);

  it('replays a file mixing each bad line between good ones: the good ones land once, each bad one is dead-lettered with its reason, exit code 1', async () => {
    const cases = LINE_CASES.map((lc) => ({ lc, c: fresh() }));
    const lines: string[] = [];
    for (const { lc, c } of cases) lines.push(JSON.stringify(good(c.msisdn(1))), lc.line(c), JSON.stringify(good(c.msisdn(2))));
    const r = await replay(inject('natsUrl'), [file('mixed.ndjson', `${lines.join('\n')}\n`)]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.summary).toMatchObject({ accepted: 2 * cases.length, rejected: cases.length });
    expect(r.summary!.errors.map((e) => e.code)).toEqual(cases.map(({ lc }) => lc.code));
    expect(r.summary!.errors.map((e) => e.line)).toEqual(cases.map((_, i) => 3 * i + 2));
    for (const { lc, c } of cases) {
      const d = await dead.get(c.mark);
      expect(d.reason, lc.name).toMatch(new RegExp(lc.code));
      for (const k of [1, 2]) expect((await landedOnce(c.msisdn(k))).length, `${lc.name}: good line ${k}`).toBe(1);
      expect(landed.get(c.msisdn(5)), `${lc.name}: the bad line`).toBeUndefined();
    }
  });

  it(tally.one('file replay (files)', 'an empty file → exit 0, nothing accepted'), async () => {
    const r = await replay(inject('natsUrl'), [file('empty.ndjson', '')]);
    expect(r.code).toBe(0);
    expect(r.summary).toMatchObject({ accepted: 0, rejected: 0 });
  });

  it(tally.one('file replay (files)', 'a file that does not exist → exit 1 with one line naming it'), async () => {
    const missing = join(dir, 'no-such-file.ndjson');
    const r = await replay(inject('natsUrl'), [missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: no such file: ${missing}`);
  });

  it(tally.one('file replay (files)', 'a directory instead of a file → exit 1 with a readable error'), async () => {
    const r = await replay(inject('natsUrl'), [dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${dir} is a directory, not a file to replay`);
  });

  it(tally.one('file replay (files)', 'no file named → exit 2 asking which file'), async () => {
    const r = await replay(inject('natsUrl'), []);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/which file/);
  });

  it(tally.one('file replay (files)', '1 MB of random bytes → every line refused, nothing published, exit 1'), async () => {
    const c = fresh();
    const bytes = randomBytes(1 << 20);
    const r = await replay(inject('natsUrl'), [file(`junk-${c.mark}.ndjson`, bytes)]);
    expect(r.code).toBe(1);
    expect(r.summary!.accepted).toBe(0);
    expect(r.summary!.rejected).toBeGreaterThan(0);
    for (const e of r.summary!.errors) expect(['json', 'too_long', 'schema']).toContain(e.code);
  });

  it(
    tally.one('file replay (files)', 'one 20 MB line without a newline between two good lines → refused as too long, the good lines land'),
    async () => {
      const c = fresh();
      // The marker first: a dead letter keeps only the first 64 KiB of what it refused.
      const huge = JSON.stringify({ mark: c.mark, ...good(c.msisdn(5)), cell: 'y'.repeat(20 * 1024 * 1024) });
      const r = await replay(inject('natsUrl'), [
        file('huge-line.ndjson', `${JSON.stringify(good(c.msisdn(1)))}\n${huge}\n${JSON.stringify(good(c.msisdn(2)))}`),
      ]);
      expect(r.code).toBe(1);
      expect(r.summary).toMatchObject({ accepted: 2, rejected: 1 });
      expect(r.summary!.errors[0]).toMatchObject({ line: 2, code: 'too_long' });
      const d = await dead.get(c.mark);
      expect(d.reason).toMatch(/too_long|longer than/);
      for (const k of [1, 2]) expect((await landedOnce(c.msisdn(k))).length).toBe(1);
    },
  );

  it(
    tally.one('file replay (files)', "--carrier cmcc on a file with another carrier's event → that line refused, the rest land"),
    async () => {
      const c = fresh();
      const other = badObj(c, { carrier: 'cucc', msisdn: '18600000000' });
      const r = await replay(inject('natsUrl'), [
        '--carrier',
        'cmcc',
        file('carrier.ndjson', [JSON.stringify(good(c.msisdn(1))), other, JSON.stringify(good(c.msisdn(2)))].join('\n')),
      ]);
      expect(r.code).toBe(1);
      expect(r.summary!.errors).toEqual([expect.objectContaining({ line: 2, code: 'carrier_mismatch' })]);
      expect((await dead.get(c.mark)).reason).toMatch(/carrier_mismatch|cucc/);
      for (const k of [1, 2]) expect((await landedOnce(c.msisdn(k))).length).toBe(1);
    },
  );

  it(tally.one('file replay (files)', 'an unknown --carrier → exit 1 naming the carriers there are'), async () => {
    const r = await replay(inject('natsUrl'), ['--carrier', 'xxcc', file('any.ndjson', JSON.stringify(good(fresh().msisdn(1))))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: unknown carrier "xxcc": expected one of cmcc, cucc, ctcc');
  });

  it(
    tally.one('file replay (files)', 'a CSV whose header names no event fields → every row refused with the missing fields, exit 1'),
    async () => {
      const c = fresh();
      const r = await replay(inject('natsUrl'), [
        file('wrong-header.csv', `phone,time,place\n${c.msisdn(5)},${Date.now()},${c.mark}\n${c.msisdn(6)},${Date.now()},x\n`),
      ]);
      expect(r.code).toBe(1);
      expect(r.summary).toMatchObject({ accepted: 0, rejected: 2 });
      expect(r.summary!.errors[0]!.reason).toMatch(/msisdn/);
    },
  );

  it(
    tally.one('file replay (files)', 'a CSV with a formula and SQL in the cell column → carried as inert text, byte for byte'),
    async () => {
      const c = fresh();
      const cells = [`=cmd|' /C calc'!A0`, `'; DROP TABLE events; --`];
      const csv = [
        'msisdn,carrier,ts,cell,lat,lng,kind',
        ...cells.map((cell, k) =>
          [c.msisdn(k + 1), 'cmcc', Date.now() - 30_000, `"${cell.replace(/"/g, '""')}"`, 30.25, 120.15, 'data'].join(','),
        ),
      ].join('\n');
      const r = await replay(inject('natsUrl'), [file('inert.csv', csv)]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.summary).toMatchObject({ accepted: 2, rejected: 0 });
      for (const [k, cell] of cells.entries()) expect((await landedOnce(c.msisdn(k + 1)))[0]!.cell).toBe(cell);
    },
  );
});
