import { Injectable } from '@nestjs/common';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import type { Envelope } from '../broadcast/envelope.js';

/** What a channel publish answers (REST `POST /api/publish`, RPC `publish`). */
export interface PublishedMessage {
  id: string;
  createTime: string;
  /** The message's position in the channel (absent only for channels without positions). */
  offset?: number;
  epoch?: string;
}

/** Publishes one message on one channel of a tenant; every protocol's subscribers receive it. */
@Injectable()
export class ChannelPublisher {
  constructor(private readonly broadcast: BroadcastService) {}

  async publish(tenant: string, channel: string, event: string, data: unknown, origin: Envelope['origin']): Promise<PublishedMessage> {
    const envelope = await this.broadcast.publish({ tenant, target: { kind: 'channel', channel }, event, data: data ?? null, origin });
    return {
      id: envelope.id,
      createTime: envelope.createTime,
      ...(envelope.position && { offset: envelope.position.offset, epoch: envelope.position.epoch }),
    };
  }
}
