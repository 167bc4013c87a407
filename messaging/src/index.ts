export * from './contract.ts';
export * from './streams.ts';
export { messagingNames, type MessagingNames } from './names.ts';
export {
  countSms,
  segmentText,
  refuseText,
  TextRefusal,
  type SmsCount,
  type SmsEncoding,
  type TextRefusalCode,
} from './text/segment-text.ts';
export { composeText, countAlert, countMessage, splitTasks, TASK_CHARS, type MessageCheck, type MessageCount } from './text/compose.ts';
export { routeNumber, normalizeMsisdn, MAINLAND_MOBILE, type Route, type RouteRefusalCode } from './routing/number-routing.ts';
export { NUMBER_PREFIXES } from '@geo/infra/basics';
export { chargeFor, checkBalance, type Balances, type BalanceCheck, type Charge, type SendToCharge } from './billing/charge.ts';
export { replyReason, type ReplyReason } from './replies/reply-reason.ts';
export {
  ExtensionRegistry,
  ExtensionError,
  EXTENSIONS_BUCKET,
  MAX_EXTENSIONS_PER_ENTERPRISE,
  type ExtensionEntry,
  type AllocateRequest,
} from './replies/extension-numbers.ts';
export { sendLogMigrations, type SendLogRow } from './send-log/schema.ts';
export type { SmscBehaviour, SmscStats, ReceivedMessage as SmscReceivedMessage } from './smsc-sim/simulated-smsc.ts';
export { encodeJobBatch } from './jobs/job-batch-codec.ts';
export { parseCheckInAnswer, normalizeAnswer, type CheckInOption } from './replies/checkin-answer.ts';
