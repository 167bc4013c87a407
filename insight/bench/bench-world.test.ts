import { describe, expect, it } from 'vitest';
import { benchGrid, cellOfCarrier, stepInCarrier } from './bench-world.ts';

describe('bench world: cells per carrier', () => {
  it('keeps 20,022 cells in all at full scale, each of one carrier, with distinct keys per carrier', () => {
    const g = benchGrid(1);
    expect(g.cells.length).toBe(20_022);
    expect(new Set(g.cells.map((c) => c.key)).size).toBe(20_022);
    expect([1, 2, 3].map((c) => g.cells.filter((x) => x.carrier === c).length).reduce((a, b) => a + b)).toBe(20_022);
  });

  it('puts a subscriber in its carrier’s cells and steps only among them', () => {
    const g = benchGrid(0.05);
    for (let c = 0; c < 3; c++) {
      const seen = new Set<number>();
      for (let k = 0; k < 5000; k++) {
        let i = cellOfCarrier(g, c, k * 7919);
        seen.add(i);
        expect(g.cells[i]!.carrier).toBe(c + 1);
        for (let s = 0; s < 4; s++) {
          i = stepInCarrier(g, i, s / 4 + 0.1);
          expect(g.cells[i]!.carrier).toBe(c + 1);
        }
      }
      expect(seen.size).toBe(g.cells.filter((x) => x.carrier === c + 1).length);
    }
  });
});
