import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Kvm, type KV } from '@nats-io/kv';
import { connectNats, type NatsConnection } from '@geo/infra';
import { startNatsServer, type RunningNats } from '@geo/infra/testing';
import {
  AlertTaskSpec,
  REACHED_SUBJECT,
  REACH_SUBJECT,
  TaskError,
  TaskStore,
  WHY_SUBJECT,
  regionIssues,
  runEngine,
  shanghaiDate,
  type AlertTaskSpecInput,
  type RunningEngine,
} from '@geo/alerting';
import { CaseTally } from './report.ts';

/**
 * Bad task specs at alerting's submit-time check (TaskStore.submit, the contract's refinement and
 * regionIssues) over a real KV bucket of this file's own: each refused with TaskError
 * `invalid_spec` naming the field, nothing written; a valid task beside it is stored whole.
 */

const tally = new CaseTally('alerting-submit');
const BUCKET = `bad_input_tasks_${randomBytes(3).toString('hex')}`;

const today = () => shanghaiDate(Date.now());
const inDays = (n: number) => shanghaiDate(Date.now() + n * 86_400_000);
const spec = (over: Record<string, unknown> = {}): AlertTaskSpecInput =>
  ({
    alertType: 'rainstorm',
    region: { parts: [{ kind: 'circle', center: [120.15, 30.25], radiusM: 2000 }] },
    subject: '暴雨',
    content: '暴雨预警：请注意安全',
    signature: '应急管理局',
    startDate: today(),
    endDate: inDays(1),
    frequency: 'once',
    quota: { cmcc: { total: 100, dailyCap: 100 } },
    balance: 100,
    accountId: 'acc-bad-input',
    enterpriseId: 'ent-bad-input',
    ...over,
  }) as AlertTaskSpecInput;
const square = (x: number, y: number, d = 0.01) => [
  [x, y],
  [x + d, y],
  [x + d, y + d],
  [x, y + d],
  [x, y],
];
const poly = (...rings: number[][][]) => ({ parts: [{ kind: 'polygon', rings }] });

describe("bad task specs at alerting's submit (real KV)", () => {
  let nc: NatsConnection;
  let kv: KV;
  let store: TaskStore;
  let n = 0;

  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'proof-bad-input-alerting');
    kv = await new Kvm(nc).create(BUCKET, { history: 5 });
    store = new TaskStore(kv);
  });
  afterAll(async () => {
    await kv?.destroy().catch(() => undefined);
    await nc?.drain();
    tally.write();
  });

  const keys = async () => {
    const out: string[] = [];
    for await (const k of await kv.keys()) out.push(k);
    return out.sort();
  };

  interface SpecCase {
    name: string;
    over: () => Record<string, unknown>;
    /** The field path or words the message must name. */
    says: RegExp;
  }
  const million = () => {
    const ring: number[][] = [];
    for (let i = 0; i < 1_000_000; i++)
      ring.push([120.15 + 0.05 * Math.cos((2 * Math.PI * i) / 1e6), 30.25 + 0.05 * Math.sin((2 * Math.PI * i) / 1e6)]);
    return poly(ring);
  };
  const CASES: SpecCase[] = [
    // Regions
    {
      name: 'a self-intersecting (bow-tie) polygon',
      over: () => ({
        region: poly([
          [120, 30],
          [120.1, 30.1],
          [120.1, 30],
          [120, 30.1],
          [120, 30],
        ]),
      }),
      says: /region\.parts\.0.*edges cross/,
    },
    { name: 'a polygon with a million vertices', over: () => ({ region: million() }), says: /1000000 vertices; at most 10000/ },
    {
      name: 'a GeoJSON FeatureCollection as the region',
      over: () => ({ region: { type: 'FeatureCollection', features: [] } }),
      says: /region\.parts/,
    },
    {
      name: 'a GeoJSON Polygon geometry as a part',
      over: () => ({ region: { parts: [{ type: 'Polygon', coordinates: [square(120, 30)] }] } }),
      says: /region\.parts\.0/,
    },
    { name: 'the region as WKT text', over: () => ({ region: 'POLYGON((120 30, 121 30, 121 31, 120 30))' }), says: /region/ },
    {
      name: 'coordinates as strings',
      over: () => ({
        region: poly([
          ['120', '30'],
          ['121', '30'],
          ['121', '31'],
        ] as never),
      }),
      says: /region\.parts\.0\.rings/,
    },
    {
      name: 'NaN-like coordinates (null)',
      over: () => ({
        region: poly([
          [null, 30],
          [121, 30],
          [121, 31],
        ] as never),
      }),
      says: /region\.parts\.0\.rings/,
    },
    {
      name: 'latitude out of range (swapped)',
      over: () => ({
        region: poly([
          [30, 120],
          [30.1, 120],
          [30.1, 120.1],
        ]),
      }),
      says: /not a valid \[longitude, latitude\]/,
    },
    {
      name: 'a ring of two vertices',
      over: () => ({
        region: poly([
          [120, 30],
          [121, 30],
        ]),
      }),
      says: /at least 3/,
    },
    {
      name: 'a zero-area ring',
      over: () => ({
        region: poly([
          [120, 30],
          [120.1, 30],
          [120.2, 30],
        ]),
      }),
      says: /no area|cross/,
    },
    {
      name: 'a hole outside its outer ring',
      over: () => ({ region: poly(square(120, 30), square(121, 31)) }),
      says: /hole 1 lies outside/,
    },
    { name: 'an empty region', over: () => ({ region: { parts: [] } }), says: /region is empty/ },
    {
      name: '101 parts',
      over: () => ({ region: { parts: Array.from({ length: 101 }, () => ({ kind: 'circle', center: [120, 30], radiusM: 10 })) } }),
      says: /at most 100 parts/,
    },
    {
      name: 'a rectangle across the antimeridian',
      over: () => ({ region: { parts: [{ kind: 'rectangle', west: 179, south: 30, east: -179, north: 31 }] } }),
      says: /west < east/,
    },
    {
      name: 'a negative circle radius',
      over: () => ({ region: { parts: [{ kind: 'circle', center: [120, 30], radiusM: -5 }] } }),
      says: /radius must be greater than 0/,
    },
    {
      name: 'a polyline without a buffer',
      over: () => ({
        region: {
          parts: [
            {
              kind: 'polyline',
              path: [
                [120, 30],
                [121, 30],
              ],
              bufferM: 0,
            },
          ],
        },
      }),
      says: /buffer width must be greater than 0/,
    },
    {
      name: 'an edge buffer of 1,000 km',
      over: () => ({ region: { parts: [{ kind: 'circle', center: [120, 30], radiusM: 10 }], edgeBufferM: 1e6 } }),
      says: /edgeBufferM/,
    },
    {
      name: 'an admin code with SQL in it',
      over: () => ({ region: { parts: [{ kind: 'admin', code: "330106' OR 1=1 --" }] } }),
      says: /six-digit GB\/T 2260/,
    },
    {
      name: 'an admin area with no known boundary',
      over: () => ({ region: { parts: [{ kind: 'admin', code: '990000' }] } }),
      says: /no boundary is known/,
    },
    // Other fields
    { name: 'an unknown alert type', over: () => ({ alertType: "typhoon'; DROP TABLE tasks; --" }), says: /alertType/ },
    { name: 'an empty subject', over: () => ({ subject: '' }), says: /subject/ },
    { name: 'content over 2,000 characters', over: () => ({ content: '雨'.repeat(2001) }), says: /content/ },
    { name: 'a signature over 20 characters', over: () => ({ signature: '<script>alert(1)</script>' }), says: /signature/ },
    { name: 'an end date before the start', over: () => ({ startDate: inDays(2), endDate: today() }), says: /end date is before/ },
    { name: 'a task of two years', over: () => ({ endDate: inDays(800) }), says: /at most 366 days/ },
    { name: 'a date that is not a date', over: () => ({ startDate: "2026-01-01'; --" }), says: /YYYY-MM-DD/ },
    {
      name: 'a window ending before it starts',
      over: () => ({ windows: [{ start: '20:00', end: '08:00' }] }),
      says: /ends before it starts/,
    },
    { name: 'a window at 25:00', over: () => ({ windows: [{ start: '08:00', end: '25:00' }] }), says: /HH:MM/ },
    { name: 'no carrier quota', over: () => ({ quota: {} }), says: /at least one carrier/ },
    {
      name: 'quotas over the balance',
      over: () => ({ quota: { cmcc: { total: 101, dailyCap: 100 } } }),
      says: /exceed the available balance/,
    },
    {
      name: 'a daily cap over the total',
      over: () => ({ quota: { cmcc: { total: 10, dailyCap: 50 } } }),
      says: /daily cap of cmcc exceeds/,
    },
    { name: 'a quota for an unknown carrier', over: () => ({ quota: { xxcc: { total: 1, dailyCap: 1 } } }), says: /quota/ },
    { name: 'a negative balance', over: () => ({ balance: -1 }), says: /balance/ },
    {
      name: 'an age rule ending before it starts',
      over: () => ({ rules: [{ attribute: 'age', action: 'keep', min: 60, max: 18 }] }),
      says: /age range ends before/,
    },
    {
      name: 'a rule on an unknown attribute',
      over: () => ({ rules: [{ attribute: 'income', action: 'keep', values: ['high'] }] }),
      says: /rules\.0/,
    },
    { name: 'a minimum dwell of a year', over: () => ({ minDwellMin: 525_600 }), says: /minDwellMin/ },
  ];

  it.each(tally.add('alerting task submit (spec)', CASES))(
    '$name → TaskError invalid_spec naming it; nothing stored; a valid task beside it is stored',
    async (sc) => {
      const before = await keys();
      const bad = `bad-${++n}`;
      const err = await store.submit(bad, spec(sc.over())).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TaskError);
      expect((err as TaskError).code).toBe('invalid_spec');
      expect((err as TaskError).message).toMatch(sc.says);
      expect(await keys()).toEqual(before);
      const good = `good-${n}`;
      const t = await store.submit(good, spec());
      expect(t.state).toBe('submitted');
      expect((await store.get(good))?.task.spec.content).toBe('暴雨预警：请注意安全');
    },
  );

  const ID_CASES = tally.add('alerting task submit (ids)', [
    { name: 'an id with a dot (a KV subject separator)', id: 'a.b' },
    { name: 'an id with SQL in it', id: "x'; DROP TABLE tasks; --" },
    { name: 'an id of 65 characters', id: 'i'.repeat(65) },
    { name: 'an id with a wildcard', id: 'task>*' },
  ]);
  it.each(ID_CASES)('$name → refused, nothing stored', async (ic) => {
    const before = await keys();
    await expect(store.submit(ic.id, spec())).rejects.toThrow();
    expect(await keys()).toEqual(before);
  });

  it(tally.one('alerting task submit (spec)', 'hostile text in subject and content is stored byte for byte'), async () => {
    const text = `'; DROP TABLE sms_log; -- <script>alert(1)</script> \\' {{7*7}}`;
    await store.submit('inert-text', spec({ subject: text.slice(0, 100), content: text }));
    const t = (await store.get('inert-text'))!.task;
    expect(t.spec.content).toBe(text);
  });

  it(tally.one('alerting task submit (spec)', 'an unclosed ring is closed by validation, not refused (the contract says so)'), async () => {
    expect(regionIssues(AlertTaskSpec.parse(spec({ region: poly(square(120, 30).slice(0, -1)) })).region)).toEqual([]);
  });

  // Was a bug: such a ring passed as a 358°-wide planar polygon; now refused as crosses_antimeridian.
  it(tally.one('alerting task submit (spec)', 'a polygon across the antimeridian is refused'), async () => {
    await expect(
      store.submit(
        'antimeridian',
        spec({
          region: poly([
            [179, 30],
            [-179, 30],
            [-179, 31],
            [179, 31],
            [179, 30],
          ]),
        }),
      ),
    ).rejects.toThrow(TaskError);
  });
});

/**
 * Bad requests on alerting's request/reply subjects (reach, reached, why) to a running engine on a
 * nats-server of this block's own: each gets a reply naming what is wrong, and the engine goes on
 * answering good requests.
 */
describe("bad requests to alerting's request/reply subjects (real engine)", () => {
  let dir: string;
  let server: RunningNats;
  let nc: NatsConnection;
  let engine: RunningEngine;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bad-input-alerting-rr-'));
    server = await startNatsServer({ dataDir: dir });
    nc = await connectNats(server.url, 'proof-bad-input-alerting-rr');
    engine = await runEngine({ nc, log: pino({ level: 'silent' }), shards: [0, 1, 2, 3, 4, 5, 6, 7], instance: 'bad-input-rr' });
    await engine.ready;
  }, 60_000);
  afterAll(async () => {
    await engine?.stop();
    await nc?.drain();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const circle = { parts: [{ kind: 'circle', center: [120.15, 30.25], radiusM: 500 }] };
  const ask = async (subject: string, body: string) =>
    JSON.parse(new TextDecoder().decode((await nc.request(subject, body, { timeout: 5_000 })).data)) as { error?: string };
  const RR_CASES = tally.add('alerting request/reply (reach, reached, why)', [
    { name: 'reach: not JSON', subject: REACH_SUBJECT, body: '{"v":1,', says: /JSON|Unexpected|Expected/i },
    { name: 'reach: no region', subject: REACH_SUBJECT, body: JSON.stringify({ v: 1 }), says: /region/ },
    {
      name: 'reach: a bow-tie polygon',
      subject: REACH_SUBJECT,
      body: JSON.stringify({
        v: 1,
        region: poly([
          [120, 30],
          [120.1, 30.1],
          [120.1, 30],
          [120, 30.1],
          [120, 30],
        ]),
      }),
      says: /edges cross/,
    },
    {
      name: 'reach: a rule on an unknown attribute',
      subject: REACH_SUBJECT,
      body: JSON.stringify({ v: 1, region: circle, rules: [{ attribute: 'income', action: 'keep' }] }),
      says: /rules/,
    },
    { name: 'reached: no task id', subject: REACHED_SUBJECT, body: JSON.stringify({ v: 1 }), says: /taskId/ },
    {
      name: 'why: a number that is not a mobile number',
      subject: WHY_SUBJECT,
      body: JSON.stringify({ v: 1, taskId: 't', msisdn: "1380013800'; --" }),
      says: /11-digit/,
    },
    { name: 'why: an array', subject: WHY_SUBJECT, body: '[1,2,3]', says: /expected object|taskId/i },
  ]);
  it.each(RR_CASES)('$name → a reply naming it; good requests still answered', async (rc) => {
    const r = await ask(rc.subject, rc.body);
    expect(r.error).toMatch(rc.says);
    const good = await ask(REACH_SUBJECT, JSON.stringify({ v: 1, region: circle }));
    expect(good.error).toBeUndefined();
  });
});
