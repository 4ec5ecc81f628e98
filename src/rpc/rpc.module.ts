import { Module } from '@nestjs/common';
import { ChannelsModule } from '../channels/channels.module.js';
import { BroadcasterCodec } from './broadcaster.codec.js';
import { JsonRpcCodec } from './jsonrpc.codec.js';
import { JsonRpcGateway } from './jsonrpc.gateway.js';
import { RpcGateway } from './rpc.gateway.js';
import { RpcMethods } from './rpc-methods.service.js';
import { RpcSockets } from './rpc-sockets.service.js';
import { RpcSubscriptions } from './rpc-subscriptions.service.js';

/** `/ws/rpc` and `/ws/jsonrpc`: one set of methods, two framings. */
@Module({
  imports: [ChannelsModule],
  providers: [RpcGateway, JsonRpcGateway, BroadcasterCodec, JsonRpcCodec, RpcSockets, RpcMethods, RpcSubscriptions],
})
export class RpcModule {}
