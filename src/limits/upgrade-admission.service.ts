import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { RateLimitedLog } from '../common/rate-limited-log.js';
import { decodePathSegment, parseRequestTarget } from '../common/request-target.js';
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
  /** Refusals are logged at warn, once per burst per kind (a page on a foreign origin retries in a loop). */
  private readonly log = new RateLimitedLog(new Logger('Limits'));
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
    if (app === null) return 400;
    if (app && !this.origins.get(app.id)?.allows(request.headers.origin)) {
      this.metrics.rateLimited(app.id, 'origin');
      this.log.warn(`origin:${app.id}`, `Refused upgrade for app ${app.id} from origin ${JSON.stringify(request.headers.origin ?? null).slice(0, 200)}`);
      return 403;
    }
    if (this.config.rateLimitWsUpgrades < 0) return undefined;
    const decision = this.limiter.consume(`ws:${this.ips.resolve(request)}`, this.config.rateLimitWsUpgrades, this.config.rateLimitWsWindowMs);
    return decision instanceof Promise ? decision.then((d) => this.verdict(d.allowed)) : this.verdict(decision.allowed);
  }

  private verdict(allowed: boolean): number | undefined {
    if (allowed) return undefined;
    this.metrics.rateLimited('', 'ws_upgrade');
    this.log.warn('ws_upgrade', `Refused upgrades over HERALD_RATE_LIMIT_WS_UPGRADES (${this.config.rateLimitWsUpgrades} per ${this.config.rateLimitWsWindowMs} ms per IP)`);
    return 429;
  }

  /** The app the upgrade names, undefined for none/unknown, null for a target that cannot be parsed (→ 400). */
  private appOf(request: IncomingMessage): AppConfig | undefined | null {
    const target = parseRequestTarget(request.url);
    if (!target) return null;
    const pusher = PUSHER_PATH.exec(target.pathname);
    if (pusher) {
      const key = decodePathSegment(pusher[1]);
      // An undecodable key names no app: the Pusher gateway answers it with 4001 like any unknown key.
      return key === null ? undefined : this.apps.findByKey(key);
    }
    return this.apps.resolveForSocket(target.searchParams.get('app'));
  }
}
