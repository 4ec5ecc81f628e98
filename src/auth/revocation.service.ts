import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { HeraldConfig } from '../config/herald-config.js';
import type { Identity } from '../connections/identity.js';

export type RevocationKind = 'session' | 'user' | 'token';

/** The default cut-off of a revocation made now: the start of the current second (see `RevocationService`). */
export function defaultIssuedBefore(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000);
}

/**
 * The denylist: a revoked session, user or token cannot connect again with a token whose `iat` is before
 * the revocation's cut-off `issuedBefore` (Unix seconds, as Centrifugo's `issued_before`).
 *
 * The same-second rule: `iat` has a resolution of one second, so a token minted in the revocation's own
 * second cannot be told apart from one minted just before it. The default cut-off is the start of the
 * current second, so tokens issued in the revocation's second are accepted: "revoke everywhere, then mint
 * a fresh token for this device and connect" works at once. Every socket open at the revocation closes
 * whatever its token's `iat`; what the default leaves open is reconnecting with a token minted in that same
 * second before the revocation. A backend that must exclude those gives `issuedBefore` explicitly (e.g. the
 * next second) and issues the replacement with an `iat` at or after it.
 *
 * An entry lives `revocationTtlSeconds` after its cut-off, which the config keeps at least
 * `maxTokenLifetimeSeconds + jwtClockSkewSeconds`: every token it refuses has expired by then.
 */
@Injectable()
export class RevocationService implements OnModuleDestroy {
  /** `${tenant}\u0000${kind}\u0000${id}` → cut-off in seconds: tokens with `iat` below it are refused. */
  private readonly revokedBefore = new Map<string, number>();
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly config: HeraldConfig) {
    this.sweep = setInterval(() => this.prune(), 60_000);
    this.sweep.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweep);
  }

  /** Refuses the id's tokens issued before `issuedBefore`; a later cut-off never gives way to an earlier one. */
  revoke(tenant: string, kind: RevocationKind, id: string, issuedBefore = defaultIssuedBefore()): void {
    const entry = key(tenant, kind, id);
    const previous = this.revokedBefore.get(entry);
    if (previous === undefined || issuedBefore > previous) this.revokedBefore.set(entry, issuedBefore);
  }

  /** Every live entry, for a node that joins later (`[tenant, kind, id, issuedBefore]`). */
  entries(): [string, RevocationKind, string, number][] {
    return [...this.revokedBefore].map(([entry, at]) => {
      const [tenant, kind, id] = entry.split('\u0000') as [string, RevocationKind, string];
      return [tenant, kind, id, at];
    });
  }

  /** True when any part of the identity was revoked with a cut-off after the token's `iat`. */
  isRevoked(identity: Identity, issuedAt: number): boolean {
    const checks: [RevocationKind, string | undefined][] = [
      ['user', identity.userId],
      ['session', identity.sessionId],
      ['token', identity.tokenId],
    ];
    for (const [kind, id] of checks) {
      if (id === undefined) continue;
      const before = this.revokedBefore.get(key(identity.tenant, kind, id));
      if (before !== undefined && issuedAt < before) return true;
    }
    return false;
  }

  private prune(): void {
    const cutoff = Date.now() / 1000 - this.config.revocationTtlSeconds;
    for (const [entry, before] of this.revokedBefore) if (before < cutoff) this.revokedBefore.delete(entry);
  }
}

function key(tenant: string, kind: RevocationKind, id: string): string {
  return `${tenant}\u0000${kind}\u0000${id}`;
}
