import { Injectable, Logger } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service.js';
import type { ErrorSite } from './error-sites.js';
import { RateLimitedLog } from './rate-limited-log.js';

export { ERROR_SITES, type ErrorSite } from './error-sites.js';

/**
 * The one error boundary of every edge (CONVENTIONS §11): whatever a socket, an HTTP request, a broker message
 * or a timer can reach is called inside `try { … } catch (error) { boundary.report(site, error) }` (or through
 * `guard` / `catcher`, built once, never per message), which logs (rate-limited per site: a flood of one bad
 * input costs a counter increment, not a log line each) and counts, and never throws. What to close is the
 * caller's decision: at most the one socket, with its protocol's error.
 */
@Injectable()
export class ErrorBoundary {
  private readonly log = new RateLimitedLog(new Logger('ErrorBoundary'));
  private readonly catchers = new Map<ErrorSite, (error: unknown) => void>();

  constructor(private readonly metrics: MetricsService) {}

  /** Logs and counts an error caught at `site`; `context` names what failed (no user data beyond ids). */
  report(site: ErrorSite, error: unknown, context?: string): void {
    try {
      this.metrics.internalError(site);
      const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
      this.log.error(site, `Internal error at ${site}${context ? ` (${context})` : ''}: ${detail}`);
    } catch {
      // Reporting must never be the thing that throws (a logger transport failing, a getter on `error` throwing).
    }
  }

  /** `fn` inside the boundary; for callbacks created once (timers, per-socket listeners), not per message. */
  guard<A extends unknown[]>(site: ErrorSite, fn: (...args: A) => void, context?: string): (...args: A) => void {
    return (...args: A) => {
      try {
        fn(...args);
      } catch (error) {
        this.report(site, error, context);
      }
    };
  }

  /** A cached rejection handler for `promise.catch(...)` of a fire-and-forget promise: allocated once per site. */
  catcher(site: ErrorSite): (error: unknown) => void {
    let catcher = this.catchers.get(site);
    if (!catcher) {
      catcher = (error: unknown) => this.report(site, error);
      this.catchers.set(site, catcher);
    }
    return catcher;
  }
}
