import { Inject, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { socketId } from '../common/ids.js';
import { AppRegistry } from '../config/app-registry.service.js';
import { ConnectionLifecycle } from '../connections/connection-lifecycle.service.js';
import { LifecycleState } from '../health/lifecycle-state.service.js';
import { FrameRateLimiter, type FrameBudget } from '../limits/frame-rate-limiter.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ErrorBoundary } from '../common/error-boundary.js';
import { decodePathSegment, parseRequestTarget } from '../common/request-target.js';
import { InboundFrames } from '../ws/inbound-frames.js';
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
/** Close code after an internal error: 4200 makes pusher-js reconnect at once (4000–4099 would stop it). */
const INTERNAL_ERROR_CLOSE = 4200;

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
    private readonly inbound: InboundFrames,
    private readonly boundary: ErrorBoundary,
  ) {}

  onModuleInit(): void {
    this.sweep = setInterval(this.boundary.guard('timer', () => this.checkLiveness(), 'pusher liveness sweep'), LIVENESS_SWEEP_MS);
    this.sweep.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweep);
  }

  /** Nest calls this from an RxJS subscriber: the handshake's rejection is handled here, and the handler of it cannot throw. */
  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    this.accept(socket, request).catch((error: unknown) => this.refuse(socket, error));
  }

  private refuse(socket: WebSocket, error: unknown): void {
    try {
      if (error instanceof HandshakeRefused) {
        if (socket.readyState === 1) socket.send(errorFrame(error.message, error.closeCode));
        socket.close(error.closeCode, closeReason(error.message));
        return;
      }
      this.boundary.report('upgrade', error, 'pusher handshake');
      socket.close(1011, closeReason('Internal error'));
    } catch (closeError) {
      this.boundary.report('upgrade', closeError, 'pusher handshake refusal');
      socket.terminate();
    }
  }

  private async accept(socket: WebSocket, request: IncomingMessage): Promise<void> {
    const target = parseRequestTarget(request.url);
    // An undecodable key (`/app/%ZZ`) names no app, like any unknown key.
    const key = (target && decodePathSegment(target.pathname.replace(/\/+$/, '').split('/').pop() ?? '')) ?? '';
    if (!this.state.acceptingConnections) throw new HandshakeRefused(PusherCode.Restart, 'Server is restarting, reconnect');
    const app = this.apps.findByKey(key);
    if (!app) throw new HandshakeRefused(PusherCode.AppNotFound, `App key ${key.slice(0, 64)} does not exist`);
    if (!app.enabled) throw new HandshakeRefused(PusherCode.AppDisabled, 'The app is disabled');
    const protocol = target?.searchParams.get('protocol') ?? null;
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
    this.inbound.bind(socket, (data: RawData, isBinary: boolean) => this.onFrame(connection, budget, data, isBinary), INTERNAL_ERROR_CLOSE);
    connection.sendText(connectionEstablishedFrame(connection.id));
    if (app.enableUserAuthentication) {
      connection.session.authTimer = setTimeout(
        this.boundary.guard('timer', () => {
          connection.sendText(errorFrame('Connection not authorized within the timeout', PusherCode.Unauthorized));
          connection.close(PusherCode.Unauthorized, 'Connection not authorized within timeout');
        }, 'pusher auth timeout'),
        app.userAuthenticationTimeout,
      );
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
      .catch((error: unknown) => this.frameFailed(connection, error));
  }

  /** A queued frame's handler rejected: logged and counted; the client gets `pusher:error` and the socket stays open. */
  private frameFailed(connection: PusherConnection, error: unknown): void {
    this.boundary.report('frame', error, 'pusher frame');
    try {
      connection.sendText(errorFrame('Internal error'));
    } catch (sendError) {
      this.boundary.report('frame', sendError, 'pusher error frame');
      connection.close(INTERNAL_ERROR_CLOSE, 'Internal error');
    }
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
