import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Subject, takeUntil } from 'rxjs';
import { RevocationService, type RevocationKind } from '../auth/revocation.service.js';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import type { Envelope, Target } from '../broadcast/envelope.js';
import { ConnectionRegistry } from './connection-registry.service.js';

/** fuz_app's revocation close: the client treats it as final and does not reconnect. */
export const CLOSE_SESSION_REVOKED = 4001;
export const SESSION_REVOKED_REASON = 'Session revoked';

/** Control envelope carrying a revocation to every node (no recipients; each node acts on it). */
export const REVOKE_EVENT = 'herald_internal:revoke';

/** `data` of a `REVOKE_EVENT` envelope. */
export interface RevocationNotice {
  kind: RevocationKind;
  id: string;
  /** Revocation time, seconds since the epoch. */
  at: number;
}

export function parseRevocationNotice(envelope: Envelope): RevocationNotice | undefined {
  if (envelope.event !== REVOKE_EVENT || envelope.origin !== 'internal') return undefined;
  const data = envelope.data as Partial<RevocationNotice> | null;
  if (typeof data !== 'object' || data === null || typeof data.id !== 'string' || typeof data.at !== 'number') return undefined;
  if (data.kind !== 'user' && data.kind !== 'session' && data.kind !== 'token') return undefined;
  return { kind: data.kind, id: data.id, at: data.at };
}

/**
 * Revokes a session, user or API token: denylists it and closes exactly the matching sockets, on this
 * node at once and on every other node through a control envelope over the cluster transport.
 */
@Injectable()
export class ConnectionRevoker implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Revocation');
  private readonly destroy$ = new Subject<void>();

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly revocations: RevocationService,
    private readonly broadcast: BroadcastService,
  ) {}

  onModuleInit(): void {
    this.broadcast
      .everyTenant()
      .pipe(takeUntil(this.destroy$))
      .subscribe((envelope) => {
        const notice = parseRevocationNotice(envelope);
        if (!notice) return;
        this.revocations.revoke(envelope.tenant, notice.kind, notice.id, notice.at);
        this.closeMatching(envelope.tenant, notice.kind, notice.id);
      });
  }

  onModuleDestroy(): void {
    this.destroy$.next();
    this.destroy$.complete();
  }

  /**
   * Returns the number of sockets closed on this node. Rejects with `TransportUnavailableError` when
   * the other nodes could not be told (this node's part is done; retrying is safe).
   */
  async revoke(tenant: string, kind: RevocationKind, id: string): Promise<number> {
    const at = Date.now() / 1000;
    this.revocations.revoke(tenant, kind, id, at);
    const closed = this.closeMatching(tenant, kind, id);
    const notice: RevocationNotice = { kind, id, at };
    await this.broadcast.publish({ tenant, target: { kind: 'connections', connectionIds: [] }, event: REVOKE_EVENT, data: notice, origin: 'internal' });
    return closed;
  }

  /** Closes matching sockets without denylisting (also used when a revocation arrives from another node). */
  closeMatching(tenant: string, kind: RevocationKind, id: string): number {
    const target: Target =
      kind === 'user' ? { kind: 'users', userIds: [id] } : kind === 'session' ? { kind: 'session', sessionId: id } : { kind: 'token', tokenId: id };
    const victims = [...this.registry.resolve(tenant, target)];
    for (const connection of victims) {
      // Leave the indexes before the close handshake so nothing more is delivered to it.
      this.registry.remove(connection, CLOSE_SESSION_REVOKED);
      connection.close(CLOSE_SESSION_REVOKED, SESSION_REVOKED_REASON);
    }
    if (victims.length > 0) this.logger.log(`Revoked ${kind} in app ${tenant}: closed ${victims.length} socket(s)`);
    return victims.length;
  }
}
