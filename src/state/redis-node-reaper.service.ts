import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import { RedisClients } from '../cluster/redis.clients.js';
import { AppRegistry } from '../config/app-registry.service.js';
import { hasWebhooks, WATCHLIST_PREFIX } from '../channels/channel-name.js';
import { watchlistData } from '../pusher/pusher.frames.js';
import { WebhookService } from '../webhooks/webhook.service.js';
import { RedisNodeMembership } from './redis-node-membership.service.js';
import { ONLINE_REMOVE, PRESENCE_LEAVE, RedisStateKeys } from './redis-pusher-state.js';
import { parsePeerJson } from '../common/json.js';

/** KEYS global occupancy; ARGV channel, count → 1 when the channel became vacant. */
const RELEASE_OCCUPANCY = `local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2]))
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]); return 1 end
return 0`;

function parts(raw: string): string[] {
  const parsed = parsePeerJson(raw);
  return Array.isArray(parsed) ? parsed.map(String) : [];
}

/**
 * Takes a dead (or departing) node's share out of the shared Pusher state, with the events its own
 * disconnects would have caused: `member_removed` to the remaining members (+ webhook) for users
 * whose last connection was there, `channel_vacated` for channels only it occupied, watchlist
 * `offline` for users only signed in there.
 */
@Injectable()
export class RedisNodeReaper implements OnModuleInit {
  private readonly logger = new Logger('ClusterReaper');

  constructor(
    private readonly clients: RedisClients,
    private readonly membership: RedisNodeMembership,
    private readonly keys: RedisStateKeys,
    private readonly broadcast: BroadcastService,
    private readonly webhooks: WebhookService,
    private readonly apps: AppRegistry,
  ) {}

  onModuleInit(): void {
    if (this.clients.enabled) this.membership.addReaper({ reap: (nodeId) => this.reap(nodeId) });
  }

  async reap(nodeId: string): Promise<void> {
    const redis = this.clients.command;
    const presence = this.keys.owned('pr', nodeId);
    let removed = 0;
    for (const raw of await redis.smembers(presence)) {
      const [appId, channel, connectionId, userId] = parts(raw);
      const last = await redis.eval(PRESENCE_LEAVE, 4, ...this.keys.presence(appId, channel), presence, connectionId, userId, raw);
      if (last === 1) {
        removed++;
        await this.memberRemoved(appId, channel, userId);
      }
    }
    await redis.del(presence);

    const occupancy = this.keys.owned('occ', nodeId);
    let vacated = 0;
    for (const [raw, count] of Object.entries(await redis.hgetall(occupancy))) {
      const [appId, channel] = parts(raw);
      if ((await redis.eval(RELEASE_OCCUPANCY, 1, this.keys.occupancy(appId), channel, count)) !== 1) continue;
      vacated++;
      const app = this.apps.findById(appId);
      if (app && hasWebhooks(channel)) this.webhooks.emit(app, { name: 'channel_vacated', channel });
    }
    await redis.del(occupancy);

    const online = this.keys.owned('on', nodeId);
    for (const raw of await redis.smembers(online)) {
      const [appId, userId, connectionId] = parts(raw);
      if ((await redis.eval(ONLINE_REMOVE, 2, this.keys.online(appId, userId), online, connectionId, raw)) === 1) {
        await this.publish(appId, WATCHLIST_PREFIX + userId, 'pusher_internal:watchlist_events', watchlistData([], [userId]));
      }
    }
    await redis.del(online);
    if (removed + vacated > 0) this.logger.log(`Node ${nodeId}: removed ${removed} presence member(s), vacated ${vacated} channel(s)`);
  }

  private async memberRemoved(appId: string, channel: string, userId: string): Promise<void> {
    await this.publish(appId, channel, 'pusher_internal:member_removed', { user_id: userId });
    const app = this.apps.findById(appId);
    if (!app) return;
    this.webhooks.emit(app, { name: 'member_removed', channel, user_id: userId });
  }

  private async publish(tenant: string, channel: string, event: string, data: unknown): Promise<void> {
    try {
      await this.broadcast.publish({ tenant, target: { kind: 'channel', channel }, event, data, origin: 'internal' });
    } catch (error) {
      this.logger.warn(`Could not announce ${event} on ${channel}: ${(error as Error).message}`);
    }
  }
}
