/**
 * Our SMPP client against an SMSC that shares no code with it: CPAN's Net::SMPP (Perl, Debian's
 * libnet-smpp-perl) running `net-smpp-smsc.pl`. That SMSC decodes every submit_sm with its own PDU
 * parser, reassembles concatenated messages from the UDH itself and decodes their text with Perl's
 * own codecs (GSM 03.38, UTF-16BE), and sends receipts and a mobile-originated message in the SMPP
 * 3.4 formats. When our client and our own simulator share a mistake (a wrong UDH, the wrong
 * data_coding, a receipt format only our simulator writes), this test sees it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, until } from '@geo/infra/testing';
import { composeText, segmentText } from '@geo/messaging';
import { SmppConnector } from '../../../messaging/src/smpp/smpp-connector.ts';
import type { CarrierReceipt, CarrierReply } from '../../../messaging/src/smpp/connector.ts';

const SCRIPT = fileURLToPath(new URL('./net-smpp-smsc.pl', import.meta.url));
const HAVE_PERL_SMPP = existsSync('/usr/share/perl5/Net/SMPP.pm');

interface PeerLine {
  event: 'listening' | 'connected' | 'pdu' | 'message' | 'closed';
  command?: string;
  [k: string]: unknown;
}

let peer: ChildProcess;
let conn: SmppConnector;
const lines: PeerLine[] = [];
const receipts: CarrierReceipt[] = [];
const replies: CarrierReply[] = [];

beforeAll(async () => {
  if (!HAVE_PERL_SMPP) throw new Error('Net::SMPP is not installed: apt-get install libnet-smpp-perl (npm test installs it)');
  const port = await freePort();
  peer = spawn('perl', [SCRIPT, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  // Net::SMPP warns on stderr about TLVs it has no name for; keep it for a failure's message.
  let stderr = '';
  peer.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: peer.stdout! }).on('line', (l) => lines.push(JSON.parse(l) as PeerLine));
  await until('the Perl SMSC listens', () => lines.some((l) => l.event === 'listening') || peer.exitCode !== null, 20_000);
  if (peer.exitCode !== null) throw new Error(`the Perl SMSC exited: ${stderr}`);
  conn = new SmppConnector({
    carrier: 'cmcc',
    host: '127.0.0.1',
    port,
    systemId: 'geoalert',
    password: 'secret12',
    accessNumber: '106571',
    binds: 1,
    reconnectMinMs: 100,
    reconnectMaxMs: 1000,
  });
  conn.onReceipt(async (r) => {
    receipts.push(r);
    return true;
  });
  conn.onReply(async (r) => {
    replies.push(r);
    return true;
  });
  await conn.ready(20_000);
}, 60_000);

afterAll(async () => {
  await conn?.close();
  peer?.stdin?.end();
  if (peer && peer.exitCode === null) {
    const exited = new Promise((r) => peer.once('exit', r));
    setTimeout(() => peer.kill('SIGKILL'), 5000).unref();
    await exited;
  }
});

const pdus = (command: string) => lines.filter((l) => l.event === 'pdu' && l.command === command);
const messagesTo = (msisdn: string) => lines.filter((l) => l.event === 'message' && l.destination_addr === msisdn);

const TEXTS: [string, string][] = [
  ['13800000001', 'Plain GSM text with {braces}, [brackets] and €uro'],
  ['13800000002', 'Long GSM text '.repeat(20).trim()],
  ['13800000003', composeText('气象台', '台风“海葵”将于今夜登陆，请注意防范。')],
  ['13800000004', composeText('应急', '请立即撤离至安全地带，'.repeat(18))],
  ['13800000005', 'Emoji 😀 and 中文 beside ASCII ' + '字'.repeat(70) + '🎉'],
];

describe('our SMPP client against an independent SMSC (Net::SMPP)', () => {
  it('binds as a transceiver with its system id and password', async () => {
    // The peer answers the bind before it prints the bind's line, so our bind can be up a moment
    // before the line is read (CI at load saw the list still empty).
    await until('the peer logged the bind', () => pdus('bind_transceiver').length > 0, 10_000);
    const bind = pdus('bind_transceiver')[0];
    expect(bind).toMatchObject({ system_id: 'geoalert', password: 'secret12', interface_version: 0x34 });
  });

  it('delivers every text whole: the peer reassembles our UDH and decodes our data_coding to the same text, part count as we bill', async () => {
    const outcomes = await Promise.all(
      TEXTS.map(([msisdn, text], i) => conn.submit({ ref: `peer-${i}`, msisdn, source: '1065710042', encoded: segmentText(text, i + 1) })),
    );
    for (const [i, o] of outcomes.entries()) expect(o, TEXTS[i]![1]).toMatchObject({ ok: true });
    await until('every message reassembled by the peer', () => TEXTS.every(([m]) => messagesTo(m).length === 1), 20_000);
    for (const [i, [msisdn, text]] of TEXTS.entries()) {
      const whole = messagesTo(msisdn)[0]!;
      expect(whole.text, msisdn).toBe(text);
      expect(whole.parts, msisdn).toBe(segmentText(text, 0).parts.length);
      expect(whole.source_addr).toBe('1065710042');
      const submits = pdus('submit_sm').filter((p) => p.destination_addr === msisdn);
      expect(submits.length).toBe(whole.parts);
      for (const s of submits) {
        // data_coding 0 (SMSC default / GSM 03.38) for GSM texts, 8 (UCS-2) for the rest; a receipt asked for.
        expect(s.data_coding).toBe(/^[\x20-\x7e€{}[\]]*$/.test(text) ? 0 : 8);
        expect((s.registered_delivery as number) & 1).toBe(1);
        // The UDH flag is set exactly on parts of a concatenated message.
        expect(((s.esm_class as number) & 0x40) !== 0).toBe((whole.parts as number) > 1);
      }
      // The message ids the peer gave are the ids our submit reported, each for its part (the peer's
      // own reading of the UDH's sequence number).
      const byPart = [...submits].sort((a, b) => ((a.concat as { seq: number })?.seq ?? 1) - ((b.concat as { seq: number })?.seq ?? 1));
      expect(outcomes[i]!.messageIds).toEqual(byPart.map((s) => s.message_id));
    }
  });

  it('matches the peer’s SMPP 3.4 delivery receipts (appendix B text, receipted_message_id) to every part it sent', async () => {
    const ids = pdus('submit_sm').map((s) => s.message_id as string);
    await until('a receipt for every part', () => ids.every((id) => receipts.some((r) => r.messageId === id)), 20_000);
    for (const id of ids) {
      const r = receipts.filter((x) => x.messageId === id);
      expect(r, id).toHaveLength(1);
      expect(r[0]).toMatchObject({ state: 'delivered', stat: 'DELIVRD', carrier: 'cmcc' });
    }
    await until('deliver_sm_resp for every receipt', () => pdus('deliver_sm_resp').length >= ids.length, 10_000);
  });

  it('takes a mobile-originated reply in UCS-2 from the peer as a reply to the extension', async () => {
    const text = '收到，我在安全地带 1';
    const hex = Buffer.from(text, 'utf16le').swap16().toString('hex');
    peer.stdin!.write(`mo 13800000009 1065710042 ${hex} 8\n`);
    await until('the reply', () => replies.length === 1, 20_000);
    expect(replies[0]).toMatchObject({ from: '13800000009', to: '1065710042', text, carrier: 'cmcc' });
  });
});
