import type { Logger } from '@nestjs/common';

/** Window in which repeats of one key are counted instead of logged. */
const WINDOW_MS = 10_000;

interface Burst {
  until: number;
  suppressed: number;
}

/**
 * Logs the first line of a burst per key, then counts repeats for `WINDOW_MS` and reports how many were
 * suppressed with the next line after the window: a flood (20,000 refused upgrades, one bad frame per
 * message) costs a map lookup per event, not a log line. Keys are a small closed set (a limit, a site).
 */
export class RateLimitedLog {
  private readonly bursts = new Map<string, Burst>();

  constructor(private readonly logger: Logger) {}

  warn(key: string, message: string): void {
    const line = this.admit(key, message);
    if (line !== null) this.logger.warn(line);
  }

  error(key: string, message: string): void {
    const line = this.admit(key, message);
    if (line !== null) this.logger.error(line);
  }

  private admit(key: string, message: string, now = Date.now()): string | null {
    const burst = this.bursts.get(key);
    if (burst && now < burst.until) {
      burst.suppressed++;
      return null;
    }
    const suppressed = burst?.suppressed ?? 0;
    if (burst) {
      burst.until = now + WINDOW_MS;
      burst.suppressed = 0;
    } else {
      this.bursts.set(key, { until: now + WINDOW_MS, suppressed: 0 });
    }
    return suppressed > 0 ? `${message} (and ${suppressed} more like it in the last ${WINDOW_MS / 1000} s)` : message;
  }
}
