import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { AppRegistry } from '../config/app-registry.service.js';
import { HeraldConfig, type AppConfig } from '../config/herald-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ClientIpResolver } from './client-ip.service.js';
import { OriginPolicy } from './origin-policy.js';
import { RATE_LIMITER, type RateLimiter } from './rate-limiter.js';

/** Pusher puts the app key in the path; every other protocol in `?app=` (or there is one app). */
const PUSHER_PATH = /^\/app\/([^/]+)\/?$/;

/**
 * The WebSocket adapter's `admit` hook, run before any upgrade on every WebSocket path:
 * 1. the app's `allowedOrigins` → 403 (refused before the upgrade, so no protocol code is needed and a
 *    foreign page never gets a socket; browsers report it as a failed connection);
 * 2. upgrades per client IP per window (`HERALD_RATE_LIMIT_WS_UPGRADES`) → 429.
 * Unknown apps pass here; each gateway answers them with its own protocol's code.
 */
@Injectable()
export class UpgradeAdmission {
  private readonly logger = new Logger('Limits');
  private readonly origins = new Map<string, OriginPolicy>();

  constructor(
    private readonly config: HeraldConfig,
    private readonly apps: AppRegistry,
    private readonly ips: ClientIpResolver,
    private readonly metrics: MetricsService,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
  ) {
    for (const app of apps.all()) this.origins.set(app.id, new OriginPolicy(app.allowedOrigins));
  }

  /** An HTTP status to refuse with, or undefined to proceed. */
  admit(request: IncomingMessage): number | undefined | Promise<number | undefined> {
    const app = this.appOf(request);
    if (app && !this.origins.get(app.id)?.allows(request.headers.origin)) {
      this.metrics.rateLimited(app.id, 'origin');
      this.logger.debug(`Refused upgrade for app ${app.id} from origin ${request.headers.origin}`);
      return 403;
    }
    if (this.config.rateLimitWsUpgrades < 0) return undefined;
    const decision = this.limiter.consume(`ws:${this.ips.resolve(request)}`, this.config.rateLimitWsUpgrades, this.config.rateLimitWsWindowMs);
    return decision instanceof Promise ? decision.then((d) => this.verdict(d.allowed)) : this.verdict(decision.allowed);
  }

  private verdict(allowed: boolean): number | undefined {
    if (allowed) return undefined;
    this.metrics.rateLimited('', 'ws_upgrade');
    return 429;
  }

  private appOf(request: IncomingMessage): AppConfig | undefined {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const pusher = PUSHER_PATH.exec(url.pathname);
    if (pusher) return this.apps.findByKey(decodeURIComponent(pusher[1]));
    return this.apps.resolveForSocket(url.searchParams.get('app'));
  }
}
