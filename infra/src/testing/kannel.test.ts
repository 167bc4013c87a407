import { describe, expect, it } from 'vitest';
import { kannelConf } from './kannel.ts';

const ports = { admin: 1001, box: 1002, send: 1003 };
/** The conf's groups, each as its key → value lines (Kannel separates groups by blank lines). */
const groups = (conf: string) =>
  conf
    .trim()
    .split(/\n\s*\n/)
    .map((g) => Object.fromEntries(g.split('\n').map((l) => l.split(' = ') as [string, string])));
const smsc = { host: '127.0.0.1', port: 2775, systemId: 'sys', password: 'pw' };

describe('kannelConf', () => {
  it('writes an smsc group per bind, each with its window and, when given, its routing prefix', () => {
    const conf = kannelConf(
      {
        smscs: [
          { id: 'cmcc', ...smsc, binds: 2, window: 16, allowedPrefix: '138' },
          { id: 'cucc', ...smsc, port: 2776 },
        ],
      },
      ports,
      '/tmp/k',
    );
    const smscs = groups(conf).filter((g) => g.group === 'smsc');
    expect(smscs.map((g) => [g['smsc-id'], g.port, g['max-pending-submits'], g['allowed-prefix']])).toEqual([
      ['cmcc', '2775', '16', '138'],
      ['cmcc', '2775', '16', '138'],
      ['cucc', '2776', '64', undefined],
    ]);
    expect(smscs[0]).toMatchObject({ smsc: 'smpp', 'transceiver-mode': 'true', 'smsc-username': 'sys', 'smsc-password': 'pw' });
  });

  it('ties bearerbox, smsbox and the sendsms user together on the given ports, logs in the given folder', () => {
    const g = groups(kannelConf({ smscs: [{ id: 'sim', ...smsc }], logLevel: 3 }, ports, '/tmp/k'));
    expect(g.find((x) => x.group === 'core')).toMatchObject({
      'admin-port': '1001',
      'smsbox-port': '1002',
      'log-file': '/tmp/k/bearerbox.log',
      'log-level': '3',
      'sms-resend-retry': '-1',
    });
    expect(g.find((x) => x.group === 'smsbox')).toMatchObject({
      'bearerbox-port': '1002',
      'sendsms-port': '1003',
      'log-file': '/tmp/k/smsbox.log',
    });
    expect(g.find((x) => x.group === 'sendsms-user')).toMatchObject({ username: 'bench', password: 'bench', concatenation: 'true' });
  });

  it('passes MOs on to moUrl with sender, receiver and text, or drops them without an answer', () => {
    const withMo = groups(kannelConf({ smscs: [{ id: 'sim', ...smsc }], moUrl: 'http://127.0.0.1:9/mo' }, ports, '/tmp/k'));
    expect(withMo.find((x) => x.group === 'sms-service')).toMatchObject({
      'catch-all': 'true',
      'get-url': '"http://127.0.0.1:9/mo?from=%p&to=%P&text=%a"',
      'max-messages': '0',
    });
    const without = groups(kannelConf({ smscs: [{ id: 'sim', ...smsc }] }, ports, '/tmp/k'));
    expect(without.find((x) => x.group === 'sms-service')).toMatchObject({ text: '""', 'omit-empty': 'true' });
  });
});
