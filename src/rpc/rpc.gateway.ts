import { WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { BroadcasterCodec } from './broadcaster.codec.js';
import { RpcSockets } from './rpc-sockets.service.js';

/** `/ws/rpc`: The Broadcaster's protocol (`{id, method, params}` → `{requestId, result | error}`). */
@WebSocketGateway({ path: '/ws/rpc' })
export class RpcGateway implements OnGatewayConnection {
  constructor(
    private readonly sockets: RpcSockets,
    private readonly codec: BroadcasterCodec,
  ) {}

  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    this.sockets.accept(socket, request, this.codec);
  }
}
