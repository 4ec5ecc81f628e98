import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { BroadcastService, type EnvelopeStamp } from '../broadcast/broadcast.service.js';
import type { Envelope } from '../broadcast/envelope.js';
import { channelInfo } from '../channels/channel-name.js';
import { CACHE_TTL_SECONDS } from './pusher.frames.js';
import type { ChannelCache } from './state/channel-cache.js';
import { CHANNEL_CACHE } from './state/pusher-state.tokens.js';

/**
 * Remembers the last server-triggered event of every cache channel, whichever protocol or API
 * published it (client events and protocol-internal events are not cached, as on Pusher).
 * Runs as a publish stamp, so it happens once, on the publishing node, before the envelope leaves.
 */
@Injectable()
export class PusherCacheStamp implements EnvelopeStamp, OnModuleInit {
  constructor(
    private readonly broadcast: BroadcastService,
    @Inject(CHANNEL_CACHE) private readonly cache: ChannelCache,
  ) {}

  onModuleInit(): void {
    this.broadcast.addStamp(this);
  }

  async stamp(envelope: Envelope): Promise<void> {
    const target = envelope.target;
    if (target.kind !== 'channel' || envelope.origin === 'client' || envelope.origin === 'internal') return;
    if (!channelInfo(target.channel).cache) return;
    await this.cache.set(envelope.tenant, target.channel, { event: envelope.event, data: envelope.data }, CACHE_TTL_SECONDS);
  }
}
