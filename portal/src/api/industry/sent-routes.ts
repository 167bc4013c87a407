/** @deprecated moved to `sent/`; import from the front door `api/industry/index.ts` (kept for ledger/reservations.test.ts until it does). */
export { sendStatus, type SendStatus } from './sent/queries.ts';
