/**
 * The lease holder's history upkeep: retention, merging closed days, and filling the pair atoms of
 * settled hours. Runs on every instance's timers but acts only while this instance's replica is the
 * holder (`current()`), so a standby that takes over starts doing it at the next tick.
 */
import { connectClickHouse, type Logger } from '@geo/infra';
import { compactClosedDays, dropOldPartitions } from './schema/retention.ts';
import type { Replica } from './replica.ts';
import type { InsightConfig } from './config.ts';

export interface Upkeep {
  /**
   * Runs the holder's fill step of pair atoms now (it runs every minute anyway) and has this
   * replica's queries read the fill records again; resolves to the hours filled (none on a standby).
   */
  fillPairs(): Promise<number[]>;
  /** No more runs (the service is stopping). */
  stop(): void;
  /** Closes upkeep's ClickHouse client (after stop). */
  close(): Promise<void>;
}

export function startUpkeep(cfg: InsightConfig, log: Logger, current: () => Replica | undefined): Upkeep {
  // Hourly: drop days past retention, then merge each closed day into one part (a region's first
  // query costs per part read). Also once shortly after start. Its own client: a day's merge
  // (`OPTIMIZE … FINAL`, ~1.5 s per table at 1M subscribers) grows with the day and must not end at
  // the queries' 60 s request timeout (the merge would go on, the rest of the days would wait an hour).
  const upkeepCh = connectClickHouse(cfg.CLICKHOUSE_URL, 'default', { requestTimeoutMs: 30 * 60_000 });
  const upkeep = async () => {
    if (current()?.role !== 'holder') return;
    const dropped = await dropOldPartitions(upkeepCh, cfg.INSIGHT_RETENTION_DAYS);
    if (dropped.length) log.info({ dropped }, 'dropped old partitions');
    const merged = await compactClosedDays(upkeepCh);
    if (merged.length) log.info({ merged }, 'merged closed days into one part each');
  };
  const runUpkeep = () => void upkeep().catch((err: unknown) => log.error({ err }, 'history upkeep failed'));
  const retention = setInterval(runUpkeep, 3600_000);
  // The holder fills the pair atoms of each hour once it has settled, and again when late moves
  // touched it (PairFiller), checking every minute; the window is the retention's.
  const fillPairs = async (): Promise<number[]> => {
    const holder = current();
    if (holder?.role !== 'holder' || holder.stopped || !holder.pairs || holder.state.watermark === 0) return [];
    const settledAt = holder.state.watermark;
    const from = settledAt - cfg.INSIGHT_RETENTION_DAYS * 86_400_000;
    const filled = await holder.pairs.run(settledAt, from);
    if (filled.length) await holder.pairHours.refresh(from);
    return filled;
  };
  const pairFill = setInterval(() => void fillPairs().catch((err: unknown) => log.error({ err }, 'filling pair atoms failed')), 60_000);
  pairFill.unref();
  const firstUpkeep = setTimeout(runUpkeep, 60_000);
  firstUpkeep.unref();
  retention.unref();
  return {
    fillPairs,
    stop() {
      clearInterval(retention);
      clearInterval(pairFill);
      clearTimeout(firstUpkeep);
    },
    close: () => upkeepCh.close(),
  };
}
