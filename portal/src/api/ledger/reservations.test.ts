import { describe, expect, it } from 'vitest';
import { sendStatus } from '../industry/index.ts';
import { taskCost } from './reservations.ts';

describe('what a big-data task reserves from the ledger', () => {
  it.each([
    [
      'one segment per message',
      '台风预警：请注意安全。',
      { cmcc: { total: 100 }, ctcc: { total: 20 } },
      { perMessage: 1, messages: 120, units: 120 },
    ],
    [
      'a long warning costs its segments per message',
      '台风'.repeat(60),
      { cucc: { total: 10 } },
      { perMessage: 2, messages: 10, units: 20 },
    ],
    ['no carrier, nothing', '预警', {}, { perMessage: 1, messages: 0, units: 0 }],
    // An alert is one message (【应急管理局】 is 7 characters): 500 characters are 8 parts of 67, and so
    // are 501 (not 8 + 1 as tasks of 500); 1007 are 16 (not 8 + 8 + 1).
    ['500 characters with the signature', '台'.repeat(493), { cmcc: { total: 1 } }, { perMessage: 8, messages: 1, units: 8 }],
    ['501 characters, one message', '台'.repeat(494), { cmcc: { total: 1 } }, { perMessage: 8, messages: 1, units: 8 }],
    ['1007 characters, one message', '台'.repeat(1000), { cmcc: { total: 2 } }, { perMessage: 16, messages: 2, units: 32 }],
  ])('%s', (_, content, quota, want) => {
    expect(taskCost({ signature: '应急管理局', content, quota })).toEqual(want);
  });
});

describe('a send’s status follows its numbers', () => {
  it.each([
    ['scheduled', 3, undefined, 'scheduled'],
    ['queued', 3, { delivered: 0, failed: 0 }, 'queued'],
    ['sent', 3, undefined, 'submitted'],
    ['sent', 3, { delivered: 3, failed: 0 }, 'delivered'],
    ['sent', 3, { delivered: 2, failed: 1 }, 'partly_failed'],
    ['sent', 3, { delivered: 1, failed: 1 }, 'partly_failed'],
    ['sent', 3, { delivered: 0, failed: 3 }, 'failed'],
    ['sent', 3, { delivered: 2, failed: 0 }, 'pending'],
  ] as const)('%s with %i numbers and outcomes %o is %s', (state, n, o, want) => {
    expect(sendStatus(state, n, o)).toBe(want);
  });
});
