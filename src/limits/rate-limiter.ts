/** DI token: the RateLimiter in use (`RedisRateLimiter` with `HERALD_ADAPTER=redis`, else `MemoryRateLimiter`). */
export const RATE_LIMITER = Symbol('RateLimiter');

/** The outcome of taking from a window. */
export interface RateDecision {
  allowed: boolean;
  /** The window's limit (for `X-RateLimit-Limit`). */
  limit: number;
  /** Units left in the window after this take (0 when refused). */
  remaining: number;
  /** Milliseconds until the window resets (for `Retry-After`). */
  resetMs: number;
}

/**
 * Fixed windows that start at a key's first hit (not aligned to the clock, so `limit` takes always fit
 * in one window). Implementations: `MemoryRateLimiter` (per node) and `RedisRateLimiter` (cluster-wide: one
 * Lua script per take does `SET key 0 PX windowMs NX`, refuses without incrementing when `used + cost > limit`,
 * else `INCRBY`, and answers `PTTL`; it falls back to the memory one while Redis is unavailable).
 */
export interface RateLimiter {
  /**
   * Takes `cost` units from `key`'s window of `windowMs`, allowing at most `limit` per window.
   * A refused take consumes nothing. May answer synchronously (memory) or not (Redis).
   */
  consume(key: string, limit: number, windowMs: number, cost?: number): RateDecision | Promise<RateDecision>;
}

/** `Retry-After` seconds for a decision (at least 1). */
export function retryAfterSeconds(decision: RateDecision): number {
  return Math.max(1, Math.ceil(decision.resetMs / 1000));
}
