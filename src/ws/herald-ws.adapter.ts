import type { INestApplicationContext } from '@nestjs/common';
import { AbstractWsAdapter } from '@nestjs/websockets';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';

/** Options every gateway's WebSocket server shares. */
export interface HeraldWsAdapterOptions {
  /** Largest inbound frame in bytes; `ws` closes with 1009 above it. */
  maxPayload: number;
  /** Decides whether an upgrade may proceed (e.g. origin, per-IP limits); return an HTTP status to refuse. May be async (a Redis limiter). */
  admit?: (request: IncomingMessage) => number | undefined | Promise<number | undefined>;
}

interface Route {
  pattern: RegExp;
  server: WebSocketServer;
}

/** `/app/:key` → `^/app/[^/]+$`; a trailing slash is tolerated. */
function compilePath(path: string): RegExp {
  const escaped = path
    .replace(/\/+$/, '')
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped}/?$`);
}

/**
 * Replaces `@nestjs/platform-ws`'s WsAdapter, which routes upgrades by exact path only and drops
 * malformed frames silently. This one routes path patterns (`/app/:key`) on the HTTP server's port,
 * answers unknown paths with 404, disables compression (frames are pre-built once per message) and
 * leaves frame handling to each gateway's codec (no `@SubscribeMessage` dispatch).
 */
export class HeraldWsAdapter extends AbstractWsAdapter {
  private readonly routes: Route[] = [];
  private upgradeListener?: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

  constructor(app: INestApplicationContext, private readonly options: HeraldWsAdapterOptions) {
    super(app);
  }

  override create(_port: number, options?: { path?: string }): WebSocketServer {
    const server = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
      // One inbound message per connection per event-loop turn: a client flooding requests (ws would
      // otherwise emit every frame of a 2 MB read burst synchronously) cannot stall other connections.
      allowSynchronousEvents: false,
    });
    this.routes.push({ pattern: compilePath(options?.path ?? '/'), server });
    this.listenForUpgrades();
    return server;
  }

  /** Gateways read their own frames through their codec, so there is nothing to bind here. */
  bindMessageHandlers(): void {}

  override async close(server: WebSocketServer): Promise<void> {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  override async dispose(): Promise<void> {
    if (this.upgradeListener) (this.httpServer as HttpServer).off('upgrade', this.upgradeListener);
    this.routes.length = 0;
  }

  private listenForUpgrades(): void {
    if (this.upgradeListener) return;
    this.upgradeListener = (request, socket, head) => {
      socket.on('error', () => socket.destroy());
      const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
      const route = this.routes.find((candidate) => candidate.pattern.test(pathname));
      if (!route) return refuse(socket, 404, 'Not Found');
      const proceed = (status: number | undefined) => {
        if (status !== undefined) return refuse(socket, status, status === 429 ? 'Too Many Requests' : 'Forbidden');
        if (socket.destroyed) return;
        route.server.handleUpgrade(request, socket, head, (ws) => route.server.emit('connection', ws, request));
      };
      const status = this.options.admit?.(request);
      if (status instanceof Promise) status.then(proceed, () => refuse(socket, 503, 'Service Unavailable'));
      else proceed(status);
    };
    (this.httpServer as HttpServer).on('upgrade', this.upgradeListener);
  }
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
