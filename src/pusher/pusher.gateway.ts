import { Inject, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { socketId } from '../common/ids.js';
import { AppRegistry } from '../config/app-registry.service.js';
import { ConnectionLifecycle } from '../connections/connection-lifecycle.service.js';
import { LifecycleState } from '../health/lifecycle-state.service.js';
import { FrameRateLimiter, type FrameBudget } from '../limits/frame-rate-limiter.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { PusherCodec } from './pusher.codec.js';
import { connectionEstablishedFrame, errorFrame, parseInbound, PING_FRAME, PONG_FRAME, PusherCode, type PusherInbound } from './pusher.frames.js';
import { PusherClientEvents } from './pusher-client-events.service.js';
import { livenessAction, touch } from './pusher-liveness.js';
import { newSession, type PusherConnection } from './pusher-session.js';
import { PusherSubscriptions } from './pusher-subscriptions.service.js';
import { PusherUsers } from './pusher-users.service.js';
import type { ConnectionCounter } from './state/connection-counter.js';
import { CONNECTION_COUNTER } from './state/pusher-state.tokens.js';
import { closeReason } from '../common/close-reason.js';

/** Supported `protocol` query values (1–4 are long gone; pusher-js 8 sends 7). */
const MIN_PROTOCOL = 5;
const MAX_PROTOCOL = 7;
const LIVENESS_SWEEP_MS = 5_000;

/** Why an upgrade is refused: `pusher:error` with the code, then a close with the same code. */
class HandshakeRefused extends Error {
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `/app/:key?protocol=7`: the Pusher Channels protocol v7. The socket id is the connection id; every
 * inbound frame goes through `parseInbound` and is handled in order per connection (handlers may
 * await the cluster-wide state). Refusals follow the close-code contract pusher-js acts on.
 */
@WebSocketGateway({ path: '/app/:key' })
export class PusherGateway implements OnGatewayConnection, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('PusherGateway');
  private readonly live = new Set<PusherConnection>();
  private sweep?: NodeJS.Timeout;

  constructor(
    private readonly apps: AppRegistry,
    private readonly lifecycle: ConnectionLifecycle,
    private readonly codec: PusherCodec,
    private readonly state: LifecycleState,
    private readonly subscriptions: PusherSubscriptions,
    private readonly clientEvents: PusherClientEvents,
    private readonly users: PusherUsers,
    private readonly metrics: MetricsService,
    private readonly frameLimiter: FrameRateLimiter,
    @Inject(CONNECTION_COUNTER) private readonly counter: ConnectionCounter,
  ) {}

  onModuleInit(): void {
    this.sweep = setInterval(() => this.checkLiveness(), LIVENESS_SWEEP_MS);
    this.sweep.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweep);
  }

  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    void this.accept(socket, request).catch((error: unknown) => {
      if (error instanceof HandshakeRefused) {
        if (socket.readyState === 1) socket.send(errorFrame(error.message, error.closeCode));
        socket.close(error.closeCode, closeReason(error.message));
        return;
      }
      this.logger.error(`Pusher handshake failed: ${String(error)}`);
      socket.close(1011, closeReason('Internal error'));
    });
  }

  private async accept(socket: WebSocket, request: IncomingMessage): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const key = decodeURIComponent(url.pathname.replace(/\/+$/, '').split('/').pop() ?? '');
    if (!this.state.acceptingConnections) throw new HandshakeRefused(PusherCode.Restart, 'Server is restarting, reconnect');
    const app = this.apps.findByKey(key);
    if (!app) throw new HandshakeRefused(PusherCode.AppNotFound, `App key ${key.slice(0, 64)} does not exist`);
    if (!app.enabled) throw new HandshakeRefused(PusherCode.AppDisabled, 'The app is disabled');
    const protocol = url.searchParams.get('protocol');
    if (protocol === null || protocol === '') throw new HandshakeRefused(PusherCode.NoProtocol, 'No protocol version supplied (?protocol=7)');
    const version = Number(protocol);
    if (!Number.isInteger(version) || version < MIN_PROTOCOL || version > MAX_PROTOCOL) {
      throw new HandshakeRefused(PusherCode.UnsupportedProtocol, `Unsupported protocol version ${protocol.slice(0, 16)}; use 7`);
    }
    // allowedOrigins is enforced before the upgrade (UpgradeAdmission → HTTP 403).
    if (app.maxConnections !== -1 && (await this.counter.count(app.id)) >= app.maxConnections) {
      throw new HandshakeRefused(PusherCode.OverCapacity, 'Application is over its connection quota');
    }
    if (socket.readyState !== 1) return;

    const connection: PusherConnection = this.lifecycle.attach({
      socket,
      identity: { tenant: app.id, scopes: [] },
      protocol: 'pusher',
      codec: this.codec,
      session: newSession(app),
      id: socketId(),
    });
    this.live.add(connection);
    socket.once('close', () => this.live.delete(connection));
    const budget = this.frameLimiter.budget(connection);
    socket.on('message', (data: RawData, isBinary: boolean) => this.onFrame(connection, budget, data, isBinary));
    connection.sendText(connectionEstablishedFrame(connection.id));
    if (app.enableUserAuthentication) {
      connection.session.authTimer = setTimeout(() => {
        connection.sendText(errorFrame('Connection not authorized within the timeout', PusherCode.Unauthorized));
        connection.close(PusherCode.Unauthorized, 'Connection not authorized within timeout');
      }, app.userAuthenticationTimeout);
      connection.session.authTimer.unref();
    }
  }

  private onFrame(connection: PusherConnection, budget: FrameBudget, data: RawData, isBinary: boolean): void {
    const session = connection.session;
    touch(session);
    this.metrics.frameReceived(connection, data);
    const verdict = budget.take();
    if (verdict !== 'ok') {
      // 43xx only ever as a frame (pusher-js stops reconnecting on a 43xx close); 4100 makes it back off.
      if (verdict === 'limited') connection.sendText(errorFrame('Too many frames per second; slow down', PusherCode.ClientEventRejected));
      else connection.close(PusherCode.OverCapacity, 'Too many frames');
      return;
    }
    if (isBinary) {
      connection.sendText(errorFrame('Binary frames are not supported; send JSON text'));
      return;
    }
    const parsed = this.codec.parse(data.toString());
    if (!parsed.ok) {
      connection.sendText(errorFrame(parsed.message));
      return;
    }
    session.queue = session.queue
      .then(() => this.dispatch(connection, parsed.frame))
      .catch((error: unknown) => {
        this.logger.error(`Frame ${parsed.frame.event} from ${connection.id} failed: ${String(error)}`);
        connection.sendText(errorFrame('Internal error'));
      });
  }

  private async dispatch(connection: PusherConnection, frame: PusherInbound): Promise<void> {
    if (connection.closed) return;
    switch (frame.event) {
      case 'pusher:ping':
        connection.sendText(PONG_FRAME);
        return;
      case 'pusher:pong':
        return;
      case 'pusher:subscribe':
        return this.subscriptions.subscribe(connection, frame.data);
      case 'pusher:unsubscribe':
        return this.subscriptions.unsubscribe(connection, frame.data);
      case 'pusher:signin':
        return this.users.signin(connection, frame.data);
      default:
        if (frame.event.startsWith('client-')) return this.clientEvents.handle(connection, frame);
        connection.sendText(errorFrame(`Unsupported event ${frame.event.slice(0, 64)}`));
    }
  }

  private checkLiveness(): void {
    const now = Date.now();
    for (const connection of this.live) {
      const action = livenessAction(connection.session, now);
      if (action === 'ping') {
        connection.session.pingSentAt = now;
        connection.sendText(PING_FRAME);
      } else if (action === 'close') {
        connection.close(PusherCode.PongNotReceived, 'Pong reply not received');
      }
    }
  }
}
