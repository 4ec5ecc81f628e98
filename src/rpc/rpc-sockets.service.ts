import { Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { bearerToken, CLOSE_UNAUTHORIZED, SocketAuthenticator, SocketRejectedError, upgradeUrl } from '../auth/socket-authenticator.service.js';
import { HeraldConfig } from '../config/herald-config.js';
import { ConnectionLifecycle } from '../connections/connection-lifecycle.service.js';
import type { Identity } from '../connections/identity.js';
import { LifecycleState } from '../health/lifecycle-state.service.js';
import { FrameRateLimiter, type FrameBudget } from '../limits/frame-rate-limiter.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ErrorBoundary } from '../common/error-boundary.js';
import { InboundFrames } from '../ws/inbound-frames.js';
import type { RpcCodec, RpcRequest } from './rpc.codec.js';
import { faultOf, type RpcFault } from './rpc.errors.js';
import { newRpcSession, type RpcConnection } from './rpc.session.js';
import { RPC_CONCURRENT_METHODS, RpcMethods } from './rpc-methods.service.js';
import type { RpcOutcome } from './rpc-subscriptions.service.js';
import { closeReason } from '../common/close-reason.js';

/** Requests a connection may have waiting (behind a subscribe reading history) or in flight (publishes) before new ones are refused. */
const MAX_BACKLOG = 1024;

/** Frames arrive as one Buffer (ws concatenates fragments); the other shapes are handled for completeness. */
export function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/**
 * The connection side shared by `/ws/rpc` and `/ws/jsonrpc` (the gateways differ only in codec).
 *
 * Authentication: a token at the upgrade (`Authorization: Bearer` or `?token=`) authenticates at once
 * (an invalid one closes with 4401). Without one the socket is registered right away with an anonymous
 * identity (tenant only: no user, session, token, scope or channel), so it is counted, pinged and
 * drained like any other but cannot be targeted, receives no tenant-wide message and can only call
 * `auth`, `ping` and `heartbeat`; `auth` re-indexes it through `ConnectionRegistry.identify`. Without
 * `auth` within `authTimeoutMs` (HERALD_AUTH_TIMEOUT_MS, default 30 s) it is closed with 4401.
 *
 * Every text frame goes through the codec; every request is handled in order per connection (a
 * request that waits, e.g. a subscribe reading history, holds the later ones back).
 */
@Injectable()
export class RpcSockets {
  private readonly logger = new Logger('RpcGateway');

  constructor(
    private readonly auth: SocketAuthenticator,
    private readonly lifecycle: ConnectionLifecycle,
    private readonly state: LifecycleState,
    private readonly config: HeraldConfig,
    private readonly metrics: MetricsService,
    private readonly frameLimiter: FrameRateLimiter,
    private readonly methods: RpcMethods,
    private readonly inbound: InboundFrames,
    private readonly boundary: ErrorBoundary,
  ) {}

  /** Called from the gateways' `handleConnection` (an RxJS subscriber, which would rethrow asynchronously): nothing may escape. */
  accept(socket: WebSocket, request: IncomingMessage, codec: RpcCodec): void {
    try {
      this.attach(socket, request, codec);
    } catch (error) {
      this.boundary.report('upgrade', error, `${codec.protocol} handshake`);
      socket.close(1011, closeReason('Internal error'));
    }
  }

  private attach(socket: WebSocket, request: IncomingMessage, codec: RpcCodec): void {
    if (!this.state.acceptingConnections) {
      socket.close(codec.restart.code, closeReason(codec.restart.reason));
      return;
    }
    let app;
    let identity: Identity;
    let authenticated = false;
    try {
      const url = upgradeUrl(request);
      app = this.auth.resolveApp(request, url);
      const token = bearerToken(request, url);
      if (token) {
        identity = this.auth.verifyToken(token, app).identity;
        authenticated = true;
      } else {
        identity = { tenant: app.id, scopes: [] };
      }
    } catch (error) {
      if (error instanceof SocketRejectedError) {
        socket.close(error.closeCode, closeReason(error.reason));
        return;
      }
      throw error;
    }
    const session = newRpcSession(app, authenticated, request.headers);
    const connection = this.lifecycle.attach({ socket, identity, protocol: codec.protocol, codec, session });
    if (!authenticated) {
      session.authTimer = setTimeout(
        this.boundary.guard('timer', () => connection.close(CLOSE_UNAUTHORIZED, 'Unauthorized - authentication timeout'), 'rpc auth timeout'),
        this.config.authTimeoutMs,
      );
      session.authTimer.unref();
    }
    socket.once('close', () => clearTimeout(session.authTimer));
    const budget = this.frameLimiter.budget(connection);
    this.inbound.bind(socket, (data: RawData, isBinary: boolean) => this.onFrame(connection, codec, budget, data, isBinary));
  }

  private onFrame(connection: RpcConnection, codec: RpcCodec, budget: FrameBudget, data: RawData, isBinary: boolean): void {
    this.metrics.frameReceived(connection, data);
    const verdict = budget.take();
    if (verdict !== 'ok') {
      if (verdict === 'limited') this.reject(connection, codec, null, { kind: 'rate_limited', message: 'too many frames per second; slow down' });
      else connection.close(1008, 'Too many frames');
      return;
    }
    if (isBinary) {
      this.reject(connection, codec, null, { kind: 'invalid_request', message: 'binary frames are not supported; send JSON text' });
      return;
    }
    const parsed = codec.parse(rawText(data));
    if (!parsed.ok) {
      this.reject(connection, codec, parsed.id, parsed.fault);
      return;
    }
    const session = connection.session;
    if (session.busy || session.inFlight >= MAX_BACKLOG || session.backlog.length > 0) {
      if (session.backlog.length >= MAX_BACKLOG) {
        this.reject(connection, codec, parsed.request.id ?? null, { kind: 'rate_limited', message: 'too many requests in flight' });
        return;
      }
      session.backlog.push(parsed.request);
      return;
    }
    this.run(connection, codec, parsed.request);
  }

  private run(connection: RpcConnection, codec: RpcCodec, request: RpcRequest): void {
    let outcome: RpcOutcome | Promise<RpcOutcome>;
    try {
      outcome = this.methods.invoke(connection, request.method, request.params);
    } catch (error) {
      this.fail(connection, codec, request, error);
      return;
    }
    if (!(outcome instanceof Promise)) {
      this.succeed(connection, codec, request, outcome);
      return;
    }
    const session = connection.session;
    if (RPC_CONCURRENT_METHODS.has(request.method)) {
      session.inFlight++;
      outcome
        .then(
          (done) => this.succeed(connection, codec, request, done),
          (error: unknown) => this.fail(connection, codec, request, error),
        )
        .finally(() => {
          session.inFlight--;
          this.drain(connection, codec);
        })
        .catch((error: unknown) => this.broken(connection, error));
      return;
    }
    session.busy = true;
    outcome
      .then(
        (done) => this.succeed(connection, codec, request, done),
        (error: unknown) => this.fail(connection, codec, request, error),
      )
      .finally(() => {
        session.busy = false;
        this.drain(connection, codec);
      })
      .catch((error: unknown) => this.broken(connection, error));
  }

  /** Replying to (or draining after) an asynchronous request threw: the frame boundary, after the fact. */
  private broken(connection: RpcConnection, error: unknown): void {
    this.boundary.report('frame', error, `${connection.protocol} reply`);
    connection.close(1011, 'Internal error');
  }

  /** Runs waiting requests in order until one has to wait again. */
  private drain(connection: RpcConnection, codec: RpcCodec): void {
    const session = connection.session;
    while (!session.busy && session.inFlight < MAX_BACKLOG && session.backlog.length > 0) {
      const next = session.backlog.shift() as RpcRequest;
      if (connection.closed) {
        session.backlog.length = 0;
        return;
      }
      this.run(connection, codec, next);
    }
  }

  private succeed(connection: RpcConnection, codec: RpcCodec, request: RpcRequest, outcome: RpcOutcome): void {
    if (request.id !== undefined) connection.sendText(codec.result(request.id, outcome.result));
    outcome.afterReply?.();
  }

  private fail(connection: RpcConnection, codec: RpcCodec, request: RpcRequest, error: unknown): void {
    const fault = faultOf(error);
    if (fault.kind === 'internal') this.logger.error(`${codec.protocol} ${request.method} failed: ${error instanceof Error ? error.stack : String(error)}`);
    // Notifications are never answered, not even with an error (JSON-RPC 2.0 §4.1, The Broadcaster's id 0).
    if (request.id !== undefined) connection.sendText(codec.error(request.id, fault));
  }

  private reject(connection: RpcConnection, codec: RpcCodec, id: RpcRequest['id'] | null, fault: RpcFault): void {
    connection.sendText(codec.error(id ?? null, fault));
  }
}
