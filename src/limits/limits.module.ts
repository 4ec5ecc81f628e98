import { Global, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { HeraldConfig } from '../config/herald-config.js';
import { AppRateLimits } from './app-rate-limits.service.js';
import { ClientIpResolver } from './client-ip.service.js';
import { FrameRateLimiter } from './frame-rate-limiter.service.js';
import { HttpRateLimitMiddleware } from './http-rate-limit.middleware.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import { RATE_LIMITER, type RateLimiter } from './rate-limiter.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { UpgradeAdmission } from './upgrade-admission.service.js';

/**
 * Rate limits and abuse controls: per IP (upgrades, REST), per connection (frames), per app (backend
 * events, Pusher API reads), allowed origins. Windows live in `RATE_LIMITER`: in Redis with `HERALD_ADAPTER=redis`
 * (cluster-wide; node-local while Redis is away), otherwise in this node's memory (NATS has no shared store
 * here). Frame limits never use it: they are per connection (FrameRateLimiter).
 */
@Global()
@Module({
  providers: [
    MemoryRateLimiter,
    // Constructed either way (it opens nothing itself; RedisClients connects only with the redis adapter).
    RedisRateLimiter,
    {
      provide: RATE_LIMITER,
      inject: [HeraldConfig, MemoryRateLimiter, RedisRateLimiter],
      useFactory: (config: HeraldConfig, memory: MemoryRateLimiter, redis: RedisRateLimiter): RateLimiter => (config.adapter === 'redis' ? redis : memory),
    },
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
