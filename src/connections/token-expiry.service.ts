import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { HeraldConfig } from '../config/herald-config.js';
import { CLOSE_UNAUTHORIZED } from '../auth/socket-authenticator.service.js';
import type { Connection } from './connection.js';
import { ConnectionRegistry } from './connection-registry.service.js';
import type { ProtocolName } from './identity.js';

export const TOKEN_EXPIRED_REASON = 'token expired';

/** How a protocol ends a connection whose token expired (it must close the socket). */
export type TokenExpiredHandler = (connection: Connection) => void;

/** How often the wheel turns; a socket closes at most this long after its deadline. */
const TICK_MS = 1_000;

/**
 * Closes JWT-authenticated sockets when their token expires: `jwtClockSkewSeconds` after `exp` (the same
 * tolerance the verifier gives at the upgrade, so a token accepted then is not cut off sooner). Bus and topics
 * close with 4401 "token expired"; a protocol may register its own ending (RPC sends an `Unauthenticated` error
 * first). A new identity for the connection (RPC `auth` refresh) moves its deadline.
 *
 * One timer wheel for every connection, not a timer per socket: buckets of one second each, keyed by the
 * deadline second, and one unref'd interval that empties the buckets whose second has come. Watching follows
 * the registry's events, so every protocol is covered without a call from its gateway.
 */
@Injectable()
export class TokenExpiry implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('TokenExpiry');
  /** Deadline second → the connections that close then. */
  private readonly buckets = new Map<number, Set<Connection>>();
  private readonly deadlines = new Map<Connection, number>();
  private readonly handlers = new Map<ProtocolName, TokenExpiredHandler>();
  /** Every bucket below this second has been emptied. */
  private cursor = Math.floor(Date.now() / 1000);
  private timer?: NodeJS.Timeout;
  private subscription?: Subscription;

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly config: HeraldConfig,
  ) {}

  onModuleInit(): void {
    this.subscription = this.registry.events$.subscribe((event) => {
      switch (event.type) {
        case 'connected':
        case 'identified':
          this.watch(event.connection);
          return;
        case 'disconnected':
          this.unwatch(event.connection);
          return;
        case 'subscribed':
        case 'unsubscribed':
          return;
        default: {
          const unreachable: never = event;
          return unreachable;
        }
      }
    });
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
    clearInterval(this.timer);
    this.buckets.clear();
    this.deadlines.clear();
  }

  /** Replaces the default ending (close 4401 "token expired") for the given protocols. */
  onExpired(protocols: readonly ProtocolName[], handler: TokenExpiredHandler): void {
    for (const protocol of protocols) this.handlers.set(protocol, handler);
  }

  /** Connections waiting for their deadline (for tests and metrics). */
  get watched(): number {
    return this.deadlines.size;
  }

  private watch(connection: Connection): void {
    this.unwatch(connection);
    const jwt = connection.identity.jwt;
    if (!jwt || connection.closed) return;
    // A deadline the wheel has passed already goes into the next bucket it empties.
    const deadline = Math.max(Math.ceil(jwt.expiresAt + this.config.jwtClockSkewSeconds), this.cursor);
    let bucket = this.buckets.get(deadline);
    if (!bucket) this.buckets.set(deadline, (bucket = new Set()));
    bucket.add(connection);
    this.deadlines.set(connection, deadline);
  }

  private unwatch(connection: Connection): void {
    const deadline = this.deadlines.get(connection);
    if (deadline === undefined) return;
    this.deadlines.delete(connection);
    const bucket = this.buckets.get(deadline);
    bucket?.delete(connection);
    if (bucket?.size === 0) this.buckets.delete(deadline);
  }

  private tick(): void {
    const now = Math.floor(Date.now() / 1000);
    if (now < this.cursor) return;
    if (now - this.cursor < this.buckets.size) {
      for (let second = this.cursor; second <= now; second++) this.empty(second);
    } else {
      // After a long stall (or a clock jump) visiting the buckets is shorter than visiting every second.
      for (const second of [...this.buckets.keys()]) if (second <= now) this.empty(second);
    }
    this.cursor = now + 1;
  }

  private empty(second: number): void {
    const bucket = this.buckets.get(second);
    if (!bucket) return;
    this.buckets.delete(second);
    for (const connection of bucket) {
      this.deadlines.delete(connection);
      this.expire(connection);
    }
  }

  private expire(connection: Connection): void {
    try {
      const handler = this.handlers.get(connection.protocol);
      if (handler) handler(connection);
      else TokenExpiry.close(connection);
      // Leave the indexes now so nothing more is delivered during the close handshake.
      this.registry.remove(connection, CLOSE_UNAUTHORIZED);
    } catch (error) {
      this.logger.error(`Closing ${connection.id} at token expiry failed: ${error instanceof Error ? error.stack : String(error)}`);
      connection.socket.terminate();
      this.registry.remove(connection, 1006);
    }
  }

  /** The default ending: close 4401 "token expired". */
  static close(connection: Connection): void {
    connection.close(CLOSE_UNAUTHORIZED, TOKEN_EXPIRED_REASON);
  }
}
