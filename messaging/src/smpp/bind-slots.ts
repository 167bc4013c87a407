import { SmsCarrier } from '../contract.ts';

/** The lease group of the carriers' bind slots (infra LeaseManager). */
export const BIND_LEASE_GROUP = 'messaging-binds';

/**
 * The bind slots of every carrier, as lease shards: `cmcc-0` … `cmcc-<binds-1>`, and the same for
 * cucc and ctcc. A slot is one bind the carrier grants the account and its share of the carrier's
 * rate; the instance holding its lease is the only one that may bind on it.
 *
 * @example bindSlots(2) // ['cmcc-0', 'cmcc-1', 'cucc-0', 'cucc-1', 'ctcc-0', 'ctcc-1']
 */
export function bindSlots(binds: number, carriers: readonly SmsCarrier[] = SmsCarrier.options): string[] {
  return carriers.flatMap((c) => Array.from({ length: binds }, (_, i) => `${c}-${i}`));
}

/** The carrier and slot number of a lease shard made by {@link bindSlots}. */
export function slotOf(shard: string): { carrier: SmsCarrier; slot: number } {
  const [carrier, n] = shard.split('-') as [SmsCarrier, string];
  return { carrier, slot: Number(n) };
}
