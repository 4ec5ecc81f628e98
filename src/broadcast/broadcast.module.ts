import { Global, Module } from '@nestjs/common';
import { DeliveryService } from '../delivery/delivery.service.js';
import { SocketWriter } from '../delivery/socket-writer.service.js';
import { BroadcastService } from './broadcast.service.js';

/** The core: per-tenant streams, delivery by index, the per-turn socket writer. */
@Global()
@Module({
  providers: [BroadcastService, DeliveryService, SocketWriter],
  exports: [BroadcastService, DeliveryService, SocketWriter],
})
export class BroadcastModule {}
