import { Global, Module } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import { AppRegistry } from '../config/app-registry.service.js';
import { HeraldConfig } from '../config/herald-config.js';
import { ClusterNode } from './cluster-node.js';
import { CLUSTER_TRANSPORT, type ClusterTransport } from './cluster.transport.js';
import { LocalTransport } from './local.transport.js';
import { NatsClient } from './nats.client.js';
import { NatsTransport } from './nats.transport.js';
import { RedisClients } from './redis.clients.js';
import { RedisTransport } from './redis.transport.js';

/**
 * Chooses the transport from `HERALD_ADAPTER` (local | redis | nats). The broker clients are providers
 * of their own (they open connections only when their adapter is chosen), so the shared-state stores
 * can use the same connections; Nest closes them on shutdown (`OnModuleDestroy`).
 */
@Global()
@Module({
  providers: [
    ClusterNode,
    RedisClients,
    NatsClient,
    {
      provide: CLUSTER_TRANSPORT,
      inject: [HeraldConfig, AppRegistry, RedisClients, NatsClient, ErrorBoundary],
      useFactory: (config: HeraldConfig, apps: AppRegistry, redis: RedisClients, nats: NatsClient, boundary: ErrorBoundary): ClusterTransport => {
        switch (config.adapter) {
          case 'local':
            return new LocalTransport();
          case 'redis':
            return new RedisTransport(redis, apps, boundary);
          case 'nats':
            return new NatsTransport(nats, apps, boundary);
          default: {
            const unreachable: never = config.adapter;
            throw new Error(`unknown adapter ${String(unreachable)}`);
          }
        }
      },
    },
  ],
  exports: [CLUSTER_TRANSPORT, ClusterNode, RedisClients, NatsClient],
})
export class ClusterModule {}
