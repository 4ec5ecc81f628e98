import { Injectable, Logger } from '@nestjs/common';
import type { Socket } from 'node:net';
import type { WireFrame } from '../broadcast/codec.js';
import { HeraldConfig } from '../config/herald-config.js';
import type { Connection, OutboundPath } from '../connections/connection.js';
import type { ProtocolName } from '../connections/identity.js';
import { FrameQueue, type FrameKind } from './frame-queue.js';
import { frameText } from './ws-frame.js';

/** Observers of the write path (metrics); called synchronously, must be cheap. */
export interface WriterObserver {
  onFramesWritten(connection: Connection, frames: number, bytes: number): void;
  onSkipped(connection: Connection, skipped: number): void;
  /** A connection closed because its replies alone overflowed its buffer budget. */
  onOverflow?(connection: Connection): void;
}

/**
 * How each protocol is told that its replies overflowed the connection's buffer budget (the client
 * does not read): bus, topics and RPC close with 1008 (policy violation: the Cloudillo bus client does
 * not reconnect on it, which is right for a client that stopped reading); Pusher with 4100 "Over
 * capacity" (pusher-js backs off and reconnects; never 43xx, which pusher-js treats as refused).
 */
export const OVERFLOW_CLOSE: Readonly<Record<ProtocolName, { code: number; reason: string }>> = {
  bus: { code: 1008, reason: 'Send buffer full' },
  topics: { code: 1008, reason: 'Send buffer full' },
  rpc: { code: 1008, reason: 'Send buffer full' },
  jsonrpc: { code: 1008, reason: 'Send buffer full' },
  pusher: { code: 4100, reason: 'Over capacity: send buffer full' },
};

/** How long a connection closed for overflowing may take to read its close frame before its socket is destroyed. */
const OVERFLOW_LINGER_MS = 5000;
/** Shared by every overflowed socket: destroying with an error spares a new error per buffered write. */
const OVERFLOWED = Object.freeze(Object.assign(new Error('send buffer overflowed'), { code: 'HERALD_OVERFLOWED' }));

/** After the node-wide budget is exceeded, lagging connections are skipped forward until it is this far under. */
const NODE_RELIEF = 0.9;
/** Meanwhile, a connection that is behind keeps only its newest broadcast while the node is over budget. */
const RELIEF_INTERVAL_MS = 250;
/** Sockets written per flush (per event-loop turn). */
const FLUSH_BATCH = 1024;

/**
 * The only place bytes reach sockets: broadcasts, replies, acks and replays alike. Frames are queued
 * per connection and each socket is written at most once per event-loop turn (all of its frames in
 * one corked write → one syscall), which is what makes fan-out cheap when several publishes land in
 * the same turn; replies keep their place in the queue, so the order between replies and broadcasts
 * is the order they were produced in.
 *
 * Bounds (all in bytes of frames as written, one frame shared by many sockets counts for each):
 * - A flush writes to a socket only while its send buffer is at most `socketHighWaterMark`
 *   (HERALD_SOCKET_HIGH_WATER_MARK, at least the socket's own 16 KiB); what is left waits for 'drain'
 *   and the connection is *behind*.
 * - Only a connection that is behind loses anything: while it is behind, its queued broadcasts
 *   beyond `outboxSize` frames or beyond `connectionBufferBytes` (send buffer + outbox) are skipped,
 *   oldest first, and on drain the client first gets its protocol's lag notice with the count. A burst
 *   within one turn to a writable socket is written whole.
 * - Replies are never skipped: when replies alone exceed `connectionBufferBytes` the connection is
 *   closed with its protocol's code (OVERFLOW_CLOSE).
 * - Node-wide, the outbound bytes of every connection (outboxes + send buffers as last seen) are held
 *   under `nodeOutboundBytes`: when over, the laggiest connections (largest backlog first) are skipped
 *   forward until the node is 10 % under, and while it stays over, a connection that is behind queues no
 *   broadcast at all (each is only counted; on drain the client gets the lag notice, then live
 *   messages). Connections that keep up are never touched.
 */
@Injectable()
export class SocketWriter implements OutboundPath {
  private readonly logger = new Logger('Delivery');
  private dirty: Connection[] = [];
  private flushScheduled = false;
  private readonly observers: WriterObserver[] = [];
  private readonly flushAll = () => this.flush();
  /** Connections waiting for 'drain'. */
  private readonly lagging = new Set<Connection>();
  /** Outbox bytes plus send-buffer bytes (as last seen) of every connection. */
  private outbound = 0;

  constructor(private readonly config: HeraldConfig) {}

  addObserver(observer: WriterObserver): void {
    this.observers.push(observer);
  }

  /** Outbound bytes held for all connections of this node (metrics, tests). */
  get outboundBytes(): number {
    return this.outbound;
  }

  /** Connections currently behind (waiting for their socket to drain). */
  get laggingCount(): number {
    return this.lagging.size;
  }

  /** Queues a broadcast frame (skippable when the connection is behind). */
  enqueue(connection: Connection, frame: WireFrame, kind: FrameKind = 'data'): void {
    if (connection.closed) return;
    if (connection.awaitingDrain && kind === 'data' && this.outbound > this.config.nodeOutboundBytes) {
      // The node is over its budget and this connection is behind: it skips forward to live. Its queued
      // broadcasts go, and this one is only counted (no queue touched: O(1) per stalled recipient).
      const queued = connection.outbox;
      if (queued) while (queued.dataCount > 0) this.skip(connection, queued);
      connection.skipped++;
      return;
    }
    const outbox = (connection.outbox ??= new FrameQueue());
    outbox.push(frame, kind);
    this.outbound += frame.length;
    if (connection.awaitingDrain) {
      this.bound(connection, outbox);
      return;
    }
    if (!connection.flushPending) {
      connection.flushPending = true;
      this.dirty.push(connection);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flushAll);
      }
    }
  }

  /** A reply, ack or error: queued in order with broadcasts, never skipped. */
  reply(connection: Connection, frame: WireFrame): void {
    this.enqueue(connection, frame, 'reply');
  }

  /** A recovery replay frame (admitted first with `admitsReplay`): queued in order, never skipped. */
  replay(connection: Connection, frame: WireFrame): void {
    this.enqueue(connection, frame, 'replay');
  }

  /**
   * Replay bytes the connection may still queue (its replay budget less the replay frames still
   * queued); a recovery that needs more answers `recovered:false` instead of replaying.
   */
  replayRoom(connection: Connection): number {
    return Math.max(0, this.config.connectionReplayBytes - (connection.outbox?.replayBytes ?? 0));
  }

  /** Writes every dirty socket once. Runs after the turn's I/O callbacks, so same-turn publishes batch. */
  flush(): void {
    this.flushScheduled = false;
    const dirty = this.dirty;
    // At most FLUSH_BATCH sockets per turn (a syscall each): the rest go first in the next turn's flush,
    // so a fan-out to many thousands never holds the event loop for long.
    const count = Math.min(dirty.length, FLUSH_BATCH);
    this.dirty = count < dirty.length ? dirty.slice(count) : [];
    for (let i = 0; i < count; i++) {
      const connection = dirty[i];
      connection.flushPending = false;
      this.flushConnection(connection, false);
    }
    if (this.dirty.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushAll);
    }
    if (this.outbound > this.config.nodeOutboundBytes) this.relieveNode();
  }

  /** When the last relief pass ran: it sorts the lagging connections, so it runs at most every RELIEF_INTERVAL_MS. */
  private relievedAt = 0;

  /** Before a close frame: everything queued goes out first (bounded by the connection's budget). */
  flushNow(connection: Connection): void {
    if (connection.outbox && connection.outbox.length > 0) this.flushConnection(connection, true);
  }

  /** Forgets a connection's queued bytes (its socket closed). Idempotent. */
  release(connection: Connection): void {
    const outbox = connection.outbox;
    if (outbox) {
      this.outbound -= outbox.bytes;
      outbox.clear();
      connection.outbox = null;
    }
    this.outbound -= connection.sentBacklog;
    connection.sentBacklog = 0;
    this.lagging.delete(connection);
  }

  private flushConnection(connection: Connection, force: boolean): void {
    const outbox = connection.outbox;
    const socket = connection.rawSocket;
    if (!outbox || outbox.length === 0) return;
    if (!socket || !connection.isOpen) {
      this.release(connection);
      return;
    }
    const highWaterMark = Math.max(this.config.socketHighWaterMark, socket.writableHighWaterMark);
    if (!force && socket.writableLength > highWaterMark) {
      this.behind(connection, socket, outbox);
      return;
    }
    let bytes = 0;
    let frames = 0;
    socket.cork();
    if (connection.skipped > 0) {
      const skipped = connection.skipped;
      connection.skipped = 0;
      this.logger.warn(`Connection ${connection.id} (${connection.protocol}) lagged, skipped ${skipped} messages`);
      for (const observer of this.observers) observer.onSkipped(connection, skipped);
      const notice = connection.codec.lagNotice(skipped, connection);
      if (notice !== null) {
        const frame = frameText(notice);
        bytes += frame.length;
        socket.write(frame);
      }
    }
    while (outbox.length > 0 && (force || frames === 0 || socket.writableLength <= highWaterMark)) {
      const frame = outbox.shift() as WireFrame;
      this.outbound -= frame.length;
      bytes += frame.length;
      frames++;
      socket.write(frame);
    }
    socket.uncork();
    this.sample(connection, socket);
    for (const observer of this.observers) observer.onFramesWritten(connection, frames, bytes);
    if (outbox.length > 0) this.behind(connection, socket, outbox);
  }

  /** Waits for 'drain' and applies the bounds of a connection that is behind. */
  private behind(connection: Connection, socket: Socket, outbox: FrameQueue): void {
    if (!connection.awaitingDrain) {
      connection.awaitingDrain = true;
      this.lagging.add(connection);
      socket.once('drain', () => this.drained(connection));
    }
    this.bound(connection, outbox);
  }

  private drained(connection: Connection): void {
    connection.awaitingDrain = false;
    this.lagging.delete(connection);
    const socket = connection.rawSocket;
    if (socket) this.sample(connection, socket);
    if (!connection.flushPending) this.flushConnection(connection, false);
  }

  /** The bounds of a connection that is behind: skip the oldest broadcasts, close on replies overflowing. */
  private bound(connection: Connection, outbox: FrameQueue): void {
    const budget = this.config.connectionBufferBytes;
    const nodeOver = this.outbound > this.config.nodeOutboundBytes;
    const outboxSize = this.config.outboxSize;
    while (outbox.dataCount > outboxSize || (outbox.dataCount > 0 && connection.sentBacklog + outbox.bytes - outbox.replayBytes > budget) || (nodeOver && outbox.dataCount > 0)) {
      this.skip(connection, outbox);
    }
    if (connection.sentBacklog + outbox.bytes - outbox.replayBytes > budget) this.overflow(connection);
  }

  private skip(connection: Connection, outbox: FrameQueue): void {
    const dropped = outbox.dropOldestData();
    if (dropped < 0) return;
    this.outbound -= dropped;
    connection.skipped++;
  }

  /** Replies alone overflow the budget: the client does not read. Close it the protocol's way. */
  private overflow(connection: Connection): void {
    this.logger.warn(`Connection ${connection.id} (${connection.protocol}) closed: replies overflowed its ${this.config.connectionBufferBytes}-byte buffer`);
    for (const observer of this.observers) observer.onOverflow?.(connection);
    this.release(connection);
    const { code, reason } = OVERFLOW_CLOSE[connection.protocol];
    // The close frame waits behind the send buffer: a client that reads again soon gets it, one that
    // does not is cut after OVERFLOW_LINGER_MS (not ws's 30 s close timeout).
    connection.close(code, reason);
    const socket = connection.rawSocket;
    if (socket) setTimeout(() => socket.destroy(OVERFLOWED), OVERFLOW_LINGER_MS).unref();
  }

  /** Largest backlogs first, skip forward until the node is NODE_RELIEF of its budget. */
  private relieveNode(): void {
    const now = performance.now();
    if (now - this.relievedAt < RELIEF_INTERVAL_MS) return;
    this.relievedAt = now;
    const target = this.config.nodeOutboundBytes * NODE_RELIEF;
    const laggiest = [...this.lagging].sort((a, b) => backlog(b) - backlog(a));
    for (const connection of laggiest) {
      if (this.outbound <= target) break;
      const outbox = connection.outbox;
      if (!outbox) continue;
      while (outbox.dataCount > 0 && this.outbound > target) this.skip(connection, outbox);
    }
  }

  private sample(connection: Connection, socket: Socket): void {
    const now = socket.writableLength;
    this.outbound += now - connection.sentBacklog;
    connection.sentBacklog = now;
  }
}

function backlog(connection: Connection): number {
  return connection.sentBacklog + (connection.outbox?.bytes ?? 0);
}
