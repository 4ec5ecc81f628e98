import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AuthModule } from './auth/auth.module.js';
import { BroadcastModule } from './broadcast/broadcast.module.js';
import { BusModule } from './bus/bus.module.js';
import { ClusterModule } from './cluster/cluster.module.js';
import { ConfigModule } from './config/config.module.js';
import type { HeraldSettings } from './config/herald-config.js';
import { ConnectionsModule } from './connections/connections.module.js';
import { HttpErrorFilter } from './errors/http-error.filter.js';
import { HealthModule } from './health/health.module.js';
import { LimitsModule } from './limits/limits.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { PublishModule } from './publish/publish.module.js';

/** Composes the feature modules around settings loaded (and validated) before Nest starts. */
@Module({})
export class AppModule {
  static forRoot(settings: HeraldSettings): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(settings),
        // Metrics before limits: its HTTP middleware must see the 429s the limits middleware answers.
        MetricsModule,
        LimitsModule,
        ClusterModule,
        AuthModule,
        ConnectionsModule,
        BroadcastModule,
        HealthModule,
        BusModule,
        PublishModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: HttpErrorFilter }],
    };
  }
}
