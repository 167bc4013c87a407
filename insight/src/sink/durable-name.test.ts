import { describe, expect, it } from 'vitest';
import { durableGeneration } from './intake.ts';

describe("the sink durable's generation in its name (#19)", () => {
  it('reads the configured name as 0 and <name>-<n> as n', () => {
    expect(durableGeneration('insight-sink', 'insight-sink')).toBe(0);
    expect(durableGeneration('insight-sink', 'insight-sink-1')).toBe(1);
    expect(durableGeneration('insight-sink', 'insight-sink-42')).toBe(42);
  });

  it("takes no other consumer's name for one of its generations", () => {
    // Other tests' and services' durables on the same stream.
    for (const other of [
      'insight-sink-it',
      'insight-sink-crash',
      'insight-sink-0',
      'insight-sink-01',
      'insight-sink-',
      'insight-sinks-1',
      'alerting-3',
    ])
      expect(durableGeneration('insight-sink', other)).toBeUndefined();
  });
});
