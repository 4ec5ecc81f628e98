import { Global, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { AppRateLimits } from './app-rate-limits.service.js';
import { ClientIpResolver } from './client-ip.service.js';
import { FrameRateLimiter } from './frame-rate-limiter.service.js';
import { HttpRateLimitMiddleware } from './http-rate-limit.middleware.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import { RATE_LIMITER } from './rate-limiter.js';
import { UpgradeAdmission } from './upgrade-admission.service.js';

/**
 * Rate limits and abuse controls: per IP (upgrades, REST), per connection (frames), per app (backend
 * and client events), allowed origins. Windows live in `RATE_LIMITER` (memory; bind a Redis one for
 * cluster-wide limits).
 */
@Global()
@Module({
  providers: [
    MemoryRateLimiter,
    { provide: RATE_LIMITER, useExisting: MemoryRateLimiter },
    ClientIpResolver,
    UpgradeAdmission,
    FrameRateLimiter,
    AppRateLimits,
  ],
  exports: [RATE_LIMITER, ClientIpResolver, UpgradeAdmission, FrameRateLimiter, AppRateLimits],
})
export class LimitsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpRateLimitMiddleware).forRoutes('*');
  }
}
