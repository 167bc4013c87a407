import type { ShardConsumerState } from './shard-consumer.ts';

/**
 * Time a consumer's (re)start may take beyond its back-off: `consumers.get`, its info and the first
 * pull are JetStream requests with a 15 s timeout each on a busy box.
 */
export const START_ALLOWANCE_MS = 30_000;
/** Time a take-over may take beyond its back-off: the replay of the shard's people from LOCATION. */
export const TAKEOVER_ALLOWANCE_MS = 120_000;

/**
 * The `shards` health check (#19): not ok while a shard held here has not been consuming for longer
 * than its back-off (a restart's, or a failed take-over's) plus the time its start may take. A shard
 * that is held and consumed by nobody is a stall nobody else notices: its lease is renewed, so no
 * other instance takes it over, and its people are evaluated by nobody.
 */
export function shardsHealth(states: readonly ShardConsumerState[]): { ok: boolean; detail: string } {
  const stuck: string[] = [];
  let consuming = 0;
  for (const s of states) {
    if (s.consuming) {
      consuming++;
      continue;
    }
    if (s.idleMs === undefined) continue;
    const allowed = s.backoffMs + (s.takingOver ? TAKEOVER_ALLOWANCE_MS : START_ALLOWANCE_MS);
    if (s.idleMs > allowed)
      stuck.push(
        `shard ${s.shard} ${s.takingOver ? 'taken over' : 'not consuming'} for ${Math.round(s.idleMs / 1000)} s (restarts ${s.restarts})`,
      );
  }
  const held = `${consuming} of ${states.length} shards consuming`;
  return stuck.length ? { ok: false, detail: `${held}; ${stuck.join(', ')}` } : { ok: true, detail: held };
}
