import { Logger } from '@nestjs/common';
import { WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { SocketAuthenticator } from '../auth/socket-authenticator.service.js';
import type { Connection } from '../connections/connection.js';
import { ConnectionLifecycle } from '../connections/connection-lifecycle.service.js';
import { LifecycleState } from '../health/lifecycle-state.service.js';
import { FrameRateLimiter, type FrameBudget } from '../limits/frame-rate-limiter.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ErrorBoundary } from '../common/error-boundary.js';
import { InboundFrames } from '../ws/inbound-frames.js';
import { BusCodec } from './bus.codec.js';
import { closeReason } from '../common/close-reason.js';

/**
 * `/ws/bus`: Cloudillo's tenant bus. Authenticated at the upgrade (JWT; 4401 / 4404 close right after
 * it otherwise), registered per (tenant, user, session, token); every client frame gets exactly one
 * reply: an ack, or an error frame for malformed input (the socket stays open).
 */
@WebSocketGateway({ path: '/ws/bus' })
export class BusGateway implements OnGatewayConnection {
  private readonly logger = new Logger('BusGateway');

  constructor(
    private readonly auth: SocketAuthenticator,
    private readonly lifecycle: ConnectionLifecycle,
    private readonly codec: BusCodec,
    private readonly state: LifecycleState,
    private readonly metrics: MetricsService,
    private readonly frameLimiter: FrameRateLimiter,
    private readonly inbound: InboundFrames,
    private readonly boundary: ErrorBoundary,
  ) {}

  /** Nest calls this from an RxJS subscriber, which would rethrow asynchronously: nothing may escape it. */
  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    try {
      this.accept(socket, request);
    } catch (error) {
      this.boundary.report('upgrade', error, 'bus handshake');
      socket.close(1011, closeReason('Internal error'));
    }
  }

  private accept(socket: WebSocket, request: IncomingMessage): void {
    if (!this.state.acceptingConnections) {
      socket.close(this.codec.restart.code, closeReason(this.codec.restart.reason));
      return;
    }
    const authenticated = this.auth.authenticateOrClose(socket, request);
    if (!authenticated) return;
    const identity = authenticated.token.identity;
    const connection = this.lifecycle.attach({ socket, identity, protocol: 'bus', codec: this.codec, session: null });
    const budget = this.frameLimiter.budget(connection);
    this.inbound.bind(socket, (data: RawData, isBinary: boolean) => this.onFrame(connection, budget, data, isBinary));
  }

  private onFrame(connection: Connection, budget: FrameBudget, data: RawData, isBinary: boolean): void {
    this.metrics.frameReceived(connection, data);
    const verdict = budget.take();
    if (verdict !== 'ok') {
      // Over the per-connection frame rate: told once per frame up to twice the limit, then closed (1008 stops the Cloudillo client).
      if (verdict === 'limited') connection.sendText(this.codec.error(null, 'too many frames per second; slow down', 'rate_limited'));
      else connection.close(1008, 'Too many frames');
      return;
    }
    if (isBinary) {
      connection.sendText(this.codec.error(null, 'binary frames are not supported; send JSON text'));
      return;
    }
    const parsed = this.codec.parse(data.toString());
    if (!parsed.ok) {
      connection.sendText(this.codec.error(parsed.id, parsed.message));
      return;
    }
    const { frame } = parsed;
    if (frame.cmd === 'ping') {
      connection.sendText(this.codec.ack(frame.id, 'pong'));
      return;
    }
    // The bus is a generic transport: other cmds are acknowledged, not routed (as in Cloudillo).
    this.logger.debug(`bus cmd "${frame.cmd}" from ${connection.id}`);
    connection.sendText(this.codec.ack(frame.id, 'ok'));
  }
}
