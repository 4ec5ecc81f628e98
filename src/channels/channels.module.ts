import { Module } from '@nestjs/common';
import { PusherStateModule } from '../pusher/state/pusher-state.module.js';
import { ChannelAuthorizer } from './channel-authorizer.service.js';
import { ChannelPublisher } from './channel-publisher.service.js';
import { ChannelsController } from './channels.controller.js';

/** The shared channel space: REST publish and counts, the publisher the RPC `publish` uses, the channel authorizer. */
@Module({
  imports: [PusherStateModule],
  controllers: [ChannelsController],
  providers: [ChannelPublisher, ChannelAuthorizer],
  exports: [ChannelPublisher, ChannelAuthorizer],
})
export class ChannelsModule {}
