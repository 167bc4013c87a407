import { describe, expect, it } from 'vitest';
import { until, untilValue } from './until.ts';

describe('until', () => {
  it('resolves once the condition holds', async () => {
    let n = 0;
    await until('n reaches 3', () => ++n >= 3, 1_000, 1);
    expect(n).toBe(3);
  });

  it('fails naming what it waited for and the last error', async () => {
    await expect(
      until(
        'the moon',
        () => {
          throw new Error('not yet');
        },
        30,
        5,
      ),
    ).rejects.toThrow(/waiting for the moon \(last error: not yet\)/);
  });

  it('hands back the first defined value', async () => {
    let n = 0;
    expect(await untilValue('a value', () => (++n === 2 ? 'x' : undefined), 1_000, 1)).toBe('x');
  });
});
