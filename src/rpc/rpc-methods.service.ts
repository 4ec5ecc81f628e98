import { Injectable } from '@nestjs/common';
import { SocketAuthenticator, SocketRejectedError } from '../auth/socket-authenticator.service.js';
import { channelAccess } from '../channels/channel-policy.js';
import { ChannelPublisher } from '../channels/channel-publisher.service.js';
import { ConnectionRegistry } from '../connections/connection-registry.service.js';
import { TOKEN_EXPIRED_REASON, TokenExpiry } from '../connections/token-expiry.service.js';
import { PermissionDeniedError } from '../errors/app.errors.js';
import { RpcCodec } from './rpc.codec.js';
import { RpcFailedPreconditionError, RpcMethodNotFoundError, RpcUnauthenticatedError } from './rpc.errors.js';
import { authParams, channelParam, eventParam, parseParams, publishParams } from './rpc.params.js';
import type { RpcConnection } from './rpc.session.js';
import { RpcSubscriptions, type RpcOutcome } from './rpc-subscriptions.service.js';

export const RPC_METHODS = ['auth', 'subscribe', 'unsubscribe', 'publish', 'ping', 'heartbeat'] as const;
export type RpcMethod = (typeof RPC_METHODS)[number];

/**
 * Methods that do not change the connection's state may overlap with later requests (their replies
 * can come after later ones'; ids match them). Everything else runs strictly in order.
 */
export const RPC_CONCURRENT_METHODS: ReadonlySet<string> = new Set<RpcMethod>(['publish']);

function isRpcMethod(method: string): method is RpcMethod {
  return (RPC_METHODS as readonly string[]).includes(method);
}

/**
 * The one set of method handlers behind `/ws/rpc` and `/ws/jsonrpc`. Handlers throw typed errors and
 * know nothing of either framing; the gateway maps errors through the connection's codec. A handler
 * returns synchronously unless it has to wait (history read, cluster publish).
 */
@Injectable()
export class RpcMethods {
  constructor(
    private readonly auth: SocketAuthenticator,
    private readonly registry: ConnectionRegistry,
    private readonly subscriptions: RpcSubscriptions,
    private readonly publisher: ChannelPublisher,
    expiry: TokenExpiry,
  ) {
    // At the token's exp an RPC client is told why (`Unauthenticated`, id null) before the close, so it can fetch a
    // new token and reconnect; it avoids this by sending a fresh `auth` before exp.
    expiry.onExpired(['rpc', 'jsonrpc'], (connection) => {
      if (connection.codec instanceof RpcCodec) {
        connection.sendText(connection.codec.error(null, { kind: 'unauthenticated', message: TOKEN_EXPIRED_REASON }));
      }
      TokenExpiry.close(connection);
    });
  }

  invoke(connection: RpcConnection, method: string, params: unknown): RpcOutcome | Promise<RpcOutcome> {
    if (!isRpcMethod(method)) throw new RpcMethodNotFoundError(`method not found: ${method.slice(0, 100)}`);
    switch (method) {
      case 'auth':
        return this.authenticate(connection, params);
      case 'subscribe':
        return this.subscriptions.subscribe(connection, params);
      case 'unsubscribe':
        this.requireAuth(connection);
        return this.subscriptions.unsubscribe(connection, params);
      case 'publish':
        return this.publish(connection, params);
      case 'ping':
      case 'heartbeat':
        return { result: { timestamp: new Date().toISOString() } };
      default: {
        const unreachable: never = method;
        throw new RpcMethodNotFoundError(`method not found: ${String(unreachable)}`);
      }
    }
  }

  /**
   * `auth {token}`: verifies like the upgrade does, then re-indexes the connection under its user/session/token.
   *
   * On an authenticated connection it is a refresh (as Centrifugo clients refresh before `exp`): the new token must
   * be for the same user (`sub`); it replaces the grant (scopes, channels, sid, jti) and moves the expiry deadline.
   * A token for another user is refused with `FailedPrecondition` and changes nothing: the connection keeps its
   * identity and still closes at the old token's `exp` (switching users means a new connection). A refresh token
   * that does not verify (expired, revoked, bad signature) is refused with `Unauthenticated`, likewise changing nothing.
   * Existing subscriptions stay.
   */
  private authenticate(connection: RpcConnection, params: unknown): RpcOutcome {
    const session = connection.session;
    const { token } = parseParams(authParams, params);
    let identity;
    try {
      identity = this.auth.verifyToken(token, session.app).identity;
    } catch (error) {
      if (error instanceof SocketRejectedError) throw new RpcUnauthenticatedError(error.reason.replace(/^Unauthorized - /, ''));
      throw error;
    }
    if (session.authenticated && identity.userId !== connection.identity.userId) {
      throw new RpcFailedPreconditionError('connection is already authenticated as another user; a refresh token must have the same sub');
    }
    session.authenticated = true;
    clearTimeout(session.authTimer);
    session.authTimer = undefined;
    const { tenant: _tenant, ...rest } = identity;
    this.registry.identify(connection, rest);
    return { result: { success: true } };
  }

  /** Validates synchronously; only the cluster publish is awaited. */
  private publish(connection: RpcConnection, params: unknown): Promise<RpcOutcome> {
    const session = connection.session;
    const parsed = parseParams(publishParams, params);
    const channel = channelParam(parsed.channel, session.app);
    const event = eventParam(parsed.event, session.app);
    this.requireAuth(connection);
    const identity = connection.identity;
    if (!identity.scopes.includes('publish')) throw new PermissionDeniedError('token scope does not include "publish"');
    // The one channel policy: private-/presence- names need a grant that names them (never a bare `*`).
    if (channelAccess(connection.protocol === 'jsonrpc' ? 'jsonrpc' : 'rpc', 'publish', identity.authorizedChannels, channel, false) !== 'allow') {
      throw new PermissionDeniedError(`user not authorized to publish on channel "${channel}"`);
    }
    return this.publisher.publish(session.app.id, channel, event, parsed.payload, 'client').then((published) => ({ result: published }));
  }

  private requireAuth(connection: RpcConnection): void {
    if (!connection.session.authenticated) throw new RpcUnauthenticatedError('authentication required');
  }
}
