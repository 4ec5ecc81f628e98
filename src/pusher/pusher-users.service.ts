import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import { Subject, takeUntil } from 'rxjs';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import type { Envelope } from '../broadcast/envelope.js';
import { ConnectionRegistry } from '../connections/connection-registry.service.js';
import { WATCHLIST_PREFIX } from '../channels/channel-name.js';
import { errorFrame, MAX_WATCHLIST, PusherCode, pusherFrame, watchlistData } from './pusher.frames.js';
import { userStringToSign, verifyClientAuth } from './pusher-signature.js';
import { clearAuthTimer, isPusherConnection, type PusherConnection } from './pusher-session.js';
import type { OnlineUsers } from './state/online-users.js';
import { ONLINE_USERS } from './state/pusher-state.tokens.js';
import { PEER_MAX_JSON_DEPTH, parseJson } from '../common/json.js';

/** Control envelope event: close every Pusher connection signed in as `data.userId` (all nodes act on it). */
export const TERMINATE_USER_EVENT = 'pusher_internal:terminate_user';
const TERMINATED_REASON = 'You got disconnected by the app.';

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * User authentication: `pusher:signin` (signature over `socket_id::user::user_data`), identity in the
 * registry (so user-targeted messages and revocations reach the connection), watchlists, and
 * terminating a user's connections cluster-wide.
 */
@Injectable()
export class PusherUsers implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('PusherUsers');
  private readonly destroy$ = new Subject<void>();

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly broadcast: BroadcastService,
    @Inject(ONLINE_USERS) private readonly online: OnlineUsers,
    private readonly boundary: ErrorBoundary,
  ) {}

  onModuleInit(): void {
    // terminate_connections travels as a control envelope so every node closes its own sockets.
    this.broadcast
      .everyTenant()
      .pipe(takeUntil(this.destroy$))
      .subscribe(
        this.boundary.guard('subscriber', (envelope: Envelope) => {
          if (envelope.event === TERMINATE_USER_EVENT && envelope.origin === 'internal') this.closeUser(envelope);
        }, 'terminate_connections'),
      );
  }

  onModuleDestroy(): void {
    this.destroy$.next();
    this.destroy$.complete();
  }

  async signin(connection: PusherConnection, data: unknown): Promise<void> {
    const session = connection.session;
    const payload = record(data);
    const userData = payload.user_data;
    if (typeof userData !== 'string') {
      connection.sendText(errorFrame('pusher:signin needs data.user_data (a JSON string) and data.auth', PusherCode.Unauthorized));
      return;
    }
    if (!verifyClientAuth(payload.auth, session.app.key, session.app.secret, userStringToSign(connection.id, userData))) {
      connection.sendText(errorFrame(`Invalid signin signature: expected HMAC-SHA256 of "${connection.id}::user::<user_data>"`, PusherCode.Unauthorized));
      return;
    }
    const json = parseJson(userData, { maxDepth: PEER_MAX_JSON_DEPTH });
    if (!json.ok) {
      connection.sendText(errorFrame(`user_data is ${json.problem === 'too_deep' ? json.message : 'not valid JSON'}`, PusherCode.Unauthorized));
      return;
    }
    const parsed = record(json.value);
    const id = parsed.id;
    if (typeof id !== 'string' || id === '') {
      connection.sendText(errorFrame('user_data.id must be a non-empty string', PusherCode.Unauthorized));
      return;
    }
    if (session.user && session.user.id !== id) {
      connection.sendText(errorFrame('This connection is already signed in as another user', PusherCode.Unauthorized));
      return;
    }
    const rawWatchlist = Array.isArray(parsed.watchlist) ? parsed.watchlist.filter((w): w is string => typeof w === 'string' && w !== '') : [];
    const watchlist = [...new Set(rawWatchlist)].slice(0, MAX_WATCHLIST);

    const cameOnline = await this.online.add(session.app.id, id, connection.id);
    const onlineNow = watchlist.length > 0 ? await this.online.online(session.app.id, watchlist) : new Set<string>();
    if (connection.closed) {
      await this.online.remove(session.app.id, id, connection.id);
      return;
    }

    const previous = session.user;
    session.user = { id, info: parsed.user_info, watchlist };
    clearAuthTimer(session);
    if (!previous) this.registry.identify(connection, { ...connection.identity, userId: id });
    for (const watched of previous?.watchlist ?? []) this.registry.unsubscribe(connection, WATCHLIST_PREFIX + watched);
    for (const watched of watchlist) this.registry.subscribe(connection, WATCHLIST_PREFIX + watched);

    connection.sendText(pusherFrame('pusher:signin_success', { user_data: userData }));
    if (rawWatchlist.length > MAX_WATCHLIST) {
      connection.sendText(errorFrame(`Watchlist limit exceeded: only the first ${MAX_WATCHLIST} ids are watched`, PusherCode.WatchlistLimit));
    }
    if (watchlist.length > 0) {
      const online = watchlist.filter((w) => onlineNow.has(w));
      const offline = watchlist.filter((w) => !onlineNow.has(w));
      connection.sendText(pusherFrame('pusher_internal:watchlist_events', watchlistData(online, offline)));
    }
    if (cameOnline) {
      await this.broadcast.publish({
        tenant: session.app.id,
        target: { kind: 'channel', channel: WATCHLIST_PREFIX + id },
        event: 'pusher_internal:watchlist_events',
        data: watchlistData([id], []),
        origin: 'internal',
      });
    }
  }

  /** `POST /apps/:id/users/:userId/terminate_connections`: every node closes that user's Pusher sockets. */
  async terminate(appId: string, userId: string): Promise<void> {
    await this.broadcast.publish({
      tenant: appId,
      target: { kind: 'connections', connectionIds: [] },
      event: TERMINATE_USER_EVENT,
      data: { userId },
      origin: 'internal',
    });
  }

  private closeUser(envelope: Envelope): void {
    const userId = record(envelope.data).userId;
    if (typeof userId !== 'string') return;
    const victims = [...this.registry.resolve(envelope.tenant, { kind: 'users', userIds: [userId] })].filter(isPusherConnection);
    for (const connection of victims) {
      connection.sendText(errorFrame(TERMINATED_REASON, PusherCode.Unauthorized));
      this.registry.remove(connection, PusherCode.Unauthorized);
      connection.close(PusherCode.Unauthorized, TERMINATED_REASON);
    }
    if (victims.length > 0) this.logger.log(`Terminated ${victims.length} connection(s) of user ${userId} in app ${envelope.tenant}`);
  }
}
