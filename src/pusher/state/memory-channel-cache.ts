import { Injectable } from '@nestjs/common';
import type { CachedEvent, ChannelCache } from './channel-cache.js';

/** Single-node `ChannelCache`; expired entries are dropped when read. */
@Injectable()
export class MemoryChannelCache implements ChannelCache {
  private readonly entries = new Map<string, { event: CachedEvent; expiresAt: number }>();

  async set(app: string, channel: string, event: CachedEvent, ttlSeconds: number): Promise<void> {
    this.entries.set(`${app}\u0000${channel}`, { event, expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  async get(app: string, channel: string): Promise<{ event: CachedEvent; ttlSeconds: number } | undefined> {
    const key = `${app}\u0000${channel}`;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const remaining = entry.expiresAt - Date.now();
    if (remaining <= 0) {
      this.entries.delete(key);
      return undefined;
    }
    return { event: entry.event, ttlSeconds: Math.ceil(remaining / 1000) };
  }
}
