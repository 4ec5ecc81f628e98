import { Injectable } from '@nestjs/common';
import type { ChannelOccupancy, OccupancyChange } from './channel-occupancy.js';

/** Single-node `ChannelOccupancy`: a count per channel, per app. */
@Injectable()
export class MemoryChannelOccupancy implements ChannelOccupancy {
  private readonly apps = new Map<string, Map<string, number>>();

  async add(app: string, channel: string): Promise<OccupancyChange> {
    let channels = this.apps.get(app);
    if (!channels) this.apps.set(app, (channels = new Map()));
    const next = (channels.get(channel) ?? 0) + 1;
    channels.set(channel, next);
    return { count: next, changed: next === 1 };
  }

  async remove(app: string, channel: string): Promise<OccupancyChange> {
    const channels = this.apps.get(app);
    const current = channels?.get(channel) ?? 0;
    if (!channels || current <= 1) {
      channels?.delete(channel);
      return { count: 0, changed: current === 1 };
    }
    channels.set(channel, current - 1);
    return { count: current - 1, changed: false };
  }

  /** One node: the webhook timer it would settle is the only one, and `WebhookService.cancel` takes it back. */
  async settleVacancy(app: string, channel: string): Promise<boolean> {
    return (await this.count(app, channel)) === 0;
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
