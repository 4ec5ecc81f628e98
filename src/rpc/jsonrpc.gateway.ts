import { WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { JsonRpcCodec } from './jsonrpc.codec.js';
import { RpcSockets } from './rpc-sockets.service.js';

/** `/ws/jsonrpc`: the same methods as `/ws/rpc` in strict JSON-RPC 2.0 framing. */
@WebSocketGateway({ path: '/ws/jsonrpc' })
export class JsonRpcGateway implements OnGatewayConnection {
  constructor(
    private readonly sockets: RpcSockets,
    private readonly codec: JsonRpcCodec,
  ) {}

  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    this.sockets.accept(socket, request, this.codec);
  }
}
