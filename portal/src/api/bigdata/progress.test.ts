import type { TaskProgress } from '@geo/alerting';
import type { DeliveryStatus } from '@geo/messaging';
import { describe, expect, it } from 'vitest';
import { ProgressFold, releasedStoredProgress } from './progress.ts';

const progress = (instance: string, at: number, cmcc: number): TaskProgress => ({
  v: 1,
  taskId: 'bd-1',
  instance,
  at,
  state: 'running',
  matched: cmcc,
  sent: { cmcc, cucc: 0, ctcc: 0 },
  skipped: {},
});
const status = (state: DeliveryStatus['state']): DeliveryStatus => ({
  jobId: 'bd-1:1',
  sendId: 'bd-1',
  enterpriseId: 'e',
  accountId: 'a',
  msisdn: '13800138000',
  carrier: 'cmcc',
  state,
  segments: 1,
  at: 1,
});

describe('ProgressFold', () => {
  it('sums the latest progress of each alerting instance and counts final receipts', () => {
    const f = new ProgressFold(0, 1);
    f.progress(progress('i1', 2, 5));
    f.progress(progress('i1', 1, 3)); // older: ignored
    f.progress(progress('i2', 1, 4));
    f.status(status('delivered'));
    f.status(status('failed'));
    f.status(status('submitted')); // not final: not counted
    expect(f.view().carriers.cmcc).toEqual({ sent: 9, delivered: 1, failed: 1 });
    expect(f.view().matched).toBe(9);
  });

  // An instance started after the task began heard part of it; the send log recorded all of it.
  it.each([
    {
      case: 'heard nothing, the log has it all',
      heard: { sent: 0, delivered: 0, failed: 0 },
      recorded: { sent: 7, delivered: 4, failed: 1 },
      shown: { sent: 7, delivered: 4, failed: 1 },
    },
    {
      case: 'heard more than the log has yet',
      heard: { sent: 9, delivered: 6, failed: 2 },
      recorded: { sent: 7, delivered: 4, failed: 1 },
      shown: { sent: 9, delivered: 6, failed: 2 },
    },
    {
      case: 'each ahead on a different figure',
      heard: { sent: 9, delivered: 1, failed: 0 },
      recorded: { sent: 7, delivered: 4, failed: 1 },
      shown: { sent: 9, delivered: 4, failed: 1 },
    },
  ])('catches up with the send log, the larger of heard and recorded, never the sum: $case', ({ heard, recorded, shown }) => {
    const f = new ProgressFold(0);
    if (heard.sent) f.progress(progress('i1', 1, heard.sent));
    for (let i = 0; i < heard.delivered; i++) f.status(status('delivered'));
    for (let i = 0; i < heard.failed; i++) f.status(status('failed'));
    const before = f.version;
    f.catchUp({ cmcc: recorded });
    expect(f.view().carriers.cmcc).toEqual(shown);
    expect(f.version).toBeGreaterThan(before);
    // The same record again changes nothing: watchers are not woken for it.
    const after = f.version;
    f.catchUp({ cmcc: recorded });
    expect(f.version).toBe(after);
  });
});

describe('the send queue per carrier', () => {
  it('is unknown until the send log has been read', () => {
    const f = new ProgressFold(0);
    f.progress(progress('i1', 1, 100));
    expect(f.view().queue).toBeNull();
  });

  it('shows published, submitted, queued and when the last queued one goes at the last minute rate', () => {
    const f = new ProgressFold(0);
    f.progress({ ...progress('i1', 1, 0), sent: { cmcc: 500, cucc: 40, ctcc: 0 } });
    const readAt = Date.parse('2026-12-09T00:30:00Z');
    f.catchUp(
      { cmcc: { sent: 200, delivered: 150, failed: 0, lastMinute: 60 }, cucc: { sent: 40, delivered: 40, failed: 0, lastMinute: 0 } },
      readAt,
    );
    const q = f.view().queue!;
    // 300 waiting at 60 a minute: the last goes 5 minutes after the log was read.
    expect(q.cmcc).toEqual({ published: 500, submitted: 200, queued: 300, perMinute: 60, etaAt: readAt + 5 * 60_000 });
    // Everything went out: nothing queued, no ETA.
    expect(q.cucc).toEqual({ published: 40, submitted: 40, queued: 0, perMinute: 0, etaAt: null });
    expect(q.ctcc).toEqual({ published: 0, submitted: 0, queued: 0, perMinute: 0, etaAt: null });
  });

  it('counts a job with a live receipt as submitted, though the send log read 10 s ago does not have it yet', () => {
    const f = new ProgressFold(0);
    f.progress({ ...progress('i1', 1, 0), sent: { cmcc: 0, cucc: 0, ctcc: 50 } });
    f.catchUp({ ctcc: { sent: 10, delivered: 10, failed: 0, lastMinute: 10 } }, 1000);
    for (let i = 0; i < 28; i++) f.status({ ...status(i < 26 ? 'delivered' : 'failed'), jobId: `bd-1:${i}`, carrier: 'ctcc' });
    // The log said 10 went out; 28 have answered live since: 排队中 must not still say 40.
    expect(f.view().carriers.ctcc).toMatchObject({ delivered: 26, failed: 2 });
    expect(f.view().queue!.ctcc).toMatchObject({ published: 50, submitted: 28, queued: 22 });
  });

  it('gives no ETA while jobs wait and none went out in the last minute (a stalled carrier)', () => {
    const f = new ProgressFold(0);
    f.progress({ ...progress('i1', 1, 0), sent: { cmcc: 10, cucc: 0, ctcc: 0 } });
    f.catchUp({ cmcc: { sent: 4, delivered: 4, failed: 0, lastMinute: 0 } }, 1000);
    expect(f.view().queue!.cmcc).toEqual({ published: 10, submitted: 4, queued: 6, perMinute: 0, etaAt: null });
  });
});

describe('progress stored before it went on the grid of k (#17)', () => {
  it('is put on the grid when read: matched and each skip reason, a reason under k left out; sent figures exact', () => {
    const old = { state: 'running', matched: 3, carriers: { cmcc: { sent: 0, delivered: 0, failed: 0 } }, skipped: { dwell: 3, rule: 12 } };
    expect(releasedStoredProgress(old)).toEqual({ ...old, matched: 0, skipped: { rule: 10 }, k: 10 });
    expect(releasedStoredProgress(old, 5)).toMatchObject({ matched: 0, skipped: { rule: 10 }, k: 5 });
  });

  it('leaves a view that carries its k, and what is not a view, as they are', () => {
    const view = new ProgressFold(0, 10).view();
    expect(releasedStoredProgress(view)).toBe(view);
    expect(releasedStoredProgress(null)).toBeNull();
    expect(releasedStoredProgress('x')).toBe('x');
  });
});
