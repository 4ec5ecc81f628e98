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
const CODES: Record<FrameKind, number> = { data: DATA, reply: REPLY, replay: REPLAY };
const EMPTY: WireFrame = Buffer.alloc(0);

/**
 * One connection's outbox: frames in send order with their kinds, byte counters kept exact.
 * Taking from the front and skipping the oldest data frame are O(1) in the common case (the oldest
 * frame is data); a reply or replay at the front makes a skip search past it.
 */
export class FrameQueue {
  private frames: WireFrame[] = [];
  private kinds: number[] = [];
  private head = 0;
  /** Bytes of every queued frame. */
  bytes = 0;
  /** Bytes of queued replay frames (outside the buffer budget, inside the replay budget). */
  replayBytes = 0;
  /** Queued data (skippable) frames. */
  dataCount = 0;

  get length(): number {
    return this.frames.length - this.head;
  }

  push(frame: WireFrame, kind: FrameKind): void {
    const code = CODES[kind];
    this.frames.push(frame);
    this.kinds.push(code);
    this.bytes += frame.length;
    if (code === DATA) this.dataCount++;
    else if (code === REPLAY) this.replayBytes += frame.length;
  }

  /** The front frame, removed; undefined when empty. */
  shift(): WireFrame | undefined {
    if (this.head >= this.frames.length) return undefined;
    const frame = this.frames[this.head];
    this.account(this.kinds[this.head], frame);
    this.frames[this.head] = EMPTY;
    this.head++;
    this.compact();
    return frame;
  }

  /** Size of the front frame (0 when empty). */
  peekBytes(): number {
    return this.head < this.frames.length ? this.frames[this.head].length : 0;
  }

  /** Removes the oldest data frame; returns its size, or -1 when no data frame is queued. */
  dropOldestData(): number {
    if (this.dataCount === 0) return -1;
    let index = this.head;
    while (this.kinds[index] !== DATA) index++;
    const frame = this.frames[index];
    this.account(DATA, frame);
    if (index === this.head) {
      this.frames[index] = EMPTY;
      this.head++;
      this.compact();
    } else {
      this.frames.splice(index, 1);
      this.kinds.splice(index, 1);
    }
    return frame.length;
  }

  clear(): void {
    this.frames = [];
    this.kinds = [];
    this.head = 0;
    this.bytes = 0;
    this.replayBytes = 0;
    this.dataCount = 0;
  }

  private account(code: number, frame: WireFrame): void {
    this.bytes -= frame.length;
    if (code === DATA) this.dataCount--;
    else if (code === REPLAY) this.replayBytes -= frame.length;
  }

  private compact(): void {
    if (this.head === this.frames.length) {
      this.frames.length = 0;
      this.kinds.length = 0;
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.kinds = this.kinds.slice(this.head);
      this.head = 0;
    }
  }
}
