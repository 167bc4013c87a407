/**
 * CPU per PDU of the two PDUs messaging writes per SMS over SMPP, node-smpp's generic PDU against
 * `smpp/submit-codec.ts` (the same bytes, checked first): a one-part UCS-2 alert submit_sm and the
 * deliver_sm_resp to its receipt. Process CPU time (user + system), so a loaded machine slows it
 * less than it slows wall time; alternating rounds, the median reported.
 *
 *   npx tsx messaging/bench/smpp-encode.ts      (BENCH_PDUS per round, default 200,000)
 */
import smpp, { type Pdu } from 'smpp';
import { loadavg } from 'node:os';
import '../src/smpp/protocol.ts';
import { encodeDeliverSmResp, encodeSubmitSm } from '../src/smpp/submit-codec.ts';
import { segmentText } from '../src/text/segment-text.ts';

const N = Number(process.env.BENCH_PDUS ?? 200_000);
const encoded = segmentText('【市应急管理局】台风红色预警：请立即停止户外活动，远离危险区域。', 1);
const part = encoded.parts[0]!;
const deliver: Pdu = new (smpp.PDU as unknown as new (b: Buffer) => Pdu)(
  new smpp.PDU('deliver_sm', {
    sequence_number: 9,
    source_addr: '13800000000',
    esm_class: 4,
    short_message: Buffer.from('id:1 stat:DELIVRD'),
  }).toBuffer(),
);

function nodeSmpp(i: number): number {
  const pdu = new smpp.PDU('submit_sm', {
    sequence_number: i + 1,
    source_addr_ton: 0,
    source_addr_npi: 0,
    source_addr: '106571',
    dest_addr_ton: 2,
    dest_addr_npi: 1,
    destination_addr: '13800000000',
    esm_class: 0,
    registered_delivery: 1,
    data_coding: encoded.dataCoding,
    short_message: part,
  });
  return pdu.toBuffer().length + deliver.response().toBuffer().length;
}

function ours(i: number): number {
  const b = encodeSubmitSm({
    sequence: i + 1,
    source: '106571',
    destination: '13800000000',
    esmClass: 0,
    dataCoding: encoded.dataCoding,
    shortMessage: part,
  });
  return b.length + encodeDeliverSmResp(9, 0).length;
}

if (nodeSmpp(0) !== ours(0)) throw new Error('the two encoders disagree on the length');

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
function round(f: (i: number) => number): number {
  const t = cpuUs();
  let bytes = 0;
  for (let i = 0; i < N; i++) bytes += f(i);
  if (bytes === 0) throw new Error('nothing encoded');
  return (cpuUs() - t) / N;
}

const results: Record<string, number[]> = { node_smpp: [], ours: [] };
for (let r = 0; r < 5; r++) {
  results.node_smpp!.push(round(nodeSmpp));
  results.ours!.push(round(ours));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
process.stderr.write(`load ${loadavg()[0]!.toFixed(1)}; ${N} per round, 5 rounds each\n`);
for (const [k, xs] of Object.entries(results))
  console.log(JSON.stringify({ bench: 'smpp_encode', metric: `${k}_us_per_sms`, value: Number(median(xs).toFixed(3)), unit: 'µs' }));
