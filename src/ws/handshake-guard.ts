import type { Logger } from '@nestjs/common';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorBoundary } from '../common/error-boundary.js';
import { RateLimitedLog } from '../common/rate-limited-log.js';

/** Options of the HandshakeGuard (from HeraldConfig). */
export interface HandshakeGuardOptions {
  /** Time from TCP accept to complete request headers. */
  handshakeTimeoutMs: number;
  /** TCP connections per peer address still without complete headers; -1 = unlimited. */
  maxPendingPerIp: number;
  /** Peers exempt from the per-peer cap (trusted proxies multiplex many clients). */
  isTrusted: (address: string) => boolean;
  logger: Logger;
  boundary: ErrorBoundary;
}

interface Pending {
  peer: string;
  timer: NodeJS.Timeout;
}

/** `::ffff:10.0.0.1` → `10.0.0.1` (as ClientIpResolver reports it). */
function peerOf(socket: Socket): string {
  const address = socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * Half-open handshakes (issue 10, 8e): a socket that sends part of an upgrade request and then nothing never
 * reaches the `upgrade` event, so admission (which needs the headers) cannot see it. This guard works on the raw
 * TCP `connection` event of the HTTP server: every new socket is "pending" until its first request's headers are
 * complete (`request` or `upgrade`), is destroyed if that takes longer than `handshakeTimeoutMs`, and a peer
 * address with `maxPendingPerIp` pending sockets has further ones closed at accept (logged at warn once per
 * burst). Later requests on a keep-alive socket are bounded by Node's `headersTimeout`, set to the same value.
 * One timer per TCP connection, nothing per request.
 */
export class HandshakeGuard {
  private readonly pending = new WeakMap<Socket, Pending>();
  private readonly perPeer = new Map<string, number>();
  private readonly log: RateLimitedLog;

  constructor(private readonly options: HandshakeGuardOptions) {
    this.log = new RateLimitedLog(options.logger);
  }

  /** Pending handshakes of one peer address (for tests and metrics). */
  pendingOf(peer: string): number {
    return this.perPeer.get(peer) ?? 0;
  }

  attach(server: HttpServer): void {
    // headersTimeout must not exceed requestTimeout (Node checks both every connectionsCheckingInterval).
    server.headersTimeout = this.options.handshakeTimeoutMs;
    if (server.requestTimeout > 0 && server.requestTimeout < server.headersTimeout) server.requestTimeout = server.headersTimeout;
    server.on('connection', (socket: Socket) => this.onConnection(socket));
    server.on('request', (request: IncomingMessage) => this.headersDone(request.socket));
    server.on('upgrade', (request: IncomingMessage) => this.headersDone(request.socket));
  }

  private onConnection(socket: Socket): void {
    try {
      const peer = peerOf(socket);
      const count = this.perPeer.get(peer) ?? 0;
      if (this.options.maxPendingPerIp >= 0 && count >= this.options.maxPendingPerIp && !this.options.isTrusted(peer)) {
        this.log.warn('pending', `Closing new connections from ${peer}: ${count} of its connections have not sent complete request headers (HERALD_MAX_PENDING_HANDSHAKES_PER_IP=${this.options.maxPendingPerIp})`);
        socket.destroy();
        return;
      }
      this.perPeer.set(peer, count + 1);
      const timer = setTimeout(() => this.expire(socket), this.options.handshakeTimeoutMs);
      timer.unref();
      this.pending.set(socket, { peer, timer });
      socket.once('close', () => this.headersDone(socket));
    } catch (error) {
      this.options.boundary.report('upgrade', error, 'accepting a connection');
      socket.destroy();
    }
  }

  private expire(socket: Socket): void {
    this.log.warn('timeout', `Closing a connection from ${peerOf(socket)} that sent no complete request headers within ${this.options.handshakeTimeoutMs} ms`);
    this.headersDone(socket);
    socket.destroy();
  }

  private headersDone(socket: Socket): void {
    const entry = this.pending.get(socket);
    if (!entry) return;
    this.pending.delete(socket);
    clearTimeout(entry.timer);
    const count = (this.perPeer.get(entry.peer) ?? 1) - 1;
    if (count <= 0) this.perPeer.delete(entry.peer);
    else this.perPeer.set(entry.peer, count);
  }
}
