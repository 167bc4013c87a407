import { describe, expect, it } from 'vitest';
import type { TaskState } from '../contract.ts';
import { nextState } from './task-watch.ts';

const spec = { startDate: '2026-12-06', endDate: '2026-12-08' };

describe('nextState: the moves a task record makes by itself', () => {
  const cases: [TaskState, string, TaskState | undefined][] = [
    ['submitted', '2026-12-01', 'scheduled'],
    ['submitted', '2026-12-07', 'scheduled'],
    ['scheduled', '2026-12-05', undefined],
    ['scheduled', '2026-12-06', 'running'],
    ['scheduled', '2026-12-08', 'running'],
    // Past its end before it ever ran: it runs, and completes at the next look.
    ['scheduled', '2026-12-09', 'running'],
    ['running', '2026-12-06', undefined],
    ['running', '2026-12-08', undefined],
    ['running', '2026-12-09', 'completed'],
    ['paused', '2026-12-07', undefined],
    ['stopped', '2026-12-07', undefined],
    ['completed', '2026-12-09', undefined],
    ['rejected', '2026-12-07', undefined],
  ];
  it.each(cases)('%s on %s → %s', (state, today, to) => {
    expect(nextState({ state, spec }, today)).toBe(to);
  });
});
