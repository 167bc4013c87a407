import { describe, expect, it } from 'vitest';
import { clientAddress, overTls, trustedProxies } from './client-address.ts';

describe('the client address behind reverse proxies', () => {
  const trusted = trustedProxies(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);

  it.each([
    ['a direct client: the peer, whatever it claims', '198.51.100.7', '1.2.3.4', '198.51.100.7'],
    ['through our proxy: the hop it appended', '127.0.0.1', '198.51.100.7', '198.51.100.7'],
    ['a client forging a hop left of the real one', '127.0.0.1', '6.6.6.6, 198.51.100.7', '198.51.100.7'],
    ['through two of our proxies', '10.1.2.3', '198.51.100.7, 10.9.9.9', '198.51.100.7'],
    ['a dual-stack peer', '::ffff:127.0.0.1', '198.51.100.7', '198.51.100.7'],
    ['an IPv6 proxy', 'fd00::1', '2001:db8::5', '2001:db8::5'],
    ['a malformed hop ends the walk at our proxy', '127.0.0.1', '198.51.100.7, not-an-ip', '127.0.0.1'],
    ['our proxy without the header', '127.0.0.1', undefined, '127.0.0.1'],
  ])('%s', (_, peer, xff, want) => expect(clientAddress(peer, xff, trusted)).toBe(want));

  it('believes X-Forwarded-Proto only from a trusted proxy', () => {
    expect(overTls('http://x/api', true, 'https')).toBe(true);
    expect(overTls('http://x/api', false, 'https')).toBe(false);
    expect(overTls('https://x/api', false, undefined)).toBe(true);
  });

  it('refuses a proxy list entry that is not an address', () => {
    expect(() => trustedProxies(['proxy.local'])).toThrow(/not an IP/);
  });
});
