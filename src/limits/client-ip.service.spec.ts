import type { IncomingMessage } from 'node:http';
import type { HeraldConfig } from '../config/herald-config.js';
import { ClientIpResolver } from './client-ip.service.js';

function requestFrom(remoteAddress: string, forwardedFor?: string): IncomingMessage {
  return { socket: { remoteAddress }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } } as unknown as IncomingMessage;
}
const resolver = (trustedProxies: string[]) => new ClientIpResolver({ trustedProxies } as unknown as HeraldConfig);

describe('ClientIpResolver', () => {
  it('uses the TCP peer and ignores X-Forwarded-For when no proxy is trusted', () => {
    expect(resolver([]).resolve(requestFrom('198.51.100.7', '203.0.113.1'))).toBe('198.51.100.7');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(resolver(['10.0.0.0/8']).resolve(requestFrom('198.51.100.7', '203.0.113.1'))).toBe('198.51.100.7');
  });

  it('takes the first untrusted hop from the right behind trusted proxies (CIDR, IPv4-mapped IPv6)', () => {
    const ips = resolver(['10.0.0.0/8', '192.0.2.1']);
    expect(ips.resolve(requestFrom('::ffff:10.1.1.1', '203.0.113.9, 192.0.2.1'))).toBe('203.0.113.9');
    // A client cannot pick its bucket by prepending hops: the rightmost untrusted one wins.
    expect(ips.resolve(requestFrom('10.1.1.1', '1.2.3.4, 203.0.113.9'))).toBe('203.0.113.9');
  });

  it('falls back to the peer on garbage and handles IPv6 subnets', () => {
    expect(resolver(['10.0.0.1']).resolve(requestFrom('10.0.0.1', 'not-an-ip'))).toBe('10.0.0.1');
    expect(resolver(['fd00::/8']).resolve(requestFrom('fd12::1', '2001:db8::5'))).toBe('2001:db8::5');
    expect(resolver(['10.0.0.1']).resolve(requestFrom('10.0.0.1'))).toBe('10.0.0.1');
  });
});
