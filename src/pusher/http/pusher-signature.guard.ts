import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { AppRegistry } from '../../config/app-registry.service.js';
import type { AppConfig } from '../../config/herald-config.js';
import { ApiKeyInvalidError, AppNotFoundError, RateLimitedError } from '../../errors/app.errors.js';
import { AppRateLimits } from '../../limits/app-rate-limits.service.js';
import { RATE_LIMITER, retryAfterSeconds, type RateLimiter } from '../../limits/rate-limiter.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { apiStringToSign, hmacHex, md5Hex, safeEqualHex } from '../pusher-signature.js';
import { AppDisabledError } from './pusher-api.errors.js';

/** `auth_timestamp` must be within this many seconds of the server clock (Pusher's rule; soketi skips it). */
export const TIMESTAMP_WINDOW_SECONDS = 600;

export interface PusherApiRequest extends Request {
  rawBody?: Buffer;
  pusherApp?: AppConfig;
}

/** Every query parameter, decoded once, in order; a repeated key keeps its last value. */
function queryParams(request: Request): Map<string, string> {
  const url = request.originalUrl ?? request.url;
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  return new Map(new URLSearchParams(query));
}

/**
 * Pusher HTTP API authentication: `auth_key` is the app's key, `auth_timestamp` within ±600 s,
 * `auth_version` 1.0, `body_md5` = MD5 of the raw body bytes (before JSON parsing), and
 * `auth_signature` = HMAC-SHA256(secret, "METHOD\nPATH\nsorted query") compared in constant time.
 * Also applies the per-app `maxReadRequestsPerSecond` to GETs (publishes are charged per channel by
 * the controller through `AppRateLimits`).
 */
@Injectable()
export class PusherSignatureGuard implements CanActivate {
  constructor(
    private readonly apps: AppRegistry,
    private readonly metrics: MetricsService,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<PusherApiRequest>();
    const appId = String(request.params.appId ?? '');
    const app = this.apps.findById(appId);
    if (!app) throw new AppNotFoundError(`Unknown app ${appId.slice(0, 64)}`);
    if (!app.enabled) throw new AppDisabledError('The app is disabled');

    const params = queryParams(request);
    const key = params.get('auth_key');
    const timestamp = params.get('auth_timestamp');
    const signature = params.get('auth_signature');
    if (!key || !timestamp || !signature) throw new ApiKeyInvalidError('auth_key, auth_timestamp and auth_signature are required');
    if (key !== app.key) throw new ApiKeyInvalidError('auth_key does not belong to this app');
    const version = params.get('auth_version');
    if (version !== undefined && version !== '1.0') throw new ApiKeyInvalidError('auth_version must be 1.0');
    const seconds = Number(timestamp);
    if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - seconds) > TIMESTAMP_WINDOW_SECONDS) {
      throw new ApiKeyInvalidError(`auth_timestamp must be within ${TIMESTAMP_WINDOW_SECONDS} seconds of the server time`);
    }
    const raw = request.rawBody;
    const bodyMd5 = params.get('body_md5');
    if (raw && raw.length > 0) {
      if (!bodyMd5 || !safeEqualHex(md5Hex(raw), bodyMd5)) throw new ApiKeyInvalidError('body_md5 does not match the request body');
    } else if (bodyMd5 !== undefined && !safeEqualHex(md5Hex(''), bodyMd5)) {
      throw new ApiKeyInvalidError('body_md5 does not match the (empty) request body');
    }
    const expected = hmacHex(app.secret, apiStringToSign(request.method, request.path, params));
    if (!safeEqualHex(expected, signature)) throw new ApiKeyInvalidError('The secret authentication failed');

    if (request.method === 'GET' && app.maxReadRequestsPerSecond >= 0) {
      const decision = await this.limiter.consume(`read:${app.id}`, app.maxReadRequestsPerSecond, 1000);
      if (!decision.allowed) {
        this.metrics.rateLimited(app.id, 'read_requests');
        throw new RateLimitedError(`app ${app.id} is over its read request limit of ${app.maxReadRequestsPerSecond}/s`, retryAfterSeconds(decision));
      }
    }
    request.pusherApp = app;
    return true;
  }
}
