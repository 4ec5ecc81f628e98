import { Injectable, Logger } from '@nestjs/common';
import { RedisClients } from '../cluster/redis.clients.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import type { RateDecision, RateLimiter } from './rate-limiter.js';

/**
 * KEYS window; ARGV windowMs, limit, cost → {allowed 0|1, used after, ttl ms}. One script, so the check and
 * the increment are atomic across nodes and a refused take changes nothing (polling a limited key is safe).
 * A window without a TTL (not one we wrote) would refuse forever, so it gets one.
 */
const TAKE = `redis.call('SET', KEYS[1], 0, 'PX', ARGV[1], 'NX')
local used = tonumber(redis.call('GET', KEYS[1])) or 0
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
if used + tonumber(ARGV[3]) > tonumber(ARGV[2]) then return {0, used, ttl} end
return {1, redis.call('INCRBY', KEYS[1], ARGV[3]), ttl}`;

/**
 * A take Redis has not answered by then is decided locally: a stalled (connected but silent) Redis must not
 * hold requests. The late take may still land in Redis, so a stall can over-count by the takes in flight.
 */
export const REDIS_TAKE_TIMEOUT_MS = 250;

/** After a timeout, Redis is not asked again for this long (a stalled Redis would otherwise cost every request the timeout). */
export const REDIS_STALL_BACKOFF_MS = 1_000;

class RedisTakeTimeoutError extends Error {
  constructor() {
    super(`Redis did not answer a rate-limit take within ${REDIS_TAKE_TIMEOUT_MS} ms`);
  }
}

/** The script's reply, narrowed (`unknown` at the Redis boundary). */
function parseTake(reply: unknown): { allowed: boolean; used: number; ttl: number } {
  const [allowed, used, ttl] = Array.isArray(reply) ? (reply as unknown[]) : [];
  if (typeof allowed !== 'number' || typeof used !== 'number' || typeof ttl !== 'number') {
    throw new Error(`unexpected rate-limit reply ${JSON.stringify(reply)}`);
  }
  return { allowed: allowed === 1, used, ttl };
}

/**
 * Cluster-wide fixed windows in Redis (bound when `HERALD_ADAPTER=redis`), same semantics as
 * `MemoryRateLimiter`: a window starts at a key's first hit and lasts `windowMs` by Redis' clock, so node
 * clocks do not matter. One `EVAL` per take on the shared command connection, keys under the cluster prefix
 * (`<prefix>:rl:<key>`).
 *
 * Fails open to local limits: while Redis is down, not ready, erroring or stalled, each take is decided by
 * this node's `MemoryRateLimiter` (so every node allows up to the limit on its own), counted in `fallbacks`,
 * and the outage is logged once when it starts and once when Redis answers again. `consume` never rejects.
 */
@Injectable()
export class RedisRateLimiter implements RateLimiter {
  private readonly logger = new Logger('RateLimits');
  private degraded = false;
  private skipRedisUntil = 0;
  /** Takes decided by the node-local fallback since start. */
  fallbacks = 0;

  constructor(
    private readonly clients: RedisClients,
    private readonly local: MemoryRateLimiter,
  ) {}

  async consume(key: string, limit: number, windowMs: number, cost = 1): Promise<RateDecision> {
    if (!this.clients.commandReady) return this.fallBack(key, limit, windowMs, cost, 'Redis is not connected');
    if (Date.now() < this.skipRedisUntil) return this.fallBack(key, limit, windowMs, cost, 'Redis stalled');
    try {
      const reply = await this.withTimeout(this.clients.run((redis) => redis.eval(TAKE, 1, this.clients.key('rl', key), windowMs, limit, cost)));
      const { allowed, used, ttl } = parseTake(reply);
      this.recovered();
      return { allowed, limit, remaining: Math.max(0, limit - used), resetMs: ttl };
    } catch (error) {
      if (error instanceof RedisTakeTimeoutError) this.skipRedisUntil = Date.now() + REDIS_STALL_BACKOFF_MS;
      return this.fallBack(key, limit, windowMs, cost, (error as Error).message);
    }
  }

  private fallBack(key: string, limit: number, windowMs: number, cost: number, reason: string): RateDecision {
    this.fallbacks++;
    if (!this.degraded) {
      this.degraded = true;
      this.logger.warn(`${reason}: rate limits use node-local windows until Redis answers again`);
    }
    return this.local.consume(key, limit, windowMs, cost);
  }

  private recovered(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.logger.log(`Rate limits are cluster-wide again (${this.fallbacks} takes decided locally so far)`);
  }

  private withTimeout<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new RedisTakeTimeoutError()), REDIS_TAKE_TIMEOUT_MS);
    });
    // race() subscribes to `work`, so its late rejection after a timeout is handled, not unhandled.
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  }
}
