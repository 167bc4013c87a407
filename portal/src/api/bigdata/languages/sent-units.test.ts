import { describe, expect, it } from 'vitest';
import { chargeByLanguage } from './sent-units.ts';

describe('the charge of a bilingual task’s sends', () => {
  it.each([
    ['8 Chinese SMS of 1 unit and 2 English of 3, all logged', 10, 3, { jobs: 10, units: 14 }, 14],
    ['all Chinese (nobody’s profile named another language)', 10, 3, { jobs: 10, units: 10 }, 10],
    ['2 sent messages not yet in the log: at the reserved rate', 10, 3, { jobs: 8, units: 8 }, 14],
    ['no send log: every message at the reserved rate, as before', 10, 3, undefined, 30],
    ['never more than the reserved rate allows', 10, 1, { jobs: 10, units: 30 }, 10],
    ['nothing sent', 0, 3, { jobs: 0, units: 0 }, 0],
  ] as const)('%s', (_what, sent, perMessage, logged, want) => {
    expect(chargeByLanguage(sent, perMessage, logged)).toBe(want);
  });
});
