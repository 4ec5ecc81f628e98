import { Injectable } from '@nestjs/common';
import { HeraldConfig } from '../config/herald-config.js';
import type { Connection } from '../connections/connection.js';
import { MetricsService } from '../metrics/metrics.service.js';

/**
 * What a gateway does with an inbound frame:
 * - `ok`: handle it;
 * - `limited`: over `maxFramesPerSecond` in this second; drop it and answer with the protocol's
 *   rate-limit error (bus: `error` frame with code `rate_limited`; Pusher: `pusher:error` 4301);
 * - `close`: the client kept going after being told (twice the limit in one second); close the socket
 *   (bus: 1008 policy violation).
 */
export type FrameVerdict = 'ok' | 'limited' | 'close';

/** One connection's frame budget; `take()` is O(1) and allocation-free. */
export class FrameBudget {
  private windowStart = 0;
  private count = 0;

  constructor(
    private readonly limit: number,
    private readonly onRefused: () => void,
  ) {}

  take(now = Date.now()): FrameVerdict {
    if (this.limit < 0) return 'ok';
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.count = 0;
    }
    this.count++;
    if (this.count <= this.limit) return 'ok';
    this.onRefused();
    return this.count <= 2 * this.limit ? 'limited' : 'close';
  }
}

/**
 * Inbound frames per connection per second, for every protocol (`HERALD_MAX_FRAMES_PER_SECOND`,
 * default 100, -1 = unlimited). Per connection state lives in the budget the gateway keeps next to
 * its message handler, so there is no lookup per frame:
 *
 *     const budget = this.frameLimiter.budget(connection);
 *     socket.on('message', (data) => { if (budget.take() !== 'ok') …; … });
 *
 * Always in memory, never `RATE_LIMITER`: a connection lives on one node, and a Redis round trip per frame would cost more than the frame.
 */
@Injectable()
export class FrameRateLimiter {
  constructor(
    private readonly config: HeraldConfig,
    private readonly metrics: MetricsService,
  ) {}

  budget(connection: Connection): FrameBudget {
    return new FrameBudget(this.config.maxFramesPerSecond, () => this.metrics.rateLimited(connection.tenant, 'frames'));
  }
}
