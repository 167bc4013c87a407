import { randomBytes } from 'node:crypto';
import type { LocationEvent } from '@geo/ingest';

/**
 * Bad-input cases for location events, shared by the feed and file-replay suites: each case gets a
 * marker (found again in its dead letter) and numbers no other case, run or test file uses.
 * `tag` names the suite in markers; `prefix` is the three-digit number prefix it owns.
 */
export function locationCases(tag: string, prefix: string) {
  const run = randomBytes(4).toString('hex');
  /** Three digits of this run, so parallel runs don't share numbers. */
  const run3 = String(parseInt(run.slice(0, 4), 16) % 1000).padStart(3, '0');
  let seq = 0;
  /** A fresh case: its marker and numbers that no other case (or test file) uses. */
  const fresh = () => {
    const n = ++seq;
    return { n, mark: `${tag}${run}x${n}`, msisdn: (k: number) => `${prefix}${run3}${String(n * 10 + k).padStart(5, '0')}` };
  };
  type Fresh = ReturnType<typeof fresh>;
  const good = (msisdn: string, over: Partial<LocationEvent> = {}): LocationEvent => ({
    msisdn,
    carrier: 'cmcc',
    ts: Date.now() - 30_000,
    cell: `460-00-${msisdn}`,
    lat: 30.25,
    lng: 120.15,
    kind: 'data',
    ...over,
  });
  /** A good event's fields with the case's marker and some fields replaced (the line is still an object). */
  const badObj = (c: Fresh, over: Record<string, unknown>) => JSON.stringify({ ...good(c.msisdn(5)), mark: c.mark, ...over });
  return { run3, mark: new RegExp(`${tag}${run}x\\d+`), ours: `${prefix}${run3}`, fresh, good, badObj };
}
export type LocationCase = ReturnType<ReturnType<typeof locationCases>['fresh']>;
