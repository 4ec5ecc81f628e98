import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import type { Subscription } from 'rxjs';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import { AppRegistry } from '../config/app-registry.service.js';
import type { AppConfig } from '../config/herald-config.js';
import type { Connection } from '../connections/connection.js';
import { ConnectionRegistry, type RegistryEvent } from '../connections/connection-registry.service.js';
import { WebhookService } from '../webhooks/webhook.service.js';
import { channelInfo, hasWebhooks, isInternal, WATCHLIST_PREFIX } from '../channels/channel-name.js';
import { watchlistData } from './pusher.frames.js';
import { clearAuthTimer, isPusherConnection } from './pusher-session.js';
import type { ChannelOccupancy } from './state/channel-occupancy.js';
import type { ConnectionCounter } from './state/connection-counter.js';
import type { OnlineUsers } from './state/online-users.js';
import type { PresenceStore } from './state/presence.store.js';
import { CHANNEL_OCCUPANCY, CONNECTION_COUNTER, ONLINE_USERS, PRESENCE_STORE } from './state/pusher-state.tokens.js';
import { channelKey, keyOf, memberKey } from '../channels/channel-key.js';

/** Above this many subscribers, `subscription_count` goes out at most every `COUNT_THROTTLE_MS` (Pusher's rule). */
const COUNT_THROTTLE_ABOVE = 100;
const COUNT_THROTTLE_MS = 5_000;

/**
 * Keeps the cluster-wide state in step with the registry, for every protocol (one channel space):
 * connection counts, channel occupancy (→ `channel_occupied` / delayed `channel_vacated` webhooks,
 * `subscription_count`), presence leave on unsubscribe *and* disconnect (→ `member_removed` to the
 * remaining members on the user's last leave), and watchlist `offline` when a signed-in user's last
 * connection goes. Runs off the socket path: the registry emits synchronously, the work here is async.
 */
@Injectable()
export class PusherChannelState implements OnModuleInit, OnModuleDestroy {
  private subscription?: Subscription;
  private readonly countThrottle = new Map<string, { lastSentAt: number; timer?: NodeJS.Timeout }>();

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly apps: AppRegistry,
    private readonly broadcast: BroadcastService,
    private readonly webhooks: WebhookService,
    @Inject(PRESENCE_STORE) private readonly presence: PresenceStore,
    @Inject(CHANNEL_OCCUPANCY) private readonly occupancy: ChannelOccupancy,
    @Inject(CONNECTION_COUNTER) private readonly counter: ConnectionCounter,
    @Inject(ONLINE_USERS) private readonly online: OnlineUsers,
    private readonly boundary: ErrorBoundary,
  ) {}

  onModuleInit(): void {
    this.subscription = this.registry.events$.subscribe(
      this.boundary.guard('subscriber', (event: RegistryEvent) => {
        this.handle(event).catch(this.boundary.catcher('task'));
      }, 'pusher channel state'),
    );
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
    for (const entry of this.countThrottle.values()) clearTimeout(entry.timer);
  }

  private async handle(event: RegistryEvent): Promise<void> {
    const app = this.apps.findById(event.connection.tenant);
    if (!app) return;
    switch (event.type) {
      case 'connected':
        await this.counter.increment(app.id);
        return;
      case 'disconnected':
        await this.counter.decrement(app.id);
        await this.signedOut(app, event.connection);
        return;
      case 'subscribed':
        if (!isInternal(event.channel)) await this.subscribed(app, event.channel);
        return;
      case 'unsubscribed':
        await this.leavePresence(app, event.connection, event.channel);
        if (!isInternal(event.channel)) await this.unsubscribed(app, event.channel);
        return;
      case 'identified':
        return;
      default: {
        const unreachable: never = event;
        throw new Error(`unknown registry event ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private async subscribed(app: AppConfig, channel: string): Promise<void> {
    const { count, changed } = await this.occupancy.add(app.id, channel);
    // A pending vacancy on this node is taken back here; one on another node, by the store.
    if (changed && hasWebhooks(channel) && !this.webhooks.cancel(keyOf('vacated', channelKey(app.id, channel)))) {
      this.webhooks.emit(app, { name: 'channel_occupied', channel });
    }
    this.countChanged(app, channel, count);
  }

  private async unsubscribed(app: AppConfig, channel: string): Promise<void> {
    const { count, changed } = await this.occupancy.remove(app.id, channel);
    if (changed && hasWebhooks(channel) && this.webhooks.enabled(app, 'channel_vacated')) {
      this.webhooks.emitLater(app, { name: 'channel_vacated', channel }, keyOf('vacated', channelKey(app.id, channel)), () => this.occupancy.settleVacancy(app.id, channel));
    } else if (changed) {
      // Nobody waits on this vacancy: settle it now so the next subscriber counts as occupying.
      await this.occupancy.settleVacancy(app.id, channel);
    }
    this.countChanged(app, channel, count);
  }

  private async leavePresence(app: AppConfig, connection: Connection, channel: string): Promise<void> {
    if (!isPusherConnection(connection)) return;
    const member = connection.session.presence.get(channel);
    if (!member) return;
    connection.session.presence.delete(channel);
    const { lastLeave } = await this.presence.leave(app.id, channel, connection.id, member.userId);
    if (!lastLeave) return;
    await this.broadcast.publish({
      tenant: app.id,
      target: { kind: 'channel', channel },
      event: 'pusher_internal:member_removed',
      data: { user_id: member.userId },
      origin: 'internal',
    });
    this.webhooks.emitLater(
      app,
      { name: 'member_removed', channel, user_id: member.userId },
      keyOf('member', memberKey(app.id, channel, member.userId)),
      async () => !(await this.presence.isMember(app.id, channel, member.userId)),
    );
  }

  private async signedOut(app: AppConfig, connection: Connection): Promise<void> {
    if (!isPusherConnection(connection)) return;
    clearAuthTimer(connection.session);
    const user = connection.session.user;
    if (!user) return;
    if (await this.online.remove(app.id, user.id, connection.id)) {
      await this.broadcast.publish({
        tenant: app.id,
        target: { kind: 'channel', channel: WATCHLIST_PREFIX + user.id },
        event: 'pusher_internal:watchlist_events',
        data: watchlistData([], [user.id]),
        origin: 'internal',
      });
    }
  }

  /** `pusher_internal:subscription_count` (non-presence channels, when enabled) and its webhook. */
  private countChanged(app: AppConfig, channel: string, count: number): void {
    const kind = channelInfo(channel).kind;
    const wantsEvent = app.enableSubscriptionCount && kind !== 'presence' && kind !== 'server-to-user';
    const wantsWebhook = hasWebhooks(channel) && this.webhooks.enabled(app, 'subscription_count');
    if (!wantsEvent && !wantsWebhook) return;
    const key = channelKey(app.id, channel);
    const entry = this.countThrottle.get(key) ?? { lastSentAt: 0 };
    if (count > COUNT_THROTTLE_ABOVE && Date.now() - entry.lastSentAt < COUNT_THROTTLE_MS) {
      // Trailing send with the count as it is then.
      entry.timer ??= setTimeout(() => {
        entry.timer = undefined;
        // The Redis/NATS stores reject (TransportUnavailableError) while the broker is down: that count is skipped, counted, logged.
        this.occupancy
          .count(app.id, channel)
          .then((latest) => this.sendCount(app, channel, latest, wantsEvent, wantsWebhook, entry))
          .catch(this.boundary.catcher('task'));
      }, COUNT_THROTTLE_MS - (Date.now() - entry.lastSentAt));
      this.countThrottle.set(key, entry);
      return;
    }
    if (count === 0) this.countThrottle.delete(key);
    else this.countThrottle.set(key, entry);
    this.sendCount(app, channel, count, wantsEvent, wantsWebhook, entry);
  }

  private sendCount(app: AppConfig, channel: string, count: number, event: boolean, webhook: boolean, entry: { lastSentAt: number }): void {
    entry.lastSentAt = Date.now();
    if (webhook) this.webhooks.emit(app, { name: 'subscription_count', channel, subscription_count: count });
    if (!event || count === 0) return;
    void this.broadcast
      .publish({
        tenant: app.id,
        target: { kind: 'channel', channel },
        event: 'pusher_internal:subscription_count',
        data: { subscription_count: count },
        origin: 'internal',
      })
      .catch(this.boundary.catcher('task'));
  }
}
