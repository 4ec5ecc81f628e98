import { Module } from '@nestjs/common';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { PusherApiController } from './http/pusher-api.controller.js';
import { PusherSignatureGuard } from './http/pusher-signature.guard.js';
import { PusherApiService } from './pusher-api.service.js';
import { PusherCacheStamp } from './pusher-cache.stamp.js';
import { PusherChannelState } from './pusher-channel-state.service.js';
import { PusherClientEvents } from './pusher-client-events.service.js';
import { PusherCodec } from './pusher.codec.js';
import { PusherGateway } from './pusher.gateway.js';
import { PusherSubscriptions } from './pusher-subscriptions.service.js';
import { PusherUsers } from './pusher-users.service.js';
import { PusherStateModule } from './state/pusher-state.module.js';

/** Pusher Channels v7: `/app/:key` gateway + codec, the `/apps/:id/...` HTTP API, presence, cache channels, users. */
@Module({
  imports: [PusherStateModule, WebhooksModule],
  controllers: [PusherApiController],
  providers: [
    PusherGateway,
    PusherCodec,
    PusherSubscriptions,
    PusherClientEvents,
    PusherUsers,
    PusherChannelState,
    PusherCacheStamp,
    PusherApiService,
    PusherSignatureGuard,
  ],
  exports: [PusherCodec],
})
export class PusherModule {}
