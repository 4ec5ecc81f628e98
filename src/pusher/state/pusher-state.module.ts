import { Module } from '@nestjs/common';
import { byAdapter } from '../../state/by-adapter.js';
import type { ChannelCache } from './channel-cache.js';
import type { ChannelOccupancy } from './channel-occupancy.js';
import type { ConnectionCounter } from './connection-counter.js';
import type { OnlineUsers } from './online-users.js';
import type { PresenceStore } from './presence.store.js';
import { NatsClusterStats } from '../../state/nats-cluster-stats.service.js';
import { NatsChannelCache, NatsChannelOccupancy, NatsOnlineUsers, NatsPresenceStore } from '../../state/nats-pusher-state.js';
import { RedisClusterCounts } from '../../state/redis-cluster-counts.js';
import { RedisChannelCache, RedisChannelOccupancy, RedisOnlineUsers, RedisPresenceStore } from '../../state/redis-pusher-state.js';
import { MemoryChannelCache } from './memory-channel-cache.js';
import { MemoryChannelOccupancy } from './memory-channel-occupancy.js';
import { MemoryConnectionCounter } from './memory-connection-counter.js';
import { MemoryOnlineUsers } from './memory-online-users.js';
import { MemoryPresenceStore } from './memory-presence.store.js';
import { CHANNEL_CACHE, CHANNEL_OCCUPANCY, CONNECTION_COUNTER, ONLINE_USERS, PRESENCE_STORE } from './pusher-state.tokens.js';

/**
 * The cluster-wide Pusher state behind small interfaces: in memory on one node, in Redis
 * (`HERALD_ADAPTER=redis`) or assembled from every node by NATS request/reply (`nats`); see src/state/.
 */
@Module({
  providers: [
    byAdapter<PresenceStore>(PRESENCE_STORE, () => new MemoryPresenceStore(), RedisPresenceStore, { inject: NatsPresenceStore }),
    byAdapter<ChannelOccupancy>(CHANNEL_OCCUPANCY, () => new MemoryChannelOccupancy(), RedisChannelOccupancy, { inject: NatsChannelOccupancy }),
    byAdapter<ConnectionCounter>(CONNECTION_COUNTER, () => new MemoryConnectionCounter(), RedisClusterCounts, { inject: NatsClusterStats }),
    byAdapter<ChannelCache>(CHANNEL_CACHE, () => new MemoryChannelCache(), RedisChannelCache, { inject: NatsChannelCache }),
    byAdapter<OnlineUsers>(ONLINE_USERS, () => new MemoryOnlineUsers(), RedisOnlineUsers, { inject: NatsOnlineUsers }),
  ],
  exports: [PRESENCE_STORE, CHANNEL_OCCUPANCY, CONNECTION_COUNTER, CHANNEL_CACHE, ONLINE_USERS],
})
export class PusherStateModule {}
