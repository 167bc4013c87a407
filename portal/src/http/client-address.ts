import { BlockList, isIP } from 'node:net';

/**
 * Which peers are our own reverse proxies: IP addresses or CIDR ranges, v4 or v6.
 * @example trustedProxies(['127.0.0.1', '10.0.0.0/8'])
 */
export function trustedProxies(entries: readonly string[]): (ip: string) => boolean {
  const list = new BlockList();
  for (const e of entries) {
    const [addr, bits] = e.trim().split('/') as [string, string | undefined];
    const v = isIP(addr);
    if (!v) throw new Error(`not an IP address or CIDR range: ${e}`);
    const type = v === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return (ip) => {
    const a = plain(ip);
    const v = isIP(a);
    return v !== 0 && list.check(a, v === 6 ? 'ipv6' : 'ipv4');
  };
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) as `10.0.0.1`. */
const plain = (ip: string) => (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip);

/**
 * The client's address: the socket peer, unless the peer is a trusted proxy; then the
 * `X-Forwarded-For` hops are read from the right (the ones our proxies appended), skipping trusted
 * proxies, and the first untrusted hop is the client. Anything a client wrote further left is
 * never believed, and a malformed hop ends the walk at the last trusted one.
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trusted: (ip: string) => boolean): string {
  let client = plain(peer);
  if (!trusted(client) || !forwardedFor) return client;
  const hops = forwardedFor.split(',').map((h) => h.trim());
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plain(hops[i]!);
    if (!isIP(hop)) break;
    client = hop;
    if (!trusted(hop)) break;
  }
  return client;
}

/** Whether the request reached us over TLS: directly, or through a trusted proxy that says so. */
export function overTls(url: string, peerTrusted: boolean, forwardedProto: string | undefined): boolean {
  if (new URL(url).protocol === 'https:') return true;
  return peerTrusted && forwardedProto?.split(',')[0]?.trim().toLowerCase() === 'https';
}

const INTERNAL = trustedProxies([
  '127.0.0.0/8',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '169.254.0.0/16',
  '::1',
  'fc00::/7',
  'fe80::/10',
]);

/**
 * Whether a client address is this machine or a private network (RFC 1918, link-local, IPv6 ULA):
 * where a load balancer's health check and Prometheus call from, and never a browser on the
 * internet once {@link clientAddress} has read it behind our proxies. `local` is an in-process
 * request (tests).
 * @example isInternalAddress('10.1.2.3') // true
 */
export function isInternalAddress(ip: string): boolean {
  return ip === 'local' || INTERNAL(ip);
}
