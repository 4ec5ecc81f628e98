import { Global, Module } from '@nestjs/common';
import { CLUSTER_STATS, LocalClusterStats, type ClusterStats } from '../cluster/cluster-stats.js';
import { HeraldConfig } from '../config/herald-config.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { NatsClusterStats } from './nats-cluster-stats.service.js';
import { NatsHistoryStore } from './nats-history.store.js';
import { NatsHoldings } from './nats-holdings.service.js';
import { NatsNodeReaper } from './nats-node-reaper.service.js';
import { NatsPeers } from './nats-peers.service.js';
import { NatsChannelCache, NatsChannelOccupancy, NatsOnlineUsers, NatsPresenceStore } from './nats-pusher-state.js';
import { NatsRevocationSync } from './nats-revocation-sync.service.js';
import { RedisClusterCounts } from './redis-cluster-counts.js';
import { RedisHistoryStore } from './redis-history.store.js';
import { RedisNodeMembership } from './redis-node-membership.service.js';
import { RedisNodeReaper } from './redis-node-reaper.service.js';
import { RedisChannelCache, RedisChannelOccupancy, RedisOnlineUsers, RedisPresenceStore, RedisStateKeys } from './redis-pusher-state.js';
import { RedisRevocationSync } from './redis-revocation-sync.service.js';

const REDIS_STORES = [RedisPresenceStore, RedisChannelOccupancy, RedisOnlineUsers, RedisChannelCache, RedisHistoryStore, RedisClusterCounts];
const NATS_STORES = [NatsPresenceStore, NatsChannelOccupancy, NatsOnlineUsers, NatsChannelCache, NatsHistoryStore, NatsClusterStats];

/**
 * Shared state for a cluster: the Redis and NATS implementations of every state interface (bound by
 * the owning modules through `byAdapter`), node membership and reaping, the shared denylist, and
 * cluster-wide counts (`CLUSTER_STATS`). Everything here is inert unless its adapter is the one configured.
 */
@Global()
@Module({
  imports: [WebhooksModule],
  providers: [
    ...REDIS_STORES,
    RedisStateKeys,
    RedisNodeMembership,
    RedisNodeReaper,
    RedisRevocationSync,
    ...NATS_STORES,
    NatsPeers,
    NatsHoldings,
    NatsNodeReaper,
    NatsRevocationSync,
    LocalClusterStats,
    {
      provide: CLUSTER_STATS,
      inject: [HeraldConfig, LocalClusterStats, RedisClusterCounts, NatsClusterStats],
      useFactory: (config: HeraldConfig, local: LocalClusterStats, redis: RedisClusterCounts, nats: NatsClusterStats): ClusterStats =>
        config.adapter === 'redis' ? redis : config.adapter === 'nats' ? nats : local,
    },
  ],
  exports: [...REDIS_STORES, ...NATS_STORES, CLUSTER_STATS],
})
export class ClusterStateModule {}
