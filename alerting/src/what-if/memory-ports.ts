import { CARRIERS, type Carrier } from '@geo/ingest';
import type { BudgetScope } from '../engine/budget.ts';
import type { ClaimChunk } from '../engine/claims.ts';
import type { EnginePorts } from '../engine/ports.ts';
import type { CityLocator } from '../geofence/city-locator.ts';
import { grant } from '../rules/evaluate.ts';

/** One person a replay would have sent: when, on which carrier, and the serving cell they were in. */
export interface ReplaySend {
  at: number;
  msisdn: string;
  carrier: Carrier;
  cell: string;
  lng: number;
  lat: number;
}

/**
 * The engine's ports with nothing on a wire (a what-if replay, #21): budgets are counters in
 * memory decided by the same pure `grant` that `KvBudget.reserve` applies (daily cap, then the
 * task's total; the account's balance is the portal's ledger, as live), claims always win and are
 * kept as the replay's record of who was sent, where and when, and jobs go nowhere. Time is the
 * replay's clock.
 */
export function memoryPorts(now: () => number, cityOf?: CityLocator): { ports: EnginePorts; sends: ReplaySend[] } {
  const used = new Map<string, number>();
  const get = (k: string) => used.get(k) ?? 0;
  const keys = (s: BudgetScope) => ({ daily: `${s.taskId}.${s.carrier}.${s.day}`, total: `${s.taskId}.${s.carrier}.total` });
  const sends: ReplaySend[] = [];
  const ports: EnginePorts = {
    budget: {
      async reserve(s, want) {
        const k = keys(s);
        const g = grant(want, s.quota, { dailyUsed: get(k.daily), totalUsed: get(k.total), balance: Number.MAX_SAFE_INTEGER });
        used.set(k.daily, get(k.daily) + g.granted);
        used.set(k.total, get(k.total) + g.granted);
        return g;
      },
      async release(s, n) {
        if (n <= 0) return;
        const k = keys(s);
        used.set(k.daily, get(k.daily) - n);
        used.set(k.total, get(k.total) - n);
      },
      async peek(s) {
        const k = keys(s);
        return { dailyUsed: get(k.daily), totalUsed: get(k.total), balance: Number.MAX_SAFE_INTEGER };
      },
    },
    claims: {
      async append(_subject, chunk: ClaimChunk) {
        const places = chunk.places;
        for (let k = 0; k < chunk.msisdns.length; k++) {
          const p = chunk.place?.[k] ?? -1;
          sends.push({
            at: chunk.at,
            msisdn: chunk.msisdns[k]!,
            carrier: CARRIERS[Number(chunk.carriers[k])]!,
            cell: places && p >= 0 ? places.ids[p]! : '',
            lng: places && p >= 0 ? places.lng[p]! : NaN,
            lat: places && p >= 0 ? places.lat[p]! : NaN,
          });
        }
        return { ok: true, others: [] };
      },
      // eslint-disable-next-line require-yield -- nothing was claimed before the replay began
      list: async function* () {
        return;
      },
    },
    publish: async () => undefined,
    now,
    instance: 'what-if',
    cityOf,
  };
  return { ports, sends };
}
