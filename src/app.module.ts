import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AuthModule } from './auth/auth.module.js';
import { BroadcastModule } from './broadcast/broadcast.module.js';
import { BusModule } from './bus/bus.module.js';
import { ClusterModule } from './cluster/cluster.module.js';
import { ClusterStateModule } from './state/cluster-state.module.js';
import { ConfigModule } from './config/config.module.js';
import type { HeraldSettings } from './config/herald-config.js';
import type { DestinationStream } from 'pino';
import { ConnectionsModule } from './connections/connections.module.js';
import { HttpErrorFilter } from './errors/http-error.filter.js';
import { HealthModule } from './health/health.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { LimitsModule } from './limits/limits.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { WsModule } from './ws/ws.module.js';
import { PublishModule } from './publish/publish.module.js';
import { PusherModule } from './pusher/pusher.module.js';
import { ChannelsModule } from './channels/channels.module.js';
import { HistoryModule } from './history/history.module.js';
import { RpcModule } from './rpc/rpc.module.js';
import { TopicsModule } from './topics/topics.module.js';

/** Process-level wiring that is not a setting. */
export interface AppModuleOptions {
  /** Where log lines go instead of stdout (tests capture them in-process). */
  logDestination?: DestinationStream;
}

/** Composes the feature modules around settings loaded (and validated) before Nest starts. */
@Module({})
export class AppModule {
  static forRoot(settings: HeraldSettings, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(settings),
        // First, so every later middleware and log line has the request id.
        LoggingModule.forRoot(settings, options.logDestination),
        // Metrics before limits: its HTTP middleware must see the 429s the limits middleware answers.
        MetricsModule,
        WsModule,
        LimitsModule,
        ClusterModule,
        ClusterStateModule,
        AuthModule,
        ConnectionsModule,
        BroadcastModule,
        HealthModule,
        BusModule,
        PusherModule,
        HistoryModule,
        ChannelsModule,
        RpcModule,
        TopicsModule,
        PublishModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: HttpErrorFilter }],
    };
  }
}
