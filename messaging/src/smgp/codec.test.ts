import { describe, expect, it } from 'vitest';
import { CmppDecodeError } from '../cmpp/codec.ts';
import {
  authenticatorClient,
  authenticatorServer,
  decodeSmgp,
  decodeSmgpReport,
  encodeSmgp,
  encodeSmgpReport,
  makeSmgpMsgId,
  type SmgpPdu,
} from './codec.ts';

/**
 * Test vectors: SMGP 3.0 PDUs as published with an independent implementation's tests
 * (github.com/hujm2023/go-sms-protocol, smgp/smgp30), written out here as bytes.
 */
const hex = (s: string) => Buffer.from(s, 'hex');
// Login: ClientID testid, secret testauth, TimeStamp 1021080510, LoginMode 0, version 0x30.
const LOGIN = hex('0000002a00000001000000017465737469640000ca0eff036f70aa1116b8e5df1d55cf48003cdc73be30');
const LOGIN_RESP = hex('000000218000000100000001000000004175746853657276657200000000000030');
// Submit (sequence 1234): MT, report wanted, priority 2, ServiceID serviceId, fees 0, MsgFormat 15, 10690001111 → 17600000000.
const SUBMIT = hex(
  '000000a100000002000004d20601027365727669636549640030003000000000003000000000000f00000000000000000000000000000000000000000000000000000000000000000000313036393030303131313100000000000000000000000000000000000000000000000000000000000000013137363030303030303030000000000000000000000e68656c6c6f2074657374206d73670000000000000000',
);
const SUBMIT_RESP = hex('0000001a80000002000004d20102030405060708090100000000');
// Deliver (sequence 123): a report flag, MsgFormat 15, 1069000000 / 17500000000, "hello test msg".
const DELIVER = hex(
  '00000067000000030000007b01020304050607080901010f00000000000000000000000000003130363930303030303000000000000000000000003137353030303030303030000000000000000000000e68656c6c6f2074657374206d73670000000000000000',
);
const DELIVER_RESP = hex('0000001a80000003000004d20101020304050607080900000000');
// A status report's MsgContent: id: + 10 raw MsgID bytes, then the SMPP-style fields.
const REPORT = hex(
  '69643a00006308222132427973207375623a30303120646c7672643a303031207375626d697420646174653a3235303832323231333220646f6e6520646174653a3235303832323231333220737461743a44454c49565244206572723a30303020746578743a0000000000000000000000000000000000000000',
);

describe('SMGP 3.0 against published bytes', () => {
  it('AuthenticatorClient = MD5(ClientID + 7 zero bytes + secret + MMDDHHMMSS)', () => {
    expect(authenticatorClient('testid', 'testauth', 1021080510).toString('hex')).toBe('ca0eff036f70aa1116b8e5df1d55cf48');
  });

  const table: [string, Buffer, SmgpPdu][] = [
    [
      'Login',
      LOGIN,
      {
        command: 'login',
        seq: 1,
        clientId: 'testid',
        authenticator: hex('ca0eff036f70aa1116b8e5df1d55cf48'),
        loginMode: 0,
        timestamp: 1021080510,
        version: 0x30,
      },
    ],
    [
      'Login_Resp',
      LOGIN_RESP,
      {
        command: 'login_resp',
        seq: 1,
        status: 0,
        authenticator: Buffer.concat([Buffer.from('AuthServer'), Buffer.alloc(6)]),
        version: 0x30,
      },
    ],
    [
      'Submit',
      SUBMIT,
      {
        command: 'submit',
        seq: 1234,
        msgType: 6,
        needReport: 1,
        priority: 2,
        serviceId: 'serviceId',
        feeType: '0',
        feeCode: '0',
        fixedFee: '0',
        msgFormat: 15,
        validTime: '',
        atTime: '',
        srcTermId: '10690001111',
        chargeTermId: '',
        destTermIds: ['17600000000'],
        content: Buffer.from('hello test msg'),
        reserve: '',
        tlvs: new Map(),
      },
    ],
    ['Submit_Resp', SUBMIT_RESP, { command: 'submit_resp', seq: 1234, msgId: '01020304050607080901', status: 0 }],
    [
      'Deliver',
      DELIVER,
      {
        command: 'deliver',
        seq: 123,
        msgId: '01020304050607080901',
        isReport: 1,
        msgFormat: 15,
        recvTime: '',
        srcTermId: '1069000000',
        destTermId: '17500000000',
        content: Buffer.from('hello test msg'),
        reserve: '',
        tlvs: new Map(),
      },
    ],
    ['Deliver_Resp', DELIVER_RESP, { command: 'deliver_resp', seq: 1234, msgId: '01010203040506070809', status: 0 }],
  ];
  it.each(table)('%s decodes to its fields and encodes to the same bytes', (_n, wire, fields) => {
    expect(decodeSmgp(wire)).toEqual(fields);
    expect(encodeSmgp(fields).toString('hex')).toBe(wire.toString('hex'));
  });

  it('a status report: id as 10 raw bytes, stat and err; our encoding gives the published bytes', () => {
    expect(decodeSmgpReport(REPORT)).toEqual({ msgId: '00006308222132427973', stat: 'DELIVRD', err: '000' });
    const ours = encodeSmgpReport({
      msgId: '00006308222132427973',
      stat: 'DELIVRD',
      err: '000',
      submitDate: '2508222132',
      doneDate: '2508222132',
    });
    expect(ours.toString('hex')).toBe(REPORT.toString('hex'));
  });

  it('carries TP_udhi, PkTotal and PkNumber as optional parameters after Reserve', () => {
    const fields = {
      ...(table[2]![2] as Extract<SmgpPdu, { command: 'submit' }>),
      tlvs: new Map([
        [0x0002, Buffer.from([1])],
        [0x0009, Buffer.from([2])],
        [0x000a, Buffer.from([1])],
      ]),
    };
    const wire = encodeSmgp(fields);
    expect(wire.length).toBe(SUBMIT.length + 15);
    expect(wire.subarray(SUBMIT.length).toString('hex')).toBe('000200010100090001020' + '00a000101');
    expect(decodeSmgp(wire)).toEqual(fields);
  });

  it('AuthenticatorServer = MD5(Status + AuthenticatorClient + secret); Active_Test and Exit are bare headers', () => {
    expect(authenticatorServer(0, hex('ca0eff036f70aa1116b8e5df1d55cf48'), 'testauth')).toHaveLength(16);
    expect(encodeSmgp({ command: 'active_test', seq: 9 }).toString('hex')).toBe('0000000c0000000400000009');
    expect(encodeSmgp({ command: 'exit_resp', seq: 9 }).toString('hex')).toBe('0000000c8000000600000009');
    expect(decodeSmgp(hex('0000000c8000000400000009'))).toEqual({ command: 'active_test_resp', seq: 9 });
  });

  it('makes BCD MsgIDs of gateway code, time and sequence', () => {
    expect(makeSmgpMsgId(123456, new Date('2026-12-06T12:34:00Z'), 7)).toBe('123456120620340000' + '07');
  });
});

describe('SMGP decoding of arbitrary bytes', () => {
  it('refuses every malformed frame with CmppDecodeError, never another error', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const commands = [0x1, 0x80000001, 0x2, 0x80000002, 0x3, 0x80000003, 0x4, 0x80000004, 0x6, 0x80000006];
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const body = Buffer.from(Array.from({ length: Math.floor(rnd() * 260) }, () => Math.floor(rnd() * 256)));
      const frame = Buffer.concat([Buffer.alloc(12), body]);
      frame.writeUInt32BE(frame.length, 0);
      frame.writeUInt32BE(commands[i % commands.length]!, 4);
      try {
        decodeSmgp(frame);
      } catch (err) {
        expect(err).toBeInstanceOf(CmppDecodeError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
  });
});
