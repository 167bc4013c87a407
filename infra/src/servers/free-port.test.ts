import { describe, expect, it } from 'vitest';
import { ephemeralRange, freePort } from './free-port.ts';

describe('freePort', () => {
  it('hands out ports below the kernel ephemeral range, so no outgoing connection can take one before the server binds it', async () => {
    const [low] = ephemeralRange();
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(20_000);
      expect(p).toBeLessThan(low);
    }
  });

  it('never hands out the same port twice in one process (a server may not have bound the first yet)', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 300; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('reads the ephemeral range, and falls back to the usual one', () => {
    expect(ephemeralRange(() => '32768\t60999\n')).toEqual([32768, 60999]);
    expect(ephemeralRange(() => '40000 50000')).toEqual([40000, 50000]);
    expect(
      ephemeralRange(() => {
        throw new Error('no /proc');
      }),
    ).toEqual([32768, 60999]);
  });
});
