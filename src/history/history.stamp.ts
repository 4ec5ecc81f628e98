import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { BroadcastService, type EnvelopeStamp } from '../broadcast/broadcast.service.js';
import type { Envelope } from '../broadcast/envelope.js';
import { isApplicationChannel } from '../channels/channel-name.js';
import { AppRegistry } from '../config/app-registry.service.js';
import type { HistoryStore } from './history.store.js';
import { HISTORY_STORE } from './history.tokens.js';

/**
 * Gives every application-channel message a position (offset + epoch) and keeps it for recovery,
 * whatever published it (RPC, REST, Pusher HTTP API, Pusher client events). Runs once, on the
 * publishing node, before the envelope leaves, so every node and every protocol sees the same offset.
 * Protocol-internal envelopes (Pusher member_added, subscription_count) and `#` channels get none.
 */
@Injectable()
export class HistoryStamp implements EnvelopeStamp, OnModuleInit {
  constructor(
    private readonly broadcast: BroadcastService,
    private readonly apps: AppRegistry,
    @Inject(HISTORY_STORE) private readonly history: HistoryStore,
  ) {}

  onModuleInit(): void {
    this.broadcast.addStamp(this);
  }

  async stamp(envelope: Envelope): Promise<void> {
    const target = envelope.target;
    if (target.kind !== 'channel' || envelope.origin === 'internal' || !isApplicationChannel(target.channel)) return;
    const app = this.apps.findById(envelope.tenant);
    if (!app) return;
    envelope.position = await this.history.append(
      envelope.tenant,
      target.channel,
      {
        id: envelope.id,
        channel: target.channel,
        event: envelope.event,
        data: envelope.data,
        createTime: envelope.createTime,
        ...(envelope.senderUserId !== undefined && { senderUserId: envelope.senderUserId }),
      },
      { size: app.historySize, ttlSeconds: app.historyTtlSeconds },
    );
  }
}
