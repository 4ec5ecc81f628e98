import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/herald-config.js';
import { RateLimitedError } from '../errors/app.errors.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { RATE_LIMITER, retryAfterSeconds, type RateLimiter } from './rate-limiter.js';

/**
 * Per-app rates from the app config (soketi semantics: per second, -1 = unlimited), over the shared
 * RateLimiter so they become cluster-wide when a Redis limiter is bound.
 */
@Injectable()
export class AppRateLimits {
  constructor(
    private readonly metrics: MetricsService,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
  ) {}

  /**
   * Backend publishes (`maxBackendEventsPerSecond`): REST `POST /api/messages` takes 1, a Pusher
   * `/events` call takes one per channel, `/batch_events` one per event. Throws `RateLimitedError` (429).
   */
  async takeBackendEvents(app: AppConfig, events = 1): Promise<void> {
    await this.take(app, 'backend', app.maxBackendEventsPerSecond, events, 'backend_events');
  }

  private async take(app: AppConfig, bucket: string, limit: number, cost: number, kind: 'backend_events'): Promise<void> {
    if (limit < 0) return;
    const decision = await this.limiter.consume(`${bucket}:${app.id}`, limit, 1000, cost);
    if (decision.allowed) return;
    this.metrics.rateLimited(app.id, kind, cost);
    throw new RateLimitedError(`app ${app.id} is over its ${kind.replace('_', ' ')} limit of ${limit}/s`, retryAfterSeconds(decision), { limit });
  }
}
