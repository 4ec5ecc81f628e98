import { Injectable, Logger } from '@nestjs/common';
import { RevocationService, type RevocationKind } from '../auth/revocation.service.js';
import type { Target } from '../broadcast/envelope.js';
import { ConnectionRegistry } from './connection-registry.service.js';

/** fuz_app's revocation close: the client treats it as final and does not reconnect. */
export const CLOSE_SESSION_REVOKED = 4001;
export const SESSION_REVOKED_REASON = 'Session revoked';

/** Revokes a session, user or API token: denylists it and closes exactly the matching sockets. */
@Injectable()
export class ConnectionRevoker {
  private readonly logger = new Logger('Revocation');

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly revocations: RevocationService,
  ) {}

  /** Returns the number of sockets closed on this node. */
  revoke(tenant: string, kind: RevocationKind, id: string): number {
    this.revocations.revoke(tenant, kind, id);
    return this.closeMatching(tenant, kind, id);
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
