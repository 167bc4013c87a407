/**
 * One carrier's simulated SMPP SMSC in its own process, for `vs-kannel.ts`: every submit accepted at
 * once with its receipt at once (SMSC_LATENCY_MS / SMSC_RECEIPT_DELAY_MS 0), no replies. Its parent
 * asks for its counts over IPC ('stats'); it answers `ready` once listening.
 *
 *   CARRIER=cmcc SMSC_PORT=2775 node --import tsx messaging/bench/one-smsc.ts   (spawned with an IPC channel)
 */
import { startSimulatedSmsc } from '../src/smsc-sim/smsc.ts';
import type { SmsCarrier } from '../src/contract.ts';

const smsc = await startSimulatedSmsc({
  carrier: (process.env.CARRIER ?? 'cmcc') as SmsCarrier,
  port: Number(process.env.SMSC_PORT ?? 2775),
  host: '127.0.0.1',
  keep: 1000,
  behaviour: { latencyMs: 0, receiptDelayMs: 0, successRate: 1, rejectRate: 0, moRate: 0 },
});
process.on('message', (m) => {
  if (m === 'stats') process.send!({ stats: smsc.stats() });
});
process.on('disconnect', () => void smsc.close().then(() => process.exit(0)));
process.on('SIGTERM', () => void smsc.close().then(() => process.exit(0)));
process.send!('ready');
