import { Injectable } from '@nestjs/common';
import type { ChannelOccupancy } from './channel-occupancy.js';

/** Single-node `ChannelOccupancy`: a count per channel, per app. */
@Injectable()
export class MemoryChannelOccupancy implements ChannelOccupancy {
  private readonly apps = new Map<string, Map<string, number>>();

  async add(app: string, channel: string): Promise<number> {
    let channels = this.apps.get(app);
    if (!channels) this.apps.set(app, (channels = new Map()));
    const next = (channels.get(channel) ?? 0) + 1;
    channels.set(channel, next);
    return next;
  }

  async remove(app: string, channel: string): Promise<number> {
    const channels = this.apps.get(app);
    const current = channels?.get(channel) ?? 0;
    if (!channels || current <= 1) {
      channels?.delete(channel);
      return 0;
    }
    channels.set(channel, current - 1);
    return current - 1;
  }

  async count(app: string, channel: string): Promise<number> {
    return this.apps.get(app)?.get(channel) ?? 0;
  }

  async list(app: string, prefix?: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [channel, count] of this.apps.get(app) ?? []) {
      if (prefix === undefined || channel.startsWith(prefix)) out.set(channel, count);
    }
    return out;
  }
}
