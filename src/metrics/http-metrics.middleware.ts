import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { AuthenticatedRequest } from '../auth/auth.guard.js';
import { MetricsService } from './metrics.service.js';

function headerBytes(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : 0;
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * soketi's `http_calls_received_total` / `http_received_bytes` / `http_transmitted_bytes`, labelled with
 * the app the request authenticated as (`request.heraldApp`, set by the REST and Pusher API guards; ''
 * when none). Scrapes of `/metrics` are not counted, so a scrape does not move what it measures.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(request: Request, response: Response, next: NextFunction): void {
    // originalUrl: `path` is relative to where Nest mounted the middleware.
    if (/^\/metrics(\?|$)/.test(request.originalUrl)) return next();
    response.once('finish', () => {
      const app = (request as AuthenticatedRequest).heraldApp?.id ?? '';
      this.metrics.httpCall(app, headerBytes(request.headers['content-length']), headerBytes(response.getHeader('content-length')));
    });
    next();
  }
}
