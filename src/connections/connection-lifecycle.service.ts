import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import type { WebSocket } from 'ws';
import type { ProtocolCodec } from '../broadcast/codec.js';
import { HeraldConfig } from '../config/herald-config.js';
import { SocketWriter } from '../delivery/socket-writer.service.js';
import { Connection } from './connection.js';
import { ConnectionRegistry } from './connection-registry.service.js';
import type { Identity, ProtocolName } from './identity.js';
import { randomId } from '../common/ids.js';

export interface AttachOptions<S> {
  socket: WebSocket;
  identity: Identity;
  protocol: ProtocolName;
  codec: ProtocolCodec;
  session: S;
  /** Connection id; Pusher supplies its socket_id. */
  id?: string;
}

/** Dead peers terminated per event-loop turn, so reaping thousands never stalls the loop. */
const REAP_BATCH = 128;

/**
 * The error a reaped socket is destroyed with. Destroyed without one, a socket makes a new
 * ERR_STREAM_DESTROYED (stack trace included) for every write still buffered in it; with one, every
 * buffered write fails with this same object, so reaping thousands of stalled sockets costs no more
 * than reaping idle ones.
 */
const REAPED = Object.freeze(Object.assign(new Error('no pong for two ping intervals'), { code: 'HERALD_REAPED' }));

/**
 * Registers sockets with the registry, removes them on close or error, and keeps them alive: one
 * sweep timer for all connections sends a WebSocket ping every `pingIntervalMs` (the first at connect)
 * and terminates a peer that answered none of the last two, `REAP_BATCH` per turn.
 * Every connection writes through the SocketWriter (replies too), which forgets its bytes on close.
 */
@Injectable()
export class ConnectionLifecycle implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Connections');
  private sweep?: NodeJS.Timeout;
  private textSent?: (connection: Connection, text: string) => void;

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly config: HeraldConfig,
    private readonly writer: SocketWriter,
    private readonly boundary: ErrorBoundary,
  ) {}

  onModuleInit(): void {
    this.sweep = setInterval(this.boundary.guard('timer', () => this.pingAll(), 'ping sweep'), this.config.pingIntervalMs);
    this.sweep.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweep);
  }

  /** Observes every direct reply (`Connection.sendText`) of connections attached from now on (metrics). */
  observeTextSent(observer: (connection: Connection, text: string) => void): void {
    this.textSent = observer;
  }

  attach<S>(options: AttachOptions<S>): Connection<S> {
    const { socket } = options;
    const connection = new Connection<S>(
      options.id ?? randomId(),
      options.identity,
      options.protocol,
      socket,
      options.codec,
      options.session,
    );
    if (this.textSent) connection.onTextSent = this.textSent;
    connection.outbound = this.writer;
    socket.on('pong', () => {
      connection.missedPongs = 0;
    });
    socket.once('close', (code: number) => {
      this.registry.remove(connection as Connection, code);
      this.writer.release(connection as Connection);
    });
    socket.on('error', (error: Error) => {
      this.logger.debug(`Socket ${connection.id} error: ${error.message}`);
      this.registry.remove(connection as Connection, 1006);
      this.writer.release(connection as Connection);
    });
    this.registry.add(connection as Connection);
    this.ping(connection as Connection);
    return connection;
  }

  private pingAll(): void {
    const dead: Connection[] = [];
    for (const connection of this.registry.all()) {
      // Per connection, so one socket in a state ws refuses does not stop the sweep for the others.
      try {
        if (connection.missedPongs >= 2) dead.push(connection);
        else this.ping(connection);
      } catch (error) {
        this.boundary.report('timer', error, `ping of ${connection.id}`);
      }
    }
    if (dead.length > 0) {
      this.logger.debug(`Terminating ${dead.length} connection(s): no pong for two ping intervals`);
      this.reap(dead, 0);
    }
  }

  /** Terminates `dead[from…]` a batch per turn. */
  private reap(dead: Connection[], from: number): void {
    const end = Math.min(dead.length, from + REAP_BATCH);
    for (let i = from; i < end; i++) {
      const connection = dead[i];
      this.writer.release(connection);
      const socket = connection.rawSocket;
      if (socket) socket.destroy(REAPED);
      else connection.socket.terminate();
      this.registry.remove(connection, 1006);
    }
    if (end < dead.length) setImmediate(() => this.reap(dead, end));
  }

  private ping(connection: Connection): void {
    if (!connection.isOpen) return;
    connection.missedPongs++;
    connection.socket.ping();
  }
}
