import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { ProtocolCodec, WireFrame } from '../broadcast/codec.js';
import type { Identity, ProtocolName } from './identity.js';
import { closeReason } from '../common/close-reason.js';

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
  /** Frames waiting for the next flush or for the socket to drain; null when empty. */
  outbox: WireFrame[] | null = null;
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

  /** Set by ConnectionLifecycle when something observes direct replies (metrics); broadcasts are observed by the SocketWriter. */
  onTextSent?: (connection: Connection, text: string) => void;

  /** Sends one protocol frame now (replies, acks); broadcasts go through the SocketWriter instead. */
  sendText(text: string): void {
    if (!this.isOpen) return;
    this.socket.send(text);
    this.onTextSent?.(this as Connection, text);
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState === 0 || this.socket.readyState === 1) this.socket.close(code, closeReason(reason));
  }
}
