import { Global, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import { CoreMetricsCollector } from './core-metrics.service.js';
import { HttpMetricsMiddleware } from './http-metrics.middleware.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsServer } from './metrics-server.service.js';
import { MetricsService } from './metrics.service.js';

/** Prometheus instruments in one place (MetricsService), fed by core hooks, served at `/metrics`. */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, CoreMetricsCollector, MetricsServer, ErrorBoundary],
  exports: [MetricsService, MetricsServer, ErrorBoundary],
})
export class MetricsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('*');
  }
}
