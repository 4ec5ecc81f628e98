import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import { AppRegistry } from '../config/app-registry.service.js';
import { hasWebhooks, WATCHLIST_PREFIX } from '../channels/channel-name.js';
import { watchlistData } from '../pusher/pusher.frames.js';
import { WebhookService } from '../webhooks/webhook.service.js';
import { NatsHoldings, type Holding } from './nats-holdings.service.js';
import { NatsPeers } from './nats-peers.service.js';
import { NatsChannelOccupancy, NatsOnlineUsers, NatsPresenceStore } from './nats-pusher-state.js';

/**
 * Gives a lost NATS peer's share back (it died, or said goodbye with members left over): for every
 * presence member, occupied channel and signed-in user it held, and that no live node holds now,
 * sends what its own disconnects would have sent (`member_removed` + webhook, `channel_vacated`,
 * watchlist `offline`). Only the live node with the smallest id reaps, so each event goes out once
 * while the live nodes agree on who is alive.
 */
@Injectable()
export class NatsNodeReaper implements OnModuleInit {
  private readonly logger = new Logger('ClusterReaper');

  constructor(
    private readonly peers: NatsPeers,
    private readonly holdings: NatsHoldings,
    private readonly broadcast: BroadcastService,
    private readonly webhooks: WebhookService,
    private readonly apps: AppRegistry,
    private readonly presence: NatsPresenceStore,
    private readonly occupancy: NatsChannelOccupancy,
    private readonly online: NatsOnlineUsers,
    private readonly boundary: ErrorBoundary,
  ) {}

  onModuleInit(): void {
    if (!this.peers.enabled) return;
    this.peers.onPeerLost((nodeId) => {
      const held = this.holdings.takeOver(nodeId);
      if (held.length === 0 || !this.peers.isLeader()) return;
      this.reap(nodeId, held).catch(this.boundary.catcher('broker'));
    });
  }

  private async reap(nodeId: string, held: Holding[]): Promise<void> {
    let removed = 0;
    let vacated = 0;
    for (const holding of held) {
      try {
        if (await this.giveBack(holding)) {
          if (holding[0] === 'presence') removed++;
          if (holding[0] === 'channel') vacated++;
        }
      } catch (error) {
        this.logger.warn(`Reaping ${JSON.stringify(holding)} of node ${nodeId} failed: ${(error as Error).message}`);
      }
    }
    this.logger.log(`Node ${nodeId}: removed ${removed} presence member(s), vacated ${vacated} channel(s)`);
  }

  /** True when the holding was nobody's any more and its event went out. */
  private async giveBack(holding: Holding): Promise<boolean> {
    const [kind, appId] = holding;
    const app = this.apps.findById(appId);
    switch (kind) {
      case 'presence': {
        const [, , channel, userId] = holding;
        if (await this.presence.isMember(appId, channel, userId)) return false;
        await this.publish(appId, channel, 'pusher_internal:member_removed', { user_id: userId });
        if (app) this.webhooks.emit(app, { name: 'member_removed', channel, user_id: userId });
        return true;
      }
      case 'channel': {
        const [, , channel] = holding;
        if ((await this.occupancy.count(appId, channel)) > 0) return false;
        if (app && hasWebhooks(channel)) this.webhooks.emit(app, { name: 'channel_vacated', channel });
        return true;
      }
      case 'online': {
        const [, , userId] = holding;
        if ((await this.online.online(appId, [userId])).has(userId)) return false;
        await this.publish(appId, WATCHLIST_PREFIX + userId, 'pusher_internal:watchlist_events', watchlistData([], [userId]));
        return true;
      }
      default: {
        const unreachable: never = kind;
        throw new Error(`unknown holding ${String(unreachable)}`);
      }
    }
  }

  private async publish(tenant: string, channel: string, event: string, data: unknown): Promise<void> {
    await this.broadcast.publish({ tenant, target: { kind: 'channel', channel }, event, data, origin: 'internal' });
  }
}
