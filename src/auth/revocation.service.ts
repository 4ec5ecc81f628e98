import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { HeraldConfig } from '../config/herald-config.js';
import type { Identity } from '../connections/identity.js';

export type RevocationKind = 'session' | 'user' | 'token';

/**
 * The denylist: a revoked session, user or token cannot connect again with a token issued before the
 * revocation. Entries live for `revocationTtlSeconds` (the longest token lifetime), then expire.
 */
@Injectable()
export class RevocationService implements OnModuleDestroy {
  /** `${tenant}\u0000${kind}\u0000${id}` → revocation time in seconds. */
  private readonly revokedAt = new Map<string, number>();
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly config: HeraldConfig) {
    this.sweep = setInterval(() => this.prune(), 60_000);
    this.sweep.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweep);
  }

  revoke(tenant: string, kind: RevocationKind, id: string, atSeconds = Date.now() / 1000): void {
    this.revokedAt.set(key(tenant, kind, id), atSeconds);
  }

  /** Every live entry, for a node that joins later (`[tenant, kind, id, atSeconds]`). */
  entries(): [string, RevocationKind, string, number][] {
    return [...this.revokedAt].map(([entry, at]) => {
      const [tenant, kind, id] = entry.split('\u0000') as [string, RevocationKind, string];
      return [tenant, kind, id, at];
    });
  }

  /** True when any part of the identity was revoked after (or without knowing when) the token was issued. */
  isRevoked(identity: Identity, issuedAt: number | undefined): boolean {
    const checks: [RevocationKind, string | undefined][] = [
      ['user', identity.userId],
      ['session', identity.sessionId],
      ['token', identity.tokenId],
    ];
    for (const [kind, id] of checks) {
      if (id === undefined) continue;
      const at = this.revokedAt.get(key(identity.tenant, kind, id));
      if (at !== undefined && (issuedAt === undefined || issuedAt <= at)) return true;
    }
    return false;
  }

  private prune(): void {
    const cutoff = Date.now() / 1000 - this.config.revocationTtlSeconds;
    for (const [entry, at] of this.revokedAt) if (at < cutoff) this.revokedAt.delete(entry);
  }
}

function key(tenant: string, kind: RevocationKind, id: string): string {
  return `${tenant}\u0000${kind}\u0000${id}`;
}
