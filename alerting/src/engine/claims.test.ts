import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CARRIERS } from '@geo/ingest';
import { CLAIM_PARTS, chunkPeople, claimChunk, claimPart, claimSubject } from './claims.ts';

describe('claim chunks', () => {
  it('carry each person with their carrier, one digit per person, and give them back unchanged', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ msisdn: fc.stringMatching(/^1[3-9]\d{9}$/), carrier: fc.constantFrom(...CARRIERS) }), { maxLength: 200 }),
        (people) => {
          const c = claimChunk('id-1', 'inst', 123, people);
          expect(c.carriers).toHaveLength(people.length);
          expect([...chunkPeople(JSON.parse(JSON.stringify(c)))]).toEqual(people);
        },
      ),
    );
  });

  it('put one number always in the same part, whatever else is claimed', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^1[3-9]\d{9}$/), (m) => {
        const p = claimPart(m);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(CLAIM_PARTS);
        expect(claimPart(m)).toBe(p);
      }),
    );
  });

  it('are logged per task, per day for daily tasks, and per part', () => {
    expect(claimSubject('t-1', undefined, 3)).toBe('alert.claims.t-1.once.3');
    expect(claimSubject('t-1', '20261125', 0)).toBe('alert.claims.t-1.20261125.0');
  });
});
