import { Injectable } from '@nestjs/common';
import type { CachedEvent, ChannelCache } from './channel-cache.js';
import { channelKey } from '../../channels/channel-key.js';

/** Single-node `ChannelCache`; expired entries are dropped when read. */
@Injectable()
export class MemoryChannelCache implements ChannelCache {
  private readonly entries = new Map<string, { event: CachedEvent; expiresAt: number }>();

  async set(app: string, channel: string, event: CachedEvent, ttlSeconds: number): Promise<void> {
    this.entries.set(channelKey(app, channel), { event, expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  async get(app: string, channel: string): Promise<{ event: CachedEvent; ttlSeconds: number } | undefined> {
    const key = channelKey(app, channel);
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
