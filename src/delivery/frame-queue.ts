import type { WireFrame } from '../broadcast/codec.js';

/**
 * What a queued frame is, which decides what may happen to it:
 * - `data`: a broadcast frame; may be skipped (oldest first) when its connection is behind.
 * - `reply`: a reply, ack or error; never skipped: when replies alone overflow the connection's budget
 *   the connection is closed with its protocol's code.
 * - `replay`: a recovery replay (RPC `since`); never skipped, admitted up to its own byte budget
 *   (HERALD_CONNECTION_REPLAY_BYTES) before the subscribe is answered, and not counted against the buffer budget.
 */
export type FrameKind = 'data' | 'reply' | 'replay';

const DATA = 0;
const REPLY = 1;
const REPLAY = 2;
const EMPTY: WireFrame = Buffer.alloc(0);
const INITIAL_CAPACITY = 16;

function code(kind: FrameKind): number {
  return kind === 'data' ? DATA : kind === 'reply' ? REPLY : REPLAY;
}

/**
 * One connection's outbox: frames in send order with their kinds, byte counters kept exact. A ring
 * buffer (capacity doubles when full, never shrinks below what the connection once needed): taking from
 * the front and skipping the oldest data frame are O(1) without allocating when the oldest frame is
 * data — the steady state of a connection that is behind and skipping forward on every broadcast; a
 * reply or replay at the front makes a skip move the frames before the oldest data frame up by one.
 */
export class FrameQueue {
  private frames: WireFrame[] = new Array<WireFrame>(INITIAL_CAPACITY).fill(EMPTY);
  private kinds = new Uint8Array(INITIAL_CAPACITY);
  private head = 0;
  private size = 0;
  /** Bytes of every queued frame. */
  bytes = 0;
  /** Bytes of queued replay frames (outside the buffer budget, inside the replay budget). */
  replayBytes = 0;
  /** Queued data (skippable) frames. */
  dataCount = 0;

  get length(): number {
    return this.size;
  }

  push(frame: WireFrame, kind: FrameKind): void {
    if (this.size === this.frames.length) this.grow();
    const index = (this.head + this.size) & (this.frames.length - 1);
    const kindCode = code(kind);
    this.frames[index] = frame;
    this.kinds[index] = kindCode;
    this.size++;
    this.bytes += frame.length;
    if (kindCode === DATA) this.dataCount++;
    else if (kindCode === REPLAY) this.replayBytes += frame.length;
  }

  /** The front frame, removed; undefined when empty. */
  shift(): WireFrame | undefined {
    if (this.size === 0) return undefined;
    const frame = this.frames[this.head];
    this.account(this.kinds[this.head], frame);
    this.frames[this.head] = EMPTY;
    this.head = (this.head + 1) & (this.frames.length - 1);
    this.size--;
    return frame;
  }

  /** Removes the oldest data frame; returns its size, or -1 when no data frame is queued. */
  dropOldestData(): number {
    if (this.dataCount === 0) return -1;
    const mask = this.frames.length - 1;
    let offset = 0;
    while (this.kinds[(this.head + offset) & mask] !== DATA) offset++;
    const frame = this.frames[(this.head + offset) & mask];
    this.account(DATA, frame);
    // Move the (reply/replay) frames queued before it up by one, keeping their order.
    for (let k = offset; k > 0; k--) {
      const to = (this.head + k) & mask;
      const from = (this.head + k - 1) & mask;
      this.frames[to] = this.frames[from];
      this.kinds[to] = this.kinds[from];
    }
    this.frames[this.head] = EMPTY;
    this.head = (this.head + 1) & mask;
    this.size--;
    return frame.length;
  }

  clear(): void {
    this.frames = new Array<WireFrame>(INITIAL_CAPACITY).fill(EMPTY);
    this.kinds = new Uint8Array(INITIAL_CAPACITY);
    this.head = 0;
    this.size = 0;
    this.bytes = 0;
    this.replayBytes = 0;
    this.dataCount = 0;
  }

  private account(kindCode: number, frame: WireFrame): void {
    this.bytes -= frame.length;
    if (kindCode === DATA) this.dataCount--;
    else if (kindCode === REPLAY) this.replayBytes -= frame.length;
  }

  private grow(): void {
    const capacity = this.frames.length * 2;
    const frames = new Array<WireFrame>(capacity).fill(EMPTY);
    const kinds = new Uint8Array(capacity);
    const mask = this.frames.length - 1;
    for (let i = 0; i < this.size; i++) {
      frames[i] = this.frames[(this.head + i) & mask];
      kinds[i] = this.kinds[(this.head + i) & mask];
    }
    this.frames = frames;
    this.kinds = kinds;
    this.head = 0;
  }
}
