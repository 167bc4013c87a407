import { readFileSync } from 'node:fs';

/** China day `n` days from now. */
export const chinaDayIn = (n: number) => new Date(Date.now() + 8 * 3600_000 + n * 86_400_000).toISOString().slice(0, 10);

/**
 * A CAP fixture with its dates moved to now: 2026-12-07 becomes today (China), -08 tomorrow,
 * -09 the day after, so the alerts stay current whenever the tests run.
 */
export function capFixture(name: 'typhoon-alert' | 'typhoon-update' | 'typhoon-cancel' | 'rainstorm-polygons'): string {
  return readFileSync(new URL(`./fixtures/${name}.xml`, import.meta.url), 'utf8')
    .replaceAll('2026-12-07', chinaDayIn(0))
    .replaceAll('2026-12-08', chinaDayIn(1))
    .replaceAll('2026-12-09', chinaDayIn(2));
}
