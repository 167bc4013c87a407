export * from './contract.ts';
export * from './streams.ts';
export { countSms, segmentText, refuseText, TextRefusal, type SmsCount, type SmsEncoding, type TextRefusalCode } from './text/segment-text.ts';
export { composeText, countMessage, splitTasks, TASK_CHARS, type MessageCheck, type MessageCount } from './text/compose.ts';
export { routeNumber, normalizeMsisdn, MAINLAND_MOBILE, type Route, type RouteRefusalCode } from './routing/number-routing.ts';
export { NUMBER_PREFIXES } from './routing/number-prefixes.ts';
export { chargeFor, checkBalance, type Balances, type BalanceCheck, type Charge, type SendToCharge } from './billing/charge.ts';
