import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmppConnector } from '../smpp/smpp-connector.ts';
import { DEFAULT_PASSWORD, DEFAULT_SYSTEM_ID } from '../smpp/protocol.ts';
import { segmentText } from '../text/segment-text.ts';
import { startSimulatedSmsc } from './smsc.ts';
import type { SimulatedSmsc } from './simulated-smsc.ts';
import { startSmscHttp } from './http.ts';

/** The simulator's HTTP side over a run larger than one page: paging, counts, lookups by number, metrics. */

const N = 1500;
let smsc: SimulatedSmsc;
let conn: SmppConnector;
let http: Awaited<ReturnType<typeof startSmscHttp>>;
let url: string;

beforeAll(async () => {
  smsc = await startSimulatedSmsc({ carrier: 'cmcc', behaviour: { receiptDelayMs: 0 } });
  http = await startSmscHttp([smsc], 0);
  url = `http://127.0.0.1:${http.port}`;
  conn = new SmppConnector({
    carrier: 'cmcc',
    host: '127.0.0.1',
    port: smsc.port,
    systemId: DEFAULT_SYSTEM_ID,
    password: DEFAULT_PASSWORD,
    accessNumber: '106571',
    windowSize: 256,
    clientRefTlv: true,
  });
  conn.onReceipt(async () => true);
  await conn.ready();
  const encoded = segmentText('paging test', 0);
  // Numbers 0..N-1, and number 0 twice more: 1502 messages.
  const to = (i: number) => `1390000${String(i).padStart(4, '0')}`;
  await Promise.all(
    [...Array.from({ length: N }, (_, i) => i), 0, 0].map((i, k) =>
      conn.submit({ ref: `p-${k}`, msisdn: to(i), source: '106571', encoded }),
    ),
  );
}, 60_000);

afterAll(async () => {
  await conn?.close();
  await http?.close();
  await smsc?.close();
});

const get = async (path: string) => {
  const r = await fetch(`${url}${path}`);
  return { status: r.status, total: r.headers.get('x-total-count'), body: (await r.json()) as unknown };
};

describe('simulated SMSC HTTP', () => {
  it('pages /messages past 1,000 with offset and limit, newest first, and gives the total', async () => {
    const first = await get('/messages?limit=1000');
    const second = await get('/messages?limit=1000&offset=1000');
    expect(first.total).toBe(String(N + 2));
    const all = [...(first.body as { clientRef: string; at: number }[]), ...(second.body as { clientRef: string; at: number }[])];
    expect(all).toHaveLength(N + 2);
    expect(new Set(all.map((m) => m.clientRef)).size).toBe(N + 2);
    for (let i = 1; i < all.length; i++) expect(all[i - 1]!.at).toBeGreaterThanOrEqual(all[i]!.at);
    expect(((await get('/messages?limit=5000')).body as unknown[]).length).toBe(N + 2);
  });

  it('counts by number and by client ref, and looks many numbers up in one request', async () => {
    expect((await get('/messages/count')).body).toEqual({ total: N + 2 });
    expect((await get('/messages/count?msisdn=13900000000')).body).toEqual({ total: 3 });
    expect((await get('/messages/count?clientRef=p-7')).body).toEqual({ total: 1 });
    expect((await get('/messages/count?carrier=cucc')).body).toEqual({ total: 0 });
    const r = await fetch(`${url}/messages/by-destination`, {
      method: 'POST',
      body: JSON.stringify(['13900000000', '13900000001', '13999999999']),
    });
    const by = (await r.json()) as Record<string, unknown[]>;
    expect([by['13900000000']!.length, by['13900000001']!.length, by['13999999999']!.length]).toEqual([3, 1, 0]);
    expect((await fetch(`${url}/messages/by-destination`, { method: 'POST', body: '{"not":"an array"}' })).status).toBe(400);
  });

  it('exposes its counters as Prometheus metrics', async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(new RegExp(`smsc_accepted\\{carrier="cmcc"[^}]*\\} ${N + 2}`));
    expect(text).toMatch(/smsc_binds\{carrier="cmcc"[^}]*\} 1/);
  });
});
