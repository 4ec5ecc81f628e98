import { Injectable } from '@nestjs/common';
import type { ConnectionCounter } from './connection-counter.js';

/** Single-node `ConnectionCounter`. */
@Injectable()
export class MemoryConnectionCounter implements ConnectionCounter {
  private readonly counts = new Map<string, number>();

  async increment(app: string): Promise<number> {
    const next = (this.counts.get(app) ?? 0) + 1;
    this.counts.set(app, next);
    return next;
  }

  async decrement(app: string): Promise<number> {
    const next = Math.max(0, (this.counts.get(app) ?? 0) - 1);
    this.counts.set(app, next);
    return next;
  }

  async count(app: string): Promise<number> {
    return this.counts.get(app) ?? 0;
  }
}
