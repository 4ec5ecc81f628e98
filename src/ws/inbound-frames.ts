import { Injectable } from '@nestjs/common';
import type { RawData, WebSocket } from 'ws';
import type { Socket } from 'node:net';
import { closeReason } from '../common/close-reason.js';
import { ErrorBoundary } from '../common/error-boundary.js';
import { HeraldConfig } from '../config/herald-config.js';
import { rawDataLength } from './raw-data.js';

/** `ws` keeps the TCP socket private; its send buffer tells whether this client reads what it is sent. */
interface WebSocketInternals {
  _socket: Socket | null;
}

/** Frames one connection may have waiting before its socket is paused (TCP backpressure to the client). */
export const INBOUND_PAUSE_FRAMES = 256;
/** Bytes one connection may have waiting before its socket is paused (one largest frame is always taken whole). */
export const INBOUND_PAUSE_BYTES = 64 * 1024;

/** A gateway's frame handler, bound once per connection. */
export type FrameHandler = (data: RawData, isBinary: boolean) => void;

/** One connection's waiting frames (parallel arrays consumed from `head`; no object per frame). */
class InboundQueue {
  readonly frames: RawData[] = [];
  readonly binary: boolean[] = [];
  head = 0;
  bytes = 0;
  scheduled = false;
  paused = false;
  /** Requests held because the connection's own send buffer is behind (its replies would only pile up). */
  held = false;

  constructor(
    readonly socket: WebSocket,
    readonly handler: FrameHandler,
    /** Close code when the handler throws: 1011, or the protocol's own (Pusher 4200). */
    readonly errorCode: number,
  ) {}

  get length(): number {
    return this.frames.length - this.head;
  }

  /** Drops the consumed front of a queue that is never empty (a client sending as fast as it is served). */
  compact(): void {
    this.frames.splice(0, this.head);
    this.binary.splice(0, this.head);
    this.head = 0;
  }

  clear(): void {
    this.frames.length = 0;
    this.binary.length = 0;
    this.head = 0;
    this.bytes = 0;
  }
}


/**
 * Fairness between connections, and the error boundary of every inbound frame.
 *
 * `ws` emits every frame of a read synchronously (a 64 KiB read can hold 10,000 tiny frames). Its own remedy,
 * `allowSynchronousEvents: false`, defers each message to `setImmediate` from inside the Receiver's Writable
 * stream, and in ws 8.23 that path crashes the process on garbage input (a chunk queued behind a deferred
 * message is fed to the Receiver after a frame of the previous chunk failed validation, and `getData` reads
 * the mask it just cleared: see the closing note of issue 10). So Herald lets `ws` parse synchronously and
 * queues the messages here instead: each turn of the event loop, every connection with waiting frames gets
 * exactly one handled (one `setImmediate` for all connections, not one per frame). A connection with more
 * than `INBOUND_PAUSE_FRAMES` frames or `INBOUND_PAUSE_BYTES` bytes waiting has its socket paused until its
 * queue is empty, so a flooding client is held back by TCP instead of growing server memory.
 *
 * Requests are also held while the connection's own send buffer is above `socketHighWaterMark` (the client is
 * not reading): every request makes a reply, so handling more would only pile replies up in memory. The
 * socket is paused and its frames wait until the send buffer drains; a pipelining client that reads slowly
 * is slowed down by TCP, never disconnected, and a client that never reads costs at most its inbound pause
 * bound plus one reply (the writer's reply budget stays the last resort).
 *
 * Each handler call runs inside the ErrorBoundary: a throw is logged and counted (`where="frame"`) and
 * closes that one socket with the protocol's error code.
 */
@Injectable()
export class InboundFrames {
  private ready: InboundQueue[] = [];
  private spare: InboundQueue[] = [];
  private scheduled = false;
  private readonly drain = () => this.runTurn();

  constructor(
    private readonly boundary: ErrorBoundary,
    private readonly config: HeraldConfig,
  ) {}

  /** Routes `socket`'s messages to `handler`, one per connection per event-loop turn. Call once per socket. */
  bind(socket: WebSocket, handler: FrameHandler, errorCode = 1011): void {
    const queue = new InboundQueue(socket, handler, errorCode);
    socket.on('message', (data: RawData, isBinary: boolean) => this.push(queue, data, isBinary));
    socket.once('close', () => queue.clear());
  }

  private push(queue: InboundQueue, data: RawData, isBinary: boolean): void {
    queue.frames.push(data);
    queue.binary.push(isBinary);
    queue.bytes += rawDataLength(data);
    if (!queue.paused && (queue.length > INBOUND_PAUSE_FRAMES || queue.bytes > INBOUND_PAUSE_BYTES)) {
      queue.paused = true;
      queue.socket.pause();
    }
    if (!queue.scheduled) {
      queue.scheduled = true;
      this.ready.push(queue);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.drain);
      }
    }
  }

  private runTurn(): void {
    this.scheduled = false;
    const batch = this.ready;
    this.ready = this.spare;
    for (const queue of batch) {
      if (queue.length === 0 || queue.socket.readyState !== 1) {
        queue.clear();
        queue.scheduled = false;
        continue;
      }
      if (this.holdWhileBehind(queue)) continue;
      const data = queue.frames[queue.head];
      const isBinary = queue.binary[queue.head];
      queue.frames[queue.head] = EMPTY;
      queue.head++;
      queue.bytes -= rawDataLength(data);
      if (queue.head === queue.frames.length) queue.clear();
      else if (queue.head >= 64 && queue.head * 2 >= queue.frames.length) queue.compact();
      this.handle(queue, data, isBinary);
      if (queue.length > 0 && queue.socket.readyState === 1) {
        this.ready.push(queue);
      } else {
        queue.scheduled = false;
        if (queue.paused && queue.socket.readyState === 1) {
          queue.paused = false;
          queue.socket.resume();
        }
      }
    }
    batch.length = 0;
    this.spare = batch;
    if (this.ready.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  /**
   * True when the queue's socket has more unsent bytes than the high-water mark: its frames stay queued
   * (socket paused) and the queue is rescheduled on the send buffer's 'drain'.
   */
  private holdWhileBehind(queue: InboundQueue): boolean {
    const raw = (queue.socket as unknown as WebSocketInternals)._socket;
    if (!raw || raw.writableLength <= this.config.socketHighWaterMark) return false;
    queue.scheduled = false;
    if (!queue.paused) {
      queue.paused = true;
      queue.socket.pause();
    }
    if (!queue.held) {
      queue.held = true;
      raw.once('drain', () => {
        queue.held = false;
        if (queue.socket.readyState !== 1 || queue.scheduled || queue.length === 0) return;
        queue.scheduled = true;
        this.ready.push(queue);
        if (!this.scheduled) {
          this.scheduled = true;
          setImmediate(this.drain);
        }
      });
    }
    return true;
  }

  private handle(queue: InboundQueue, data: RawData, isBinary: boolean): void {
    try {
      queue.handler(data, isBinary);
    } catch (error) {
      this.boundary.report('frame', error);
      try {
        queue.socket.close(queue.errorCode, closeReason('Internal error'));
      } catch (closeError) {
        this.boundary.report('frame', closeError, 'close after a failed frame');
      }
    }
  }
}

const EMPTY = Buffer.alloc(0);
