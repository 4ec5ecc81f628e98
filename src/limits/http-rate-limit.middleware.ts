import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { HeraldConfig } from '../config/herald-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ClientIpResolver } from './client-ip.service.js';
import { RATE_LIMITER, retryAfterSeconds, type RateDecision, type RateLimiter } from './rate-limiter.js';

/** Probes and scrapes must keep working while a client is being limited. */
const EXEMPT = /^\/(health|metrics|docs)(\/|-json|$)/;

/**
 * REST requests per client IP per window (`HERALD_RATE_LIMIT_HTTP_REQUESTS` / `_WINDOW_MS`). Every
 * limited response carries `X-RateLimit-Limit` and `X-RateLimit-Remaining`; a refusal is 429 with
 * `Retry-After` (seconds) and the usual `{error, message}` body.
 */
@Injectable()
export class HttpRateLimitMiddleware implements NestMiddleware {
  constructor(
    private readonly config: HeraldConfig,
    private readonly ips: ClientIpResolver,
    private readonly metrics: MetricsService,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
  ) {}

  use(request: Request, response: Response, next: NextFunction): void {
    const limit = this.config.rateLimitHttpRequests;
    // originalUrl: `path` is relative to where Nest mounted the middleware.
    if (limit < 0 || EXEMPT.test(request.originalUrl)) return next();
    const decision = this.limiter.consume(`http:${this.ips.resolve(request)}`, limit, this.config.rateLimitHttpWindowMs);
    if (decision instanceof Promise) decision.then((d) => this.apply(d, response, next), next);
    else this.apply(decision, response, next);
  }

  private apply(decision: RateDecision, response: Response, next: NextFunction): void {
    response.setHeader('X-RateLimit-Limit', String(decision.limit));
    response.setHeader('X-RateLimit-Remaining', String(decision.remaining));
    if (decision.allowed) return next();
    this.metrics.rateLimited('', 'http');
    const retryAfter = retryAfterSeconds(decision);
    response.setHeader('Retry-After', String(retryAfter));
    response.status(429).json({ error: 'rate_limited', message: `too many requests; retry in ${retryAfter} s` });
  }
}
