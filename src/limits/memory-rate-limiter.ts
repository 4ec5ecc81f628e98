import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { RateDecision, RateLimiter } from './rate-limiter.js';

interface Window {
  used: number;
  resetAt: number;
}

/** How often expired windows are swept (bounds memory under many distinct keys, e.g. client IPs). */
const SWEEP_MS = 10_000;

/** Per-node fixed windows in a Map; O(1) per take, expired entries swept in the background. */
@Injectable()
export class MemoryRateLimiter implements RateLimiter, OnModuleDestroy {
  private readonly windows = new Map<string, Window>();
  private readonly sweep = setInterval(() => this.prune(), SWEEP_MS);

  constructor() {
    this.sweep.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweep);
  }

  consume(key: string, limit: number, windowMs: number, cost = 1, now = Date.now()): RateDecision {
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { used: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
    }
    const resetMs = window.resetAt - now;
    if (window.used + cost > limit) return { allowed: false, limit, remaining: Math.max(0, limit - window.used), resetMs };
    window.used += cost;
    return { allowed: true, limit, remaining: limit - window.used, resetMs };
  }

  /** Live windows (for tests and debugging). */
  get size(): number {
    return this.windows.size;
  }

  private prune(now = Date.now()): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }
}
