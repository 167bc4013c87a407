import { z } from 'zod';

/** The three mainland carriers, in the order every screen and table shows them. */
export const CARRIERS = ['cmcc', 'cucc', 'ctcc'] as const;
export const Carrier = z.enum(CARRIERS);
export type Carrier = z.infer<typeof Carrier>;

/** A value per carrier, e.g. `perCarrier(() => 0)` → `{ cmcc: 0, cucc: 0, ctcc: 0 }`. */
export function perCarrier<T>(make: (carrier: Carrier) => T): Record<Carrier, T> {
  return { cmcc: make('cmcc'), cucc: make('cucc'), ctcc: make('ctcc') };
}
