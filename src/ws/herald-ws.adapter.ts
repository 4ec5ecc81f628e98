import { Logger, type INestApplicationContext } from '@nestjs/common';
import { AbstractWsAdapter } from '@nestjs/websockets';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ErrorBoundary } from '../common/error-boundary.js';
import { RateLimitedLog } from '../common/rate-limited-log.js';
import { parseRequestTarget } from '../common/request-target.js';

/** Options every gateway's WebSocket server shares. */
export interface HeraldWsAdapterOptions {
  /** Largest inbound frame in bytes; `ws` closes with 1009 above it. */
  maxPayload: number;
  /** Decides whether an upgrade may proceed (e.g. origin, per-IP limits); return an HTTP status to refuse. May be async (a Redis limiter). */
  admit?: (request: IncomingMessage) => number | undefined | Promise<number | undefined>;
  /** The error boundary of the upgrade path (`herald_internal_errors_total{where="upgrade"}`). */
  boundary: ErrorBoundary;
  /** The client IP of an upgrade (trusted-proxy aware), for the per-IP cap. */
  clientIp?: (request: IncomingMessage) => string;
  /** Open WebSockets + upgrades in progress on this node before 503; -1 = unlimited. */
  maxConnections?: number;
  /** Open WebSockets + upgrades in progress per client IP before 429; -1 = unlimited. */
  maxConnectionsPerIp?: number;
}

interface Route {
  pattern: RegExp;
  server: WebSocketServer;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** `/app/:key` → `^/app/[^/]+$`; a trailing slash is tolerated. */
function compilePath(path: string): RegExp {
  const escaped = path
    .replace(/\/+$/, '')
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped}/?$`);
}

/** Answers a raw upgrade socket with an HTTP error and closes it once written; never throws. */
function refuse(socket: Duplex, status: number): void {
  if (socket.destroyed) return;
  try {
    const text = STATUS_TEXT[status] ?? 'Error';
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`, () => socket.destroy());
  } catch {
    socket.destroy();
  }
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** A client socket's `error` (bad frame, reset): ws closes the socket itself; the lifecycle logs it once attached. */
function ignoreClientError(): void {}

/**
 * Replaces `@nestjs/platform-ws`'s WsAdapter, which routes upgrades by exact path only and drops
 * malformed frames silently. This one routes path patterns (`/app/:key`) on the HTTP server's port,
 * answers unknown paths with 404, disables compression (frames are pre-built once per message) and
 * leaves frame handling to each gateway's codec (no `@SubscribeMessage` dispatch).
 *
 * Like Nest's WsAdapter, the `upgrade` listener runs inside an error boundary (here: logs, counts, answers the raw
 * socket 500) and every WebSocketServer and client socket has an `error` listener, so no upgrade input can throw
 * out of it: an unparsable request target (`/app/%ZZ` is fine, `http://[/ws/bus` is not) gets 400. Node capacity
 * (`maxConnections`, 503) and the per-IP cap (`maxConnectionsPerIp`, 429) are checked before admission and count
 * upgrades in progress, so a burst cannot overshoot them; refusals are logged at warn once per burst.
 *
 * `ws` parses synchronously (`allowSynchronousEvents` left at its default): fairness between connections is
 * InboundFrames' job, because ws's deferred-event mode crashes on garbage input (issue 10, item 2).
 */
export class HeraldWsAdapter extends AbstractWsAdapter {
  private readonly routes: Route[] = [];
  private readonly log = new RateLimitedLog(new Logger('Upgrades'));
  private upgradeListener?: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Open WebSockets + upgrades in progress, node-wide and per client IP. */
  private open = 0;
  private readonly openPerIp = new Map<string, number>();

  constructor(app: INestApplicationContext, private readonly options: HeraldWsAdapterOptions) {
    super(app);
  }

  override create(_port: number, options?: { path?: string }): WebSocketServer {
    const server = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
    });
    server.on('error', (error: Error) => this.options.boundary.report('upgrade', error, `WebSocketServer ${options?.path ?? '/'}`));
    this.routes.push({ pattern: compilePath(options?.path ?? '/'), server });
    this.listenForUpgrades();
    return server;
  }

  /** Gateways read their own frames through their codec, so there is nothing to bind here. */
  bindMessageHandlers(): void {}

  override async close(server: WebSocketServer): Promise<void> {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Upgrades that arrive while the app closes (a client reconnecting after the drain's restart signal) get 503.
   * Removing the listener alone is not enough: the handshake guard also listens for `upgrade`, so Node would no
   * longer destroy such a socket itself, and the unanswered upgrade would hold `server.close()` past the grace period.
   */
  override async dispose(): Promise<void> {
    const server = this.httpServer as HttpServer;
    if (this.upgradeListener) server.off('upgrade', this.upgradeListener);
    this.upgradeListener = (_request, socket) => refuse(socket, 503);
    server.on('upgrade', this.upgradeListener);
    this.routes.length = 0;
  }

  private listenForUpgrades(): void {
    if (this.upgradeListener) return;
    this.upgradeListener = (request, socket, head) => this.onUpgrade(request, socket, head);
    (this.httpServer as HttpServer).on('upgrade', this.upgradeListener);
  }

  private onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    try {
      socket.on('error', destroyOnError);
      const target = parseRequestTarget(request.url);
      if (!target) return refuse(socket, 400);
      const route = this.routes.find((candidate) => candidate.pattern.test(target.pathname));
      if (!route) return refuse(socket, 404);
      const ip = this.options.clientIp?.(request) ?? '';
      const capacity = this.reserve(ip);
      if (capacity !== undefined) return refuse(socket, capacity);
      // The slot is released when the TCP socket closes, whether the upgrade was refused, failed or completed.
      socket.once('close', () => this.release(ip));
      const status = this.options.admit?.(request);
      if (status instanceof Promise) {
        status.then(
          (verdict) => this.proceed(route, request, socket, head, verdict),
          (error: unknown) => {
            this.options.boundary.report('upgrade', error, 'admission');
            refuse(socket, 503);
          },
        );
      } else {
        this.proceed(route, request, socket, head, status);
      }
    } catch (error) {
      this.options.boundary.report('upgrade', error, 'upgrade listener');
      refuse(socket, 500);
    }
  }

  private proceed(route: Route, request: IncomingMessage, socket: Duplex, head: Buffer, status: number | undefined): void {
    try {
      if (status !== undefined) return refuse(socket, status);
      if (socket.destroyed) return;
      route.server.handleUpgrade(request, socket, head, (ws: WebSocket) => {
        ws.on('error', ignoreClientError);
        route.server.emit('connection', ws, request);
      });
    } catch (error) {
      this.options.boundary.report('upgrade', error, 'handshake');
      refuse(socket, 500);
    }
  }

  /** Takes a node and a per-IP slot, or answers the status to refuse with (503 node full, 429 this IP full). */
  private reserve(ip: string): number | undefined {
    const max = this.options.maxConnections ?? -1;
    if (max >= 0 && this.open >= max) {
      this.log.warn('node', `Refusing WebSocket upgrades with 503: ${this.open} connections open or opening on this node (HERALD_MAX_CONNECTIONS=${max})`);
      return 503;
    }
    const perIp = this.options.maxConnectionsPerIp ?? -1;
    const mine = this.openPerIp.get(ip) ?? 0;
    if (perIp >= 0 && mine >= perIp) {
      this.log.warn('ip', `Refusing WebSocket upgrades from ${ip} with 429: ${mine} connections open or opening (HERALD_MAX_CONNECTIONS_PER_IP=${perIp})`);
      return 429;
    }
    this.open++;
    this.openPerIp.set(ip, mine + 1);
    return undefined;
  }

  private release(ip: string): void {
    this.open--;
    const mine = (this.openPerIp.get(ip) ?? 1) - 1;
    if (mine <= 0) this.openPerIp.delete(ip);
    else this.openPerIp.set(ip, mine);
  }
}
