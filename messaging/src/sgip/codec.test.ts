import { describe, expect, it } from 'vitest';
import { CmppDecodeError } from '../cmpp/codec.ts';
import { decodeSgip, encodeSgip, sgipMessageId, type SgipPdu } from './codec.ts';

/**
 * Test vectors: SGIP 1.2 PDUs as published with an independent implementation's tests
 * (github.com/hujm2023/go-sms-protocol, sgip/sgip12), written out here as bytes.
 */
const hex = (s: string) => Buffer.from(s, 'hex');
const Z = { node: 0, time: 0, seq: 0 };
// Bind: Login Type 1 (SP → SMG), testusername / testpwd.
const BIND = hex(
  '0000003d000000010000000000000000000000000174657374757365726e616d6500000000746573747077640000000000000000000000000000000000',
);
const SUBMIT_RESP = hex('0000001d80000003000000000000000000000000000000000000000000');
// Submit to two numbers, SPNumber 10690090, ChargeNumber 17600537300, CorpId 12345, "test msg".
const SUBMIT = hex(
  '000000c100000003000000000000000000000000313036393030393000000000000000000000000000313736303035333733303000000000000000000000023137363030303030303030000000000000000000003137363131313131313131000000000000000000003132333435000000000000000000000000000000000000000000000000000079796d6d646468686d6d7373746e6e7079796d6d646468686d6d7373746e6e7000000000000000000874657374206d73670000000000000000',
);
// Submit with a Sequence Number (node 0, time 520220943 = 05-20 22:09:43, counter 98) and UCS-2 content.
const SUBMIT_UCS2 = hex(
  '000000c000000003000000001f01f10f000000623130363930323639333132303300000000000000003933313230330000000000000000000000000000000131383032363930313032340000000000000000000031323334353933313230330000000001303030000000303030303000000200000000000000000000000000000000000000000000000000000000000000000001000008000000001c00740065007300740073006d007300730067006900700031003200330000000000000000',
);
// Report: SubmitSequenceNumber 0-0-2, 17611000000, State 2 (failed), ErrorCode 9.
const REPORT = hex(
  '00000040000000050000000000000000000000000000000000000000000000020031373631313030303030300000000000000000000002090000000000000000',
);
// Deliver (MO): 17600111111 → 1069999999999, "hello deliver test msg".
const DELIVER = hex(
  '00000063000000040000000000000000000000003137363030313131313131000000000000000000003130363939393939393939393900000000000000000000000000001668656c6c6f2064656c697665722074657374206d73670000000000000000',
);

describe('SGIP 1.2 against published bytes', () => {
  const table: [string, Buffer, SgipPdu][] = [
    ['Bind', BIND, { command: 'bind', ...Z, loginType: 1, loginName: 'testusername', loginPassword: 'testpwd', reserve: '' }],
    ['Submit_Resp', SUBMIT_RESP, { command: 'submit_resp', ...Z, result: 0, reserve: '' }],
    [
      'Submit',
      SUBMIT,
      {
        command: 'submit',
        ...Z,
        spNumber: '10690090',
        chargeNumber: '17600537300',
        userNumbers: ['17600000000', '17611111111'],
        corpId: '12345',
        serviceType: '',
        feeType: 0,
        feeValue: '',
        givenValue: '',
        agentFlag: 0,
        morelatetoMTFlag: 0,
        priority: 0,
        expireTime: 'yymmddhhmmsstnnp',
        scheduleTime: 'yymmddhhmmsstnnp',
        reportFlag: 0,
        tpPid: 0,
        tpUdhi: 0,
        messageCoding: 0,
        messageType: 0,
        content: Buffer.from('test msg'),
        reserve: '',
      },
    ],
    [
      'Report',
      REPORT,
      {
        command: 'report',
        ...Z,
        submitSequence: { node: 0, time: 0, seq: 2 },
        reportType: 0,
        userNumber: '17611000000',
        state: 2,
        errorCode: 9,
        reserve: '',
      },
    ],
    [
      'Deliver',
      DELIVER,
      {
        command: 'deliver',
        ...Z,
        userNumber: '17600111111',
        spNumber: '1069999999999',
        tpPid: 0,
        tpUdhi: 0,
        messageCoding: 0,
        content: Buffer.from('hello deliver test msg'),
        reserve: '',
      },
    ],
  ];
  it.each(table)('%s decodes to its fields and encodes to the same bytes', (_n, wire, fields) => {
    expect(decodeSgip(wire)).toEqual(fields);
    expect(encodeSgip(fields).toString('hex')).toBe(wire.toString('hex'));
  });

  it('reads the three-part Sequence Number and UCS-2 content of a published Submit', () => {
    const s = decodeSgip(SUBMIT_UCS2);
    expect(s).toMatchObject({
      command: 'submit',
      node: 0,
      time: 520220943,
      seq: 98,
      messageCoding: 8,
      reportFlag: 1,
      userNumbers: ['18026901024'],
    });
    expect(
      Buffer.from((s as Extract<SgipPdu, { command: 'submit' }>).content)
        .swap16()
        .toString('utf16le'),
    ).toBe('testsmssgip123');
    expect(encodeSgip(s).equals(SUBMIT_UCS2)).toBe(true);
    expect(sgipMessageId(s)).toBe('0-520220943-98');
  });

  it('refuses malformed frames with CmppDecodeError only', () => {
    let seed = 3;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const ids = [1, 0x80000001, 2, 0x80000002, 3, 0x80000003, 4, 0x80000004, 5, 0x80000005, 9];
    for (let i = 0; i < 2000; i++) {
      const frame = Buffer.concat([
        Buffer.alloc(20),
        Buffer.from(Array.from({ length: Math.floor(rnd() * 260) }, () => Math.floor(rnd() * 256))),
      ]);
      frame.writeUInt32BE(frame.length, 0);
      frame.writeUInt32BE(ids[i % ids.length]!, 4);
      try {
        decodeSgip(frame);
      } catch (err) {
        expect(err).toBeInstanceOf(CmppDecodeError);
      }
    }
  });
});
