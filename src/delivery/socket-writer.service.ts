import { Injectable, Logger } from '@nestjs/common';
import type { WireFrame } from '../broadcast/codec.js';
import { HeraldConfig } from '../config/herald-config.js';
import type { Connection } from '../connections/connection.js';
import { frameText } from './ws-frame.js';

/** Observers of the write path (metrics); called synchronously, must be cheap. */
export interface WriterObserver {
  onFramesWritten(connection: Connection, frames: number, bytes: number): void;
  onSkipped(connection: Connection, skipped: number): void;
}

/**
 * The only place broadcast bytes reach sockets. Frames are queued per connection and each socket is
 * written at most once per event-loop turn (all of its frames in one corked write → one syscall), which
 * is what makes fan-out cheap when several publishes land in the same turn.
 *
 * Backpressure: while a socket's send buffer is above the high-water mark, frames wait in its bounded
 * outbox; when the outbox is full the oldest are dropped (skip-forward), and on drain the client first
 * gets its protocol's lag notice with the count. A lagging reader is never disconnected and never holds
 * more than `outboxSize` frames here; other sockets are not slowed by it.
 */
@Injectable()
export class SocketWriter {
  private readonly logger = new Logger('Delivery');
  private dirty: Connection[] = [];
  private flushScheduled = false;
  private readonly observers: WriterObserver[] = [];
  private readonly flushAll = () => this.flush();

  constructor(private readonly config: HeraldConfig) {}

  addObserver(observer: WriterObserver): void {
    this.observers.push(observer);
  }

  enqueue(connection: Connection, frame: WireFrame): void {
    if (connection.closed) return;
    const outbox = (connection.outbox ??= []);
    if (outbox.length >= this.config.outboxSize) {
      outbox.shift();
      connection.skipped++;
    }
    outbox.push(frame);
    if (!connection.flushPending && !connection.awaitingDrain) {
      connection.flushPending = true;
      this.dirty.push(connection);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flushAll);
      }
    }
  }

  /** Writes every dirty socket once. Runs after the turn's I/O callbacks, so same-turn publishes batch. */
  flush(): void {
    this.flushScheduled = false;
    const dirty = this.dirty;
    this.dirty = [];
    for (const connection of dirty) {
      connection.flushPending = false;
      this.flushConnection(connection);
    }
  }

  private flushConnection(connection: Connection): void {
    const outbox = connection.outbox;
    const socket = connection.rawSocket;
    if (!outbox || outbox.length === 0) return;
    if (!socket || !connection.isOpen) {
      connection.outbox = null;
      return;
    }
    if (socket.writableLength > this.config.socketHighWaterMark) {
      if (!connection.awaitingDrain) {
        connection.awaitingDrain = true;
        socket.once('drain', () => {
          connection.awaitingDrain = false;
          this.flushConnection(connection);
        });
      }
      return;
    }
    connection.outbox = null;
    let bytes = 0;
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
    for (const frame of outbox) {
      bytes += frame.length;
      socket.write(frame);
    }
    socket.uncork();
    for (const observer of this.observers) observer.onFramesWritten(connection, outbox.length, bytes);
  }
}
