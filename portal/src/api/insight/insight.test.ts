import { RegionMetricsRequest } from '@geo/insight';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal } from '../../test/harness.ts';
import { addAccount, consoleApp, loginAs, onApp, tenThousandVertexRing } from '../bigdata/console-harness.ts';
import { MAX_JSON_BODY_BYTES } from '../bigdata/route-kit.ts';
import { setActiveBoundaries } from '../bigdata/geography.ts';
import { INSIGHT_ROUTES } from './index.ts';

const c = (v: number | null) => ({ value: v, suppressed: v === null });

describe('insight routes (PGlite; insight answered by an HTTP server speaking its contract)', () => {
  let portal: Portal;
  let insight: Server;
  const seen: unknown[] = [];
  beforeAll(async () => {
    insight = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.url === '/regions/metrics') {
          const r = RegionMetricsRequest.safeParse(JSON.parse(body));
          seen.push(JSON.parse(body));
          if (!r.success)
            return res
              .writeHead(400)
              .end(JSON.stringify({ error: { code: 'INVALID_REQUEST', message: 'bad region', issues: ['region: bad'] } }));
          return res.end(
            JSON.stringify({
              at: new Date().toISOString(),
              k: 10,
              stalenessMinutes: 120,
              cells: 3,
              population: { total: c(1500), byCarrier: { cmcc: c(900), cucc: c(null), ctcc: c(597) } },
              weeklyMax: { count: c(2100), at: null },
              flow: {
                lastHour: { inflow: c(120), outflow: c(null) },
                sinceMidnight: { since: new Date().toISOString(), inflow: c(800), outflow: c(700) },
              },
              origin: {
                provinces: [],
                otherProvinces: c(0),
                cities: [{ code: '330100', count: c(1000) }],
                otherCities: c(500),
                unknownHome: c(0),
                local: c(1000),
                roaming: c(500),
                unknownLocality: c(0),
              },
              dwell: [],
              portrait: { gender: [], age: [], genderByAge: [] },
              series: { day: [], week: [] },
            }),
          );
        }
        res.writeHead(404).end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no' } }));
      });
    });
    await new Promise<void>((r) => insight.listen(0, '127.0.0.1', () => r()));
    portal = await testPortal({ insightUrl: `http://127.0.0.1:${(insight.address() as { port: number }).port}` });
  }, START_TIMEOUT);
  afterAll(async () => {
    await portal?.stop();
    insight?.close();
  });

  it('passes metrics through with suppressed counts marked, and sends insight its own region shape', async () => {
    const admin = onApp(consoleApp(portal, INSIGHT_ROUTES), await loginAdmin(portal));
    const r = await admin('POST', '/api/insight/metrics', {
      region: {
        parts: [
          { kind: 'admin', code: '330106' },
          {
            kind: 'polyline',
            path: [
              [120, 30],
              [120.1, 30.1],
            ],
            bufferM: 100,
          },
        ],
      },
    });
    expect(r.status).toBe(200);
    expect(r.body.population.total).toEqual({ value: 1500, suppressed: false });
    expect(r.body.flow.lastHour.outflow).toEqual({ value: null, suppressed: true });
    expect(seen.at(-1)).toMatchObject({ region: { areas: ['330106'], shapes: [{ type: 'polyline', widthM: 200 }] } });
  });

  it('sends insight a loaded boundary as its shape, and never a geometry the request brought for a named area (#21)', async () => {
    const admin = onApp(consoleApp(portal, INSIGHT_ROUTES), await loginAdmin(portal));
    const square = (x: number, y: number) => [
      [
        [x, y],
        [x + 0.05, y],
        [x + 0.05, y + 0.05],
        [x, y + 0.05],
        [x, y],
      ],
    ];
    // 西湖区 by name with a square 30 km away as its geometry: insight is asked about 西湖区.
    const forged = await admin('POST', '/api/insight/metrics', {
      region: { parts: [{ kind: 'admin', code: '330106', geometry: { type: 'Polygon', coordinates: square(120.6, 30.5) } }] },
    });
    expect(forged.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ region: { areas: ['330106'], shapes: [] } });
    // 钱塘区 has no shipped boundary; with an operator's file in force insight gets its outline.
    setActiveBoundaries({
      version: 7,
      areas: [
        {
          code: '330114',
          name: '钱塘区',
          level: 'district',
          parent: '330100',
          center: [120.37, 30.3],
          geometry: { type: 'Polygon', coordinates: square(120.34, 30.28) },
        },
      ],
    });
    try {
      const loaded = await admin('POST', '/api/insight/metrics', { region: { parts: [{ kind: 'admin', code: '330114' }] } });
      expect(loaded.status).toBe(200);
      expect(seen.at(-1)).toMatchObject({ region: { areas: [], shapes: [{ type: 'polygon', coordinates: square(120.34, 30.28) }] } });
    } finally {
      setActiveBoundaries(null);
    }
  });

  it('passes edge hysteresis on to insight, and refuses a bad one in Chinese before calling insight (#21)', async () => {
    const admin = onApp(consoleApp(portal, INSIGHT_ROUTES), await loginAdmin(portal));
    const region = { parts: [{ kind: 'circle', center: [120.15, 30.25], radiusM: 800 }] };
    const r = await admin('POST', '/api/insight/metrics', { region, hysteresis: { bufferMeters: 500, minOutsideSeconds: 600 } });
    expect(r.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ hysteresis: { bufferMeters: 500, minOutsideSeconds: 600 } });
    const n = seen.length;
    const bad = await admin('POST', '/api/insight/metrics', { region, hysteresis: { minOutsideSeconds: -5 } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('离开时长不能为负');
    expect(seen.length).toBe(n);
  });

  it('passes edge hysteresis on from the big screen’s live stream too, and refuses a bad one in Chinese (#21)', async () => {
    const a = await loginAdmin(portal);
    const region = encodeURIComponent(JSON.stringify({ parts: [{ kind: 'circle', center: [120.15, 30.25], radiusM: 800 }] }));
    const live = (h: unknown) =>
      portal.request(`/api/insight/live?region=${region}&hysteresis=${encodeURIComponent(JSON.stringify(h))}&intervalS=60`, {
        headers: { cookie: a.cookie },
      });
    const res = await live({ bufferMeters: 500, minOutsideSeconds: 600 });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/event: metrics/);
    await reader.cancel();
    expect(seen.at(-1)).toMatchObject({ hysteresis: { bufferMeters: 500, minOutsideSeconds: 600 } });
    const n = seen.length;
    const bad = await live({ minOutsideSeconds: -5 });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('离开时长不能为负');
    expect((await live('not json')).status).toBe(400);
    expect(seen.length).toBe(n);
  });

  it('refuses a malformed region before calling insight, and callers without the insight feature', async () => {
    const admin = onApp(consoleApp(portal, INSIGHT_ROUTES), await loginAdmin(portal));
    const n = seen.length;
    expect((await admin('POST', '/api/insight/metrics', { region: { parts: [{ kind: 'circle', center: [120, 30] }] } })).status).toBe(400);
    expect(seen.length).toBe(n);
    const sub = onApp(consoleApp(portal, INSIGHT_ROUTES), await loginAs(portal, await addAccount(portal, 'sub', ['bigdata.send'])));
    expect((await sub('POST', '/api/insight/metrics', { region: { parts: [{ kind: 'admin', code: '330106' }] } })).status).toBe(403);
    expect((await sub('GET', '/api/insight/active-tasks')).status).toBe(403);
  });

  it('reads a region holding a 10,000-vertex shape, and refuses a body over the limit with 413 before insight sees it', async () => {
    const client = await loginAdmin(portal);
    const app = consoleApp(portal, INSIGHT_ROUTES);
    const admin = onApp(app, client);
    const ring = tenThousandVertexRing();
    const body = { region: { parts: [{ kind: 'polygon', rings: [ring] }] } };
    expect(JSON.stringify(body).length).toBeGreaterThan(300_000);
    expect((await admin('POST', '/api/insight/metrics', body)).status).toBe(200);
    expect((seen.at(-1) as { region: { shapes: { coordinates: unknown[][] }[] } }).region.shapes[0]!.coordinates[0]).toHaveLength(10_000);

    const n = seen.length;
    const huge = { region: { parts: Array.from({ length: 6 }, () => ({ kind: 'polygon', rings: [ring] })) } };
    expect(JSON.stringify(huge).length).toBeGreaterThan(MAX_JSON_BODY_BYTES);
    const r = await admin('POST', '/api/insight/metrics', huge);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('UPLOAD_TOO_LARGE');
    expect(r.body.error.message).toContain('请求内容过大');
    // Streamed without a Content-Length: counted as it arrives.
    const bytes = new TextEncoder().encode(JSON.stringify(huge));
    const res = await app.request('/api/insight/metrics', {
      method: 'POST',
      headers: { cookie: client.cookie, 'x-csrf-token': client.csrf, 'content-type': 'application/json' },
      body: new ReadableStream({
        start(ctl) {
          for (let i = 0; i < bytes.length; i += 65_536) ctl.enqueue(bytes.subarray(i, i + 65_536));
          ctl.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(seen.length).toBe(n);
  });

  it(
    'says so when insight is not configured',
    async () => {
      const bare = await testPortal();
      try {
        const admin = onApp(consoleApp(bare, INSIGHT_ROUTES), await loginAdmin(bare));
        const r = await admin('GET', '/api/insight/heatmap?bbox=120,30,120.2,30.2&zoom=12');
        expect(r.status).toBe(503);
        expect(r.body.error.code).toBe('INSIGHT_UNAVAILABLE');
      } finally {
        await bare.stop();
      }
    },
    START_TIMEOUT,
  );
});
