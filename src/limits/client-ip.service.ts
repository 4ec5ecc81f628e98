import { Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { HeraldConfig } from '../config/herald-config.js';

/** `::ffff:10.0.0.1` → `10.0.0.1`, so IPv4 proxies match however the socket reports them. */
function normalize(address: string): string {
  const trimmed = address.trim();
  return trimmed.startsWith('::ffff:') && isIPv4(trimmed.slice(7)) ? trimmed.slice(7) : trimmed;
}

function familyOf(address: string): 'ipv4' | 'ipv6' | undefined {
  return isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
}

/**
 * The client IP for per-IP limits. `X-Forwarded-For` is believed only from a trusted proxy
 * (`HERALD_TRUSTED_PROXIES`, IPs or CIDRs): walking it right to left, the first hop that is not a
 * trusted proxy is the client. Without trusted proxies the TCP peer is the client, whatever the header says.
 */
@Injectable()
export class ClientIpResolver {
  private readonly trusted = new BlockList();
  private readonly anyTrusted: boolean;

  constructor(config: HeraldConfig) {
    for (const entry of config.trustedProxies) {
      const [address, bits] = entry.split('/');
      const family = familyOf(normalize(address));
      if (!family) continue;
      if (bits === undefined) this.trusted.addAddress(normalize(address), family);
      else this.trusted.addSubnet(normalize(address), Number(bits), family);
    }
    this.anyTrusted = config.trustedProxies.length > 0;
  }

  isTrusted(address: string): boolean {
    const normalized = normalize(address);
    const family = familyOf(normalized);
    return family !== undefined && this.trusted.check(normalized, family);
  }

  resolve(request: IncomingMessage): string {
    const peer = normalize(request.socket.remoteAddress ?? '');
    if (!this.anyTrusted || !this.isTrusted(peer)) return peer;
    const header = request.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map(normalize).filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      if (!familyOf(hops[i])) return peer; // garbage in the chain: do not let it choose the bucket
      if (!this.isTrusted(hops[i])) return hops[i];
    }
    return hops[0] ?? peer;
  }
}
