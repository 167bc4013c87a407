import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { connectNats, ensureDeadLetterStream, type NatsConnection } from '@geo/infra';
import { freePort, untilValue, startService, type ServiceProcess } from '@geo/infra/testing';
import { HTTP_FEED_PATH, LOCATION_STREAM, decodeLocationMessage, feedSubject, type LocationEvent } from '@geo/ingest';
import { CaseTally } from './report.ts';
import { locationCases, type LocationCase } from './location-cases.ts';
import { tapDeadLetters, tapStream } from './stream-tap.ts';

/**
 * Bad input at ingest's external feeds, against the real ingest process (`ingest/src/main.ts`):
 * the HTTP NDJSON feed (per-carrier keys) and the NATS subject feed. Every bad line travels between
 * two good ones; each case checks the reply names the line and the reason, the bad line is in the
 * dead-letter stream with that reason, both good events reach LOCATION, and the process stays up.
 */

const tally = new CaseTally('ingest-feeds');
const { run3: RUN3, mark: MARK, ours: OURS, fresh, good, badObj } = locationCases('BADIN', '139');
type Fresh = LocationCase;
const CMCC_KEY = `cmcc-${randomBytes(16).toString('hex')}`;
const CUCC_KEY = `cucc-${randomBytes(16).toString('hex')}`;

interface LineCase {
  name: string;
  line: (c: Fresh) => string;
  code: 'json' | 'schema' | 'too_old' | 'future' | 'carrier_mismatch' | 'too_long';
  /** A word the reason must contain (the field or the rule). */
  reason?: RegExp;
}

const HOUR = 3600_000;
const LINE_CASES: LineCase[] = [
  // Malformed: not JSON
  { name: 'truncated JSON', line: (c) => `{"msisdn":"13900000000","mark":"${c.mark}"`, code: 'json', reason: /not valid JSON/ },
  { name: 'plain text', line: (c) => `${c.mark} this is not an event`, code: 'json' },
  { name: 'trailing comma', line: (c) => `{"mark":"${c.mark}",}`, code: 'json' },
  { name: 'NaN literal', line: (c) => `{"mark":"${c.mark}","lat":NaN}`, code: 'json' },
  { name: 'single-quoted keys', line: (c) => `{'mark':'${c.mark}'}`, code: 'json' },
  { name: 'control bytes and replacement characters', line: (c) => `\u0001\u0002${c.mark}\ufffd\ufffd`, code: 'json' },
  { name: 'two objects on one line', line: (c) => `${badObj(c, {})}${badObj(c, {})}`, code: 'json' },
  // Wrong types and shapes
  { name: 'a JSON array', line: (c) => `[1,2,"${c.mark}"]`, code: 'schema' },
  { name: 'a JSON string', line: (c) => `"${c.mark}"`, code: 'schema' },
  { name: 'an object with only a marker', line: (c) => `{"mark":"${c.mark}"}`, code: 'schema', reason: /msisdn/ },
  { name: 'msisdn as a number', line: (c) => badObj(c, { msisdn: 13900000000 }), code: 'schema', reason: /msisdn/ },
  { name: 'msisdn too short', line: (c) => badObj(c, { msisdn: '1390000' }), code: 'schema', reason: /msisdn/ },
  { name: 'msisdn with +86', line: (c) => badObj(c, { msisdn: '+8613900000000' }), code: 'schema', reason: /msisdn/ },
  { name: 'unknown carrier', line: (c) => badObj(c, { carrier: 'xxcc' }), code: 'schema', reason: /carrier/ },
  { name: 'carrier in capitals', line: (c) => badObj(c, { carrier: 'CMCC' }), code: 'schema', reason: /carrier/ },
  { name: 'ts as an ISO string', line: (c) => badObj(c, { ts: new Date().toISOString() }), code: 'schema', reason: /ts/ },
  { name: 'ts with a fraction', line: (c) => badObj(c, { ts: Date.now() + 0.5 }), code: 'schema', reason: /ts/ },
  { name: 'negative ts', line: (c) => badObj(c, { ts: -1 }), code: 'schema', reason: /ts/ },
  { name: 'ts zero', line: (c) => badObj(c, { ts: 0 }), code: 'schema', reason: /ts/ },
  { name: 'lat 91', line: (c) => badObj(c, { lat: 91 }), code: 'schema', reason: /lat/ },
  { name: 'lng -181', line: (c) => badObj(c, { lng: -181 }), code: 'schema', reason: /lng/ },
  { name: 'lat as a string', line: (c) => badObj(c, { lat: '30.25' }), code: 'schema', reason: /lat/ },
  { name: 'lng null', line: (c) => badObj(c, { lng: null }), code: 'schema', reason: /lng/ },
  { name: 'empty cell', line: (c) => badObj(c, { cell: '' }), code: 'schema', reason: /cell/ },
  { name: 'cell of 65 characters', line: (c) => badObj(c, { cell: 'c'.repeat(65) }), code: 'schema', reason: /cell/ },
  { name: 'cell as an object', line: (c) => badObj(c, { cell: { id: 1 } }), code: 'schema', reason: /cell/ },
  { name: 'unknown kind', line: (c) => badObj(c, { kind: 'teleport' }), code: 'schema', reason: /kind/ },
  { name: 'gender x', line: (c) => badObj(c, { gender: 'x' }), code: 'schema', reason: /gender/ },
  { name: 'age 121', line: (c) => badObj(c, { age: 121 }), code: 'schema', reason: /age/ },
  { name: 'age -1', line: (c) => badObj(c, { age: -1 }), code: 'schema', reason: /age/ },
  { name: 'home of five digits', line: (c) => badObj(c, { home: '33010' }), code: 'schema', reason: /home/ },
  {
    name: '__proto__ carrying the carrier',
    line: (c) =>
      `{"__proto__":{"carrier":"cmcc"},"msisdn":"${c.msisdn(5)}","ts":${Date.now()},"cell":"x","lat":30,"lng":120,"kind":"data","mark":"${c.mark}"}`,
    code: 'schema',
    reason: /carrier/,
  },
  { name: 'deeply nested object (600 levels)', line: (c) => `${'{"a":'.repeat(600)}"${c.mark}"${'}'.repeat(600)}`, code: 'schema' },
  // Oversized
  { name: 'a 5 kB line', line: (c) => badObj(c, { cell: 'x'.repeat(5000) }), code: 'too_long', reason: /4096/ },
  // Future and ancient timestamps
  { name: 'ts one hour ahead', line: (c) => badObj(c, { ts: Date.now() + HOUR }), code: 'future', reason: /future/ },
  { name: 'ts six minutes ahead', line: (c) => badObj(c, { ts: Date.now() + 6 * 60_000 }), code: 'future' },
  { name: 'ts in 2100', line: (c) => badObj(c, { ts: Date.parse('2100-01-01T00:00:00Z') }), code: 'future' },
  { name: 'ts 1e300', line: (c) => badObj(c, { ts: 1e300 }), code: 'schema' },
  { name: 'ts eight days ago', line: (c) => badObj(c, { ts: Date.now() - 8 * 24 * HOUR }), code: 'too_old', reason: /older/ },
  { name: 'ts 1 ms after the epoch', line: (c) => badObj(c, { ts: 1 }), code: 'too_old' },
  { name: 'ts in seconds instead of ms', line: (c) => badObj(c, { ts: Math.floor(Date.now() / 1000) }), code: 'too_old' },
  // Another carrier's event on this carrier's key or subject
  {
    name: "another carrier's event",
    line: (c) => badObj(c, { carrier: 'cucc', msisdn: '18600000000' }),
    code: 'carrier_mismatch',
    reason: /cucc/,
  },
];

/** Hostile text in the free-text field (cell): accepted and carried as inert text, byte for byte. */
const INJECTIONS = [
  `'; DROP TABLE events; --`,
  `1' OR '1'='1`,
  `\\'); DROP TABLE sms_log; --`,
  `<script>alert(1)</script>`,
  `"><img src=x onerror=alert(1)>`,
  `{{7*7}}\${7*7}`,
  `=cmd|' /C calc'!A0`,
  `蜂窝'\u0000小区\u202e`,
];

describe('bad input at ingest feeds (real ingest process, real nats-server)', () => {
  let ingest: ServiceProcess;
  let nc: NatsConnection;
  let feedUrl: string;
  let statusUrl: string;
  const landed = new Map<string, LocationEvent>();
  let stopTap: () => void;
  let dead: Awaited<ReturnType<typeof tapDeadLetters>>;

  beforeAll(async () => {
    const since = new Date(Date.now() - 1000);
    const [health, http] = [await freePort(), await freePort()];
    ingest = startService('ingest', 'ingest/src/main.ts', {
      healthUrl: `http://127.0.0.1:${health}/healthz`,
      alsoListening: [`http://127.0.0.1:${http}${HTTP_FEED_PATH}`],
      env: {
        NATS_URL: inject('natsUrl'),
        HEALTH_PORT: String(health),
        INGEST_HTTP_PORT: String(http),
        INGEST_KEYS: `cmcc=${CMCC_KEY},cucc=${CUCC_KEY}`,
        SIM_ENABLED: '0',
      },
    });
    await ingest.ready;
    feedUrl = `http://127.0.0.1:${http}${HTTP_FEED_PATH}`;
    statusUrl = `http://127.0.0.1:${health}/healthz`;
    nc = await connectNats(inject('natsUrl'), 'proof-bad-input-ingest');
    await ensureDeadLetterStream(nc);
    const tap = await tapStream(nc, LOCATION_STREAM, 'loc.>', since, (m) => {
      for (const e of decodeLocationMessage(m.data)) if (e.msisdn.startsWith(OURS)) landed.set(e.msisdn, e);
    });
    stopTap = tap.stop;
    dead = await tapDeadLetters(nc, 'ingest', since, MARK);
  }, 180_000);

  afterAll(async () => {
    stopTap?.();
    dead?.stop();
    await nc?.drain();
    await ingest?.stop();
    tally.write();
  });

  const post = async (body: string, key: string | undefined = CMCC_KEY, init: RequestInit = {}) => {
    const res = await fetch(feedUrl, { method: 'POST', headers: key ? { authorization: `Bearer ${key}` } : {}, body, ...init });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };
  const landedEvent = (msisdn: string) => untilValue(`event ${msisdn} in LOCATION`, () => landed.get(msisdn));

  /** The service is still up: healthy, and a good event sent now lands. */
  async function stillUp() {
    expect(ingest.alive()).toBe(true);
    expect(await ingest.healthy()).toBe(true);
  }

  describe('HTTP NDJSON feed: a bad line between two good ones', () => {
    it.each(tally.add('ingest HTTP feed (lines)', LINE_CASES))(
      '$name → 200, line 2 refused as $code, dead-lettered, both good events land',
      async (lc) => {
        const c = fresh();
        const body = [JSON.stringify(good(c.msisdn(1))), lc.line(c), JSON.stringify(good(c.msisdn(2)))].join('\n');
        const r = await post(body);
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({ accepted: 2, rejected: 1 });
        expect(r.body.errors).toHaveLength(1);
        expect(r.body.errors[0]).toMatchObject({ line: 2, code: lc.code });
        if (lc.reason) expect(r.body.errors[0].reason).toMatch(lc.reason);
        const d = await dead.get(c.mark);
        expect(d.reason.startsWith(`${lc.code}: `)).toBe(true);
        expect(d.source.subject).toBe('http:cmcc#2');
        expect((await landedEvent(c.msisdn(1))).cell).toBe(`460-00-${c.msisdn(1)}`);
        expect((await landedEvent(c.msisdn(2))).cell).toBe(`460-00-${c.msisdn(2)}`);
        expect(landed.has(c.msisdn(5))).toBe(false);
      },
    );

    it(
      tally.one('ingest HTTP feed (lines)', 'a BOM in front of a good line is tolerated (trimmed as white space) and the event lands'),
      async () => {
        const c = fresh();
        const r = await post([JSON.stringify(good(c.msisdn(1))), `\ufeff${JSON.stringify(good(c.msisdn(2)))}`].join('\n'));
        expect(r.body).toMatchObject({ accepted: 2, rejected: 0 });
        await landedEvent(c.msisdn(2));
      },
    );

    // Was a bug: the whole 1 MB line, base64 in the entry, went over nats-server's max_payload and the
    // dead letter was lost. infra's deadLetterWriter now keeps the first 64 KiB and the original size.
    it(tally.one('ingest HTTP feed (lines)', 'a 1 MB line is refused as too_long and dead-lettered'), async () => {
      const c = fresh();
      const r = await post(
        [JSON.stringify(good(c.msisdn(1))), badObj(c, { pad: 'y'.repeat(1_000_000) }), JSON.stringify(good(c.msisdn(2)))].join('\n'),
      );
      expect(r.body).toMatchObject({ accepted: 2, rejected: 1, errors: [{ line: 2, code: 'too_long' }] });
      await landedEvent(c.msisdn(2));
      expect((await dead.get(c.mark, 8000)).reason).toMatch(/^too_long: /);
    });
  });

  describe('HTTP NDJSON feed: requests', () => {
    const REQUEST_CASES = tally.add('ingest HTTP feed (requests)', [
      { name: 'no key', key: undefined, status: 401, error: 'unauthorized' },
      { name: 'a wrong key', key: 'wrong', status: 401, error: 'unauthorized' },
      { name: 'a key one character short', key: CMCC_KEY.slice(0, -1), status: 401, error: 'unauthorized' },
      { name: "a key with the right length that is not a carrier's", key: 'x'.repeat(CMCC_KEY.length), status: 401, error: 'unauthorized' },
      { name: 'GET instead of POST', key: CMCC_KEY, status: 405, error: 'method_not_allowed', method: 'GET' },
      { name: 'PUT instead of POST', key: CMCC_KEY, status: 405, error: 'method_not_allowed', method: 'PUT' },
      { name: 'an unknown path', key: CMCC_KEY, status: 404, error: 'not_found', path: '/v1/location-events/../admin' },
    ] as { name: string; key?: string; status: number; error: string; method?: string; path?: string }[]);
    it.each(REQUEST_CASES)('$name → $status $error, nothing published, the feed still takes a good event', async (rc) => {
      const c = fresh();
      const url = rc.path ? feedUrl.replace(HTTP_FEED_PATH, rc.path) : feedUrl;
      const res = await fetch(url, {
        method: rc.method ?? 'POST',
        headers: rc.key ? { authorization: `Bearer ${rc.key}` } : {},
        body: rc.method === 'GET' ? undefined : JSON.stringify(good(c.msisdn(5))),
      });
      expect(res.status).toBe(rc.status);
      const body = await res.json();
      expect(body.error).toBe(rc.error);
      expect(body.message).toEqual(expect.any(String));
      const ok = await post(JSON.stringify(good(c.msisdn(1))));
      expect(ok.body).toMatchObject({ accepted: 1, rejected: 0 });
      await landedEvent(c.msisdn(1));
      expect(landed.has(c.msisdn(5))).toBe(false);
    });

    const EMPTY_CASES = tally.add('ingest HTTP feed (requests)', [
      { name: 'an empty body', body: '' },
      { name: 'only blank lines and CRLFs', body: '\n\r\n  \n\t\n' },
    ]);
    it.each(EMPTY_CASES)('$name → 200 with nothing accepted or refused', async (ec) => {
      expect((await post(ec.body)).body).toEqual({ accepted: 0, rejected: 0, errors: [] });
      await stillUp();
    });

    it(tally.one('ingest HTTP feed (requests)', "the cucc key refuses cmcc's events and takes its own"), async () => {
      const c = fresh();
      const r = await post(
        [JSON.stringify(good(c.msisdn(5))), JSON.stringify(good(`186${RUN3}${String(c.n).padStart(5, '0')}`, { carrier: 'cucc' }))].join(
          '\n',
        ),
        CUCC_KEY,
      );
      expect(r.body).toMatchObject({ accepted: 1, rejected: 1, errors: [{ line: 1, code: 'carrier_mismatch' }] });
      expect(landed.has(c.msisdn(5))).toBe(false);
    });

    it(tally.one('ingest HTTP feed (requests)', 'CRLF line ends and a last line without a newline are read as lines'), async () => {
      const c = fresh();
      const r = await post(`${JSON.stringify(good(c.msisdn(1)))}\r\n${JSON.stringify(good(c.msisdn(2)))}`);
      expect(r.body).toMatchObject({ accepted: 2, rejected: 0 });
      await landedEvent(c.msisdn(2));
    });

    it(
      tally.one(
        'ingest HTTP feed (requests)',
        '1,000 bad lines around 10 good ones: every good one lands, the first 100 rejections are listed',
      ),
      async () => {
        const c = fresh();
        const lines: string[] = [];
        for (let i = 0; i < 1000; i++) {
          if (i % 100 === 50) lines.push(JSON.stringify(good(c.msisdn((i - 50) / 100))));
          lines.push(`{"bad":${i},"mark":"${c.mark}"`);
        }
        const r = await post(lines.join('\n'));
        expect(r.body).toMatchObject({ accepted: 10, rejected: 1000 });
        expect(r.body.errors).toHaveLength(100);
        for (let k = 0; k < 10; k++) await landedEvent(c.msisdn(k));
        await stillUp();
      },
    );

    it(
      tally.one('ingest HTTP feed (requests)', 'a 3 MB body without a single newline is refused as one too-long line; the feed stays up'),
      async () => {
        const c = fresh();
        const r = await post(`${c.mark}${'z'.repeat(3_000_000)}`);
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({ accepted: 0, rejected: 1, errors: [{ line: 1, code: 'too_long' }] });
        await stillUp();
      },
    );
  });

  describe('hostile text is carried as inert text', () => {
    it.each(
      tally.add(
        'ingest HTTP feed (injection)',
        INJECTIONS.map((text) => ({ text })),
      ),
    )('cell $text lands byte for byte', async ({ text }) => {
      const c = fresh();
      const cell = text;
      const r = await post(JSON.stringify(good(c.msisdn(1), { cell })));
      expect(r.body).toMatchObject({ accepted: 1, rejected: 0 });
      expect((await landedEvent(c.msisdn(1))).cell).toBe(cell);
    });
  });

  describe('NATS subject feed: a bad line between two good ones', () => {
    const NATS_LINES = tally.add('ingest NATS feed (lines)', LINE_CASES);
    it.each(NATS_LINES)('$name → line 2 refused as $code, dead-lettered, both good events land', async (lc) => {
      const c = fresh();
      const msg = [JSON.stringify(good(c.msisdn(1))), lc.line(c), JSON.stringify(good(c.msisdn(2)))].join('\n');
      const reply = (await nc.request(feedSubject('cmcc'), msg, { timeout: 20_000 })).json<{
        accepted: number;
        rejected: number;
        errors: { line: number; code: string; reason: string }[];
      }>();
      expect(reply).toMatchObject({ accepted: 2, rejected: 1, errors: [{ line: 2, code: lc.code }] });
      if (lc.reason) expect(reply.errors[0].reason).toMatch(lc.reason);
      const d = await dead.get(c.mark);
      expect(d.reason.startsWith(`${lc.code}: `)).toBe(true);
      expect(d.source.stream).toBe('feed-nats');
      await landedEvent(c.msisdn(1));
      await landedEvent(c.msisdn(2));
    });

    const SUBJECT_CASES = tally.add('ingest NATS feed (subjects)', [
      { name: 'an unknown carrier in the subject', subject: 'ingest.feed.xxcc' },
      { name: 'a carrier in capitals in the subject', subject: 'ingest.feed.CMCC' },
      { name: 'an injection string as the carrier token', subject: "ingest.feed.cmcc';DROP" },
    ]);
    it.each(SUBJECT_CASES)('$name: every line refused with a reason naming the carrier, none published', async (sc) => {
      const c = fresh();
      const reply = (
        await nc.request(sc.subject, [badObj(c, { msisdn: c.msisdn(1) }), badObj(c, { msisdn: c.msisdn(2) })].join('\n'), {
          timeout: 20_000,
        })
      ).json<{ accepted: number; rejected: number; errors: { reason: string }[] }>();
      expect(reply).toMatchObject({ accepted: 0, rejected: 2 });
      expect(reply.errors[0].reason).toMatch(/carrier/);
      expect((await dead.get(c.mark)).reason).toMatch(/^schema: .*carrier/);
      const ok = (await nc.request(feedSubject('cmcc'), JSON.stringify(good(c.msisdn(3))), { timeout: 20_000 })).json();
      expect(ok).toMatchObject({ accepted: 1 });
      await landedEvent(c.msisdn(3));
      expect(landed.has(c.msisdn(1)) || landed.has(c.msisdn(2))).toBe(false);
    });

    it(tally.one('ingest NATS feed (subjects)', 'an empty message gets an empty result'), async () => {
      expect((await nc.request(feedSubject('ctcc'), '', { timeout: 20_000 })).json()).toEqual({ accepted: 0, rejected: 0, errors: [] });
    });

    it(
      tally.one('ingest NATS feed (subjects)', 'a published (not requested) bad message is dead-lettered without a reply to send'),
      async () => {
        const c = fresh();
        nc.publish(feedSubject('cmcc'), [`{"mark":"${c.mark}"`, JSON.stringify(good(c.msisdn(1)))].join('\n'));
        expect((await dead.get(c.mark)).reason).toMatch(/^json: /);
        await landedEvent(c.msisdn(1));
      },
    );
  });

  it('is still up after all of it', async () => {
    await stillUp();
    expect(statusUrl).toMatch(/healthz/);
  });
});
