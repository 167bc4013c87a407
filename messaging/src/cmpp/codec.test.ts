import { describe, expect, it } from 'vitest';
import {
  CMPP_VERSION_20,
  CMPP_VERSION_30,
  CmppDecodeError,
  authenticatorIsmg,
  authenticatorSource,
  cmppTimestamp,
  decodeCmpp,
  decodeReport,
  encodeCmpp,
  encodeReport,
  makeMsgId,
  type CmppPdu,
} from './codec.ts';
import { FrameReader } from './framing.ts';

/**
 * Test vectors: PDUs as published with an independent CMPP implementation's tests
 * (github.com/hujm2023/go-sms-protocol, cmpp/cmpp30 and cmpp/cmpp20), written out here as bytes so
 * that our client and our simulated gateway cannot agree on a shared mistake.
 */
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const bytes = (a: number[]) => Buffer.from(a);

// CMPP 3.0 CONNECT: Source_Addr 900001, secret 888888, Timestamp 1021080510 (10-21 08:05:10), sequence 0x17.
const CONNECT_30 = hex(`00000027 00000001 00000017 393030303031 90d00c1d517abd0b4f65f6bcf8535d16 30 3cdc73be`);
// CMPP 3.0 CONNECT_RESP: Status 0 (4 bytes), AuthenticatorISMG = MD5(status + AuthenticatorSource above + 888888).
const CONNECT_RESP_30 = hex(`00000021 80000001 00000017 00000000 79429772 74098cf2 10ab0c16 c367bc8d 30`);
// CMPP 3.0 SUBMIT: one number, "go submit", Msg_Fmt 8 as published, sequence 0x17 (204 bytes).
const SUBMIT_30 = bytes([
  0, 0, 0, 204, 0, 0, 0, 4, 0, 0, 0, 23, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 116, 101, 115, 116, 0, 0, 0, 0, 0, 0, 2, 49, 51, 53, 48, 48,
  48, 48, 50, 54, 57, 54, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 57, 48, 48, 48, 48, 49, 48, 50, 49, 48,
  0, 0, 0, 0, 49, 53, 49, 49, 48, 53, 49, 51, 49, 53, 53, 53, 49, 48, 49, 43, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 57, 48,
  48, 48, 48, 49, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 49, 51, 53, 48, 48, 48, 48, 50, 54, 57, 54, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 103, 111, 32, 115, 117, 98, 109, 105, 116, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0,
]);
const SUBMIT_RESP_30 = hex(`00000018 80000004 00000017 b2b9da8000010000 00000000`);
// CMPP 3.0 DELIVER, an MO "This is a test MO." from 13412340000 to 900001 (127 bytes).
const DELIVER_MO_30 = hex(`0000007f 00000005 00000001 b4c5530000010000
  393030303031 ${'00'.repeat(15)} ${'00'.repeat(10)} 00 00 00
  3133343132333430303030 ${'00'.repeat(21)} 00 00 12 546869732069732061207465737420 4d4f2e ${'00'.repeat(20)}`);
const DELIVER_RESP_30 = hex(`00000018 80000005 00000001 b4c5530000010000 00000000`);
// CMPP 2.0 CONNECT (version byte 0x21 as published) and SUBMIT (Msg_Fmt 0, 176 bytes).
const CONNECT_20 = hex(`00000027 00000001 00000017 393030303031 90d00c1d517abd0b4f65f6bcf8535d16 21 3cdc73be`);
const SUBMIT_20 = hex(
  `000000b000000004000000170000000000000000010101017465737400000000 0000023133353030303032363936000000000000000000000000003930303030 3130323130000000003135313130353133313535353130312b00000000000000 0000000000000000000000393030303031000000000000000000000000000000 0131333530303030323639360000000000000000000011676f207375626d6974 20636f6e74656e740000000000000000`,
);
const CONNECT_RESP_20 = bytes([0, 0, 0, 30, 128, 0, 0, 1, 0, 0, 0, 38, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

const submitFields = (over: Partial<Extract<CmppPdu, { command: 'submit' }>> = {}): CmppPdu => ({
  command: 'submit',
  seq: 0x17,
  msgId: 0n,
  pkTotal: 1,
  pkNumber: 1,
  registeredDelivery: 1,
  msgLevel: 1,
  serviceId: 'test',
  feeUserType: 2,
  feeTerminalId: '13500002696',
  feeTerminalType: 0,
  tpPid: 0,
  tpUdhi: 0,
  msgFmt: 8,
  msgSrc: '900001',
  feeType: '02',
  feeCode: '10',
  validTime: '151105131555101+',
  atTime: '',
  srcId: '900001',
  destTerminalIds: ['13500002696'],
  destTerminalType: 0,
  content: Buffer.from('go submit'),
  linkId: '',
  ...over,
});

describe('CMPP authenticators (published values)', () => {
  it('AuthenticatorSource = MD5(Source_Addr + 9 zero bytes + secret + MMDDHHMMSS)', () => {
    expect(authenticatorSource('900001', '888888', 1021080510).toString('hex')).toBe('90d00c1d517abd0b4f65f6bcf8535d16');
  });
  it('AuthenticatorISMG = MD5(Status + AuthenticatorSource + secret), Status 4 bytes in 3.0', () => {
    const src = hex('90d00c1d517abd0b4f65f6bcf8535d16');
    expect(authenticatorIsmg(0, src, '888888', CMPP_VERSION_30).toString('hex')).toBe('7942977274098cf210ab0c16c367bc8d');
  });
  it('keeps the leading zero of a January timestamp in the digest', () => {
    // 0105090807 is 105090807 as an integer: the digest covers the 10 digits "0105090807".
    const a = authenticatorSource('900001', 'secret', 105090807);
    const b = authenticatorSource('900001', 'secret', 1105090807);
    expect(a.equals(b)).toBe(false);
    expect(cmppTimestamp(new Date('2026-01-05T01:08:07Z'))).toBe(105090807); // 09:08:07 in Beijing
  });
});

describe('CMPP 3.0 PDUs against published bytes', () => {
  const table: [string, Buffer, CmppPdu][] = [
    [
      'CONNECT',
      CONNECT_30,
      {
        command: 'connect',
        seq: 0x17,
        sourceAddr: '900001',
        authenticator: hex('90d00c1d517abd0b4f65f6bcf8535d16'),
        version: 0x30,
        timestamp: 1021080510,
      },
    ],
    [
      'CONNECT_RESP',
      CONNECT_RESP_30,
      { command: 'connect_resp', seq: 0x17, status: 0, authenticator: hex('7942977274098cf210ab0c16c367bc8d'), version: 0x30 },
    ],
    ['SUBMIT', SUBMIT_30, submitFields()],
    ['SUBMIT_RESP', SUBMIT_RESP_30, { command: 'submit_resp', seq: 0x17, msgId: 12878564852733378560n, result: 0 }],
    [
      'DELIVER (MO)',
      DELIVER_MO_30,
      {
        command: 'deliver',
        seq: 1,
        msgId: 13025908756704198656n,
        destId: '900001',
        serviceId: '',
        tpPid: 0,
        tpUdhi: 0,
        msgFmt: 0,
        srcTerminalId: '13412340000',
        srcTerminalType: 0,
        registeredDelivery: 0,
        content: Buffer.from('This is a test MO.'),
        linkId: '',
      },
    ],
    ['DELIVER_RESP', DELIVER_RESP_30, { command: 'deliver_resp', seq: 1, msgId: 13025908756704198656n, result: 0 }],
  ];
  it.each(table)('%s decodes to its fields and encodes to the same bytes', (_name, wire, fields) => {
    expect(decodeCmpp(wire, CMPP_VERSION_30)).toEqual(fields);
    expect(encodeCmpp(fields, CMPP_VERSION_30).toString('hex')).toBe(wire.toString('hex'));
  });

  it('ACTIVE_TEST is a bare header; its response carries one reserved byte; TERMINATE both bare', () => {
    expect(encodeCmpp({ command: 'active_test', seq: 5 }).toString('hex')).toBe('0000000c0000000800000005');
    expect(encodeCmpp({ command: 'active_test_resp', seq: 5 }).toString('hex')).toBe('0000000d800000080000000500');
    expect(encodeCmpp({ command: 'terminate', seq: 6 }).toString('hex')).toBe('0000000c0000000200000006');
    expect(encodeCmpp({ command: 'terminate_resp', seq: 6 }).toString('hex')).toBe('0000000c8000000200000006');
    expect(decodeCmpp(hex('0000000c8000000800000005'))).toEqual({ command: 'active_test_resp', seq: 5 });
  });
});

describe('CMPP 2.0 PDUs against published bytes', () => {
  it('CONNECT has the same layout as 3.0', () => {
    expect(decodeCmpp(CONNECT_20, CMPP_VERSION_20)).toMatchObject({ sourceAddr: '900001', version: 0x21, timestamp: 1021080510 });
    expect(encodeCmpp(decodeCmpp(CONNECT_20, CMPP_VERSION_20), CMPP_VERSION_20).equals(CONNECT_20)).toBe(true);
  });
  it('CONNECT_RESP has a 1-byte Status', () => {
    expect(decodeCmpp(CONNECT_RESP_20, CMPP_VERSION_20)).toEqual({
      command: 'connect_resp',
      seq: 38,
      status: 0,
      authenticator: Buffer.alloc(16),
      version: 0,
    });
  });
  it('SUBMIT has 21-byte terminal ids, no terminal types and an 8-byte Reserve', () => {
    const s = decodeCmpp(SUBMIT_20, CMPP_VERSION_20);
    expect(s).toEqual(submitFields({ msgFmt: 0, content: Buffer.from('go submit content') }));
    expect(encodeCmpp(s, CMPP_VERSION_20).equals(SUBMIT_20)).toBe(true);
  });
  it('SUBMIT_RESP and DELIVER_RESP have a 1-byte Result', () => {
    const w = encodeCmpp({ command: 'submit_resp', seq: 3, msgId: 42n, result: 8 }, CMPP_VERSION_20);
    expect(w.toString('hex')).toBe('000000158000000400000003000000000000002a08');
    expect(decodeCmpp(w, CMPP_VERSION_20)).toEqual({ command: 'submit_resp', seq: 3, msgId: 42n, result: 8 });
  });
});

describe('CMPP status report content', () => {
  const report = {
    msgId: 12878564852733378560n,
    stat: 'DELIVRD',
    submitTime: '2610211005',
    doneTime: '2610211006',
    destTerminalId: '13500002696',
    smscSequence: 7,
  };
  it.each([
    [CMPP_VERSION_30, 71],
    [CMPP_VERSION_20, 60],
  ])('version byte %i: Msg_Id, Stat, times, number, SMSC_sequence in %i bytes', (v, len) => {
    const b = encodeReport(report, v);
    expect(b.length).toBe(len);
    expect(b.subarray(0, 8).toString('hex')).toBe('b2b9da8000010000');
    expect(b.subarray(8, 15).toString('latin1')).toBe('DELIVRD');
    expect(decodeReport(b, v)).toEqual(report);
  });
  it('refuses a report of the wrong length', () => {
    expect(() => decodeReport(Buffer.alloc(50))).toThrow(CmppDecodeError);
  });
});

describe('CMPP framing and refusals', () => {
  it('splits a stream cut anywhere into whole PDUs', () => {
    const stream = Buffer.concat([SUBMIT_RESP_30, DELIVER_MO_30, SUBMIT_RESP_30]);
    for (let cut = 1; cut < stream.length; cut += 7) {
      const r = new FrameReader();
      const frames = [...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))];
      expect(frames.map((f) => f.length)).toEqual([24, 127, 24]);
    }
  });
  it('refuses a Total_Length it cannot resynchronise from', () => {
    expect(() => new FrameReader().push(hex('00000004 00000001'))).toThrow(CmppDecodeError);
    expect(() => new FrameReader().push(hex('7fffffff 00000001'))).toThrow(CmppDecodeError);
  });
  it('refuses an unknown command, a short body and bytes left over', () => {
    expect(() => decodeCmpp(hex('0000000c 00000099 00000001'))).toThrow(/not supported/);
    expect(() => decodeCmpp(Buffer.from(SUBMIT_RESP_30.subarray(0, 20)).fill(0x14, 3, 4))).toThrow(CmppDecodeError);
    const extra = Buffer.concat([SUBMIT_RESP_30, Buffer.from([0])]);
    extra.writeUInt32BE(extra.length, 0);
    expect(() => decodeCmpp(extra)).toThrow(/left over/);
  });
  it('refuses to encode a field wider than its Octet String instead of cutting it', () => {
    expect(() => encodeCmpp(submitFields({ srcId: '1'.repeat(22) }))).toThrow(/Src_Id/);
  });
  it('makes gateway Msg_Ids from time, gateway code and sequence (published example)', () => {
    // 08-30 10:56:00, gateway 300, sequence 32768 (given in Beijing time).
    const id = makeMsgId(new Date('2026-08-30T02:56:00Z'), 300, 32768);
    expect(Number(id >> 60n)).toBe(8);
    expect(Number((id >> 55n) & 0x1fn)).toBe(30);
    expect(Number((id >> 50n) & 0x1fn)).toBe(10);
    expect(Number((id >> 44n) & 0x3fn)).toBe(56);
    expect(Number((id >> 16n) & 0x3fffffn)).toBe(300);
    expect(Number(id & 0xffffn)).toBe(32768);
  });
});

describe('CMPP decoding of arbitrary bytes', () => {
  it('refuses every malformed frame with CmppDecodeError, never another error (a gateway cannot crash the link reader)', () => {
    // Deterministic pseudo-random frames: valid headers of each command with bodies of random length and content.
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const commands = [0x1, 0x80000001, 0x2, 0x80000002, 0x4, 0x80000004, 0x5, 0x80000005, 0x8, 0x80000008, 0x7];
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const body = Buffer.from(Array.from({ length: Math.floor(rnd() * 260) }, () => Math.floor(rnd() * 256)));
      const frame = Buffer.concat([Buffer.alloc(12), body]);
      frame.writeUInt32BE(frame.length, 0);
      frame.writeUInt32BE(commands[i % commands.length]!, 4);
      for (const v of [CMPP_VERSION_30, CMPP_VERSION_20]) {
        try {
          decodeCmpp(frame, v);
        } catch (err) {
          expect(err).toBeInstanceOf(CmppDecodeError);
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(0);
  });
});
