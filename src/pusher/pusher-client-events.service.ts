import { Injectable } from '@nestjs/common';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { WebhookService } from '../webhooks/webhook.service.js';
import { channelInfo } from '../channels/channel-name.js';
import { errorFrame, PusherCode, type PusherInbound } from './pusher.frames.js';
import type { PusherConnection } from './pusher-session.js';

/**
 * Client events (`client-*`): enabled per app, private/presence channels only, sender must be
 * subscribed, never echoed to the sender, `user_id` added on presence channels, rate-limited per
 * connection (one-second windows). Every refusal is a `pusher:error` 4301 frame; the socket stays open.
 */
@Injectable()
export class PusherClientEvents {
  constructor(
    private readonly broadcast: BroadcastService,
    private readonly webhooks: WebhookService,
    private readonly metrics: MetricsService,
  ) {}

  async handle(connection: PusherConnection, frame: PusherInbound): Promise<void> {
    const session = connection.session;
    const app = session.app;
    const reject = (message: string) => connection.sendText(errorFrame(message, PusherCode.ClientEventRejected));
    if (!app.enableClientMessages) return reject('Client events are not enabled for this app');
    const channel = frame.channel;
    if (channel === undefined) return reject('Client events need a channel');
    const kind = channelInfo(channel).kind;
    if (kind !== 'private' && kind !== 'presence' && kind !== 'encrypted') {
      return reject('Client events can only be triggered on private and presence channels');
    }
    if (!connection.channels.has(channel)) return reject(`Not subscribed to ${channel}`);
    if (frame.event.length > app.maxEventNameLength) return reject(`Event name is longer than ${app.maxEventNameLength} characters`);
    if (frame.size > app.maxEventPayloadInKb * 1024) return reject(`Event payload is larger than ${app.maxEventPayloadInKb} KB`);
    if (app.maxClientEventsPerSecond !== -1) {
      const now = Date.now();
      if (now - session.clientEventWindowStart >= 1000) {
        session.clientEventWindowStart = now;
        session.clientEventCount = 0;
      }
      if (++session.clientEventCount > app.maxClientEventsPerSecond) {
        this.metrics.rateLimited(app.id, 'client_events');
        return reject(`Rate limit exceeded: at most ${app.maxClientEventsPerSecond} client events per second`);
      }
    }
    const userId = kind === 'presence' ? session.presence.get(channel)?.userId : undefined;
    await this.broadcast.publish({
      tenant: app.id,
      target: { kind: 'channel', channel },
      event: frame.event,
      data: frame.data,
      origin: 'client',
      excludeConnectionId: connection.id,
      ...(userId !== undefined && { senderUserId: userId }),
    });
    if (this.webhooks.enabled(app, 'client_event')) {
      this.webhooks.emit(app, {
        name: 'client_event',
        channel,
        event: frame.event,
        data: typeof frame.data === 'string' ? frame.data : JSON.stringify(frame.data ?? null),
        socket_id: connection.id,
        ...(userId !== undefined && { user_id: userId }),
      });
    }
  }
}
