import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmscControl } from './smsc-control.ts';

/** A stand-in for the simulator's `POST /messages/by-destination` (the real one is used by the chaos suites). */
let server: Server;
let url: string;
const requests: string[][] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url !== '/messages/by-destination' || req.method !== 'POST') return res.writeHead(404).end();
      const numbers = JSON.parse(body) as string[];
      if (numbers.includes('bad')) return res.writeHead(400).end('{"error":"expected a JSON array of numbers"}');
      requests.push(numbers);
      // Every number ending in 7 got two messages, the others one, except those ending in 0: none.
      const out: Record<string, unknown[]> = {};
      for (const n of numbers)
        out[n] = n.endsWith('0')
          ? []
          : Array.from({ length: n.endsWith('7') ? 2 : 1 }, (_, i) => ({ carrier: 'cmcc', destination: n, text: `m${i}` }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('SmscControl.countsFor', () => {
  it('asks for the numbers in chunks, one request each, and keeps every number (also those with no message)', async () => {
    const numbers = Array.from({ length: 45_000 }, (_, i) => `139${String(i).padStart(8, '0')}`);
    const got = await new SmscControl(url).countsFor(numbers);
    expect(requests.map((r) => r.length)).toEqual([20_000, 20_000, 5_000]);
    expect(got.size).toBe(45_000);
    expect([got.get('13900000000')!.length, got.get('13900000001')!.length, got.get('13900044997')!.length]).toEqual([0, 1, 2]);
    const total = [...got.values()].reduce((n, m) => n + m.length, 0);
    expect(total).toBe(36_000 * 1 + 4_500 * 2);
  });

  it('fails with the simulator’s message when it refuses the request', async () => {
    await expect(new SmscControl(url).countsFor(['bad'])).rejects.toThrow(/HTTP 400 .*expected a JSON array/);
  });
});
