import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { ProtocolCodec, WireFrame } from '../broadcast/codec.js';
import type { FrameKind, FrameQueue } from '../delivery/frame-queue.js';
import { frameText } from '../delivery/ws-frame.js';
import type { Identity, ProtocolName } from './identity.js';
import { closeReason } from '../common/close-reason.js';

/**
 * The one path bytes take to a socket (the SocketWriter): replies are queued behind the broadcasts
 * already queued for the connection, under the same byte budget, and written in the same per-turn flush.
 */
export interface OutboundPath {
  /** Queues a frame: `data` (a broadcast, skippable when behind), `reply` (never skipped), `replay` (recovery, never skipped). */
  enqueue(connection: Connection, frame: WireFrame, kind: FrameKind): void;
  /** Replay bytes the connection may still queue now (its replay budget less the replay frames queued). */
  replayRoom(connection: Connection): number;
  /** Writes what is queued now (before a close frame, so nothing queued is overtaken by it). */
  flushNow(connection: Connection): void;
}

/** `ws` keeps the TCP socket private; the delivery path writes pre-framed bytes to it directly. */
interface WebSocketInternals {
  _socket: Socket | null;
}

/**
 * One live WebSocket and everything the core keeps for it. Kept deliberately small: indexes live in
 * the registry, the outbox is allocated only while frames wait, protocol state hangs off `session`.
 */
export class Connection<S = unknown> {
  /** Channels this connection is subscribed to (all protocols share one channel space per tenant). */
  readonly channels = new Set<string>();
  /** Frames waiting for the next flush or for the socket to drain; null until the first one. */
  outbox: FrameQueue | null = null;
  /** The socket's send-buffer bytes as the writer last saw them (counted in the node's outbound bytes). */
  sentBacklog = 0;
  /** Set by ConnectionLifecycle: the SocketWriter. Without it (bare unit tests) replies go out through `ws`. */
  outbound?: OutboundPath;
  /** Frames dropped from the outbox since the client was last told (lag skip-forward). */
  skipped = 0;
  /** Queued in the writer's flush list for this turn. */
  flushPending = false;
  /** Send buffer over the high-water mark; waiting for 'drain'. */
  awaitingDrain = false;
  /** Pings sent without a pong in between. */
  missedPongs = 0;
  closed = false;
  readonly openedAt = Date.now();

  constructor(
    readonly id: string,
    public identity: Identity,
    readonly protocol: ProtocolName,
    readonly socket: WebSocket,
    readonly codec: ProtocolCodec,
    /** Protocol-owned state (RPC seq, Pusher presence data, …). */
    public session: S,
  ) {}

  get tenant(): string {
    return this.identity.tenant;
  }

  /** The TCP socket under `ws`, or null once it is gone. */
  get rawSocket(): Socket | null {
    return (this.socket as unknown as WebSocketInternals)._socket;
  }

  get isOpen(): boolean {
    return !this.closed && this.socket.readyState === 1;
  }

  /** Observes replies sent without a SocketWriter (bare unit tests); with one, its observers see every frame. */
  onTextSent?: (connection: Connection, text: string) => void;

  /**
   * Sends one protocol frame (replies, acks, errors): queued on the connection's outbox behind what is
   * already there and written in the writer's next flush, under the connection's byte budget.
   */
  sendText(text: string): void {
    if (!this.isOpen) return;
    if (this.outbound) {
      // Counted by the writer's observers when written, like broadcasts.
      this.outbound.enqueue(this as Connection, frameText(text), 'reply');
      return;
    }
    this.socket.send(text);
    this.onTextSent?.(this as Connection, text);
  }

  close(code: number, reason: string): void {
    this.outbound?.flushNow(this as Connection);
    if (this.socket.readyState === 0 || this.socket.readyState === 1) this.socket.close(code, closeReason(reason));
  }
}
