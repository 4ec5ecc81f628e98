import type { StreamPosition } from '../broadcast/envelope.js';

/** One channel message as kept for recovery: what a subscriber needs to receive it again. */
export interface HistoryEntry {
  id: string;
  channel: string;
  event: string;
  data: unknown;
  /** RFC 3339 UTC. */
  createTime: string;
  /** The channel position assigned at publish time. */
  offset: number;
  /** Sender of a Pusher presence client event (kept so the replay is the same message). */
  senderUserId?: string;
}

/** Per-app retention (`AppConfig.historySize`, `historyTtlSeconds`). */
export interface HistoryLimits {
  /** Entries kept per channel; 0 = positions only, nothing replayable. */
  size: number;
  /** Seconds an entry stays replayable; 0 = positions only. */
  ttlSeconds: number;
}

/** Answer to a recovery request. */
export interface HistoryRead {
  /** True when `entries` is everything published after `since` (possibly nothing). */
  recovered: boolean;
  /** The channel's top at read time: every message with a higher offset is published after the read. */
  position: StreamPosition;
  /** Oldest first, offsets `since.offset + 1 … position.offset`; empty when not recovered. */
  entries: HistoryEntry[];
}

/**
 * Channel streams: offsets, epochs and the latest messages of every channel, per tenant.
 *
 * Contract (what every implementation, in-memory or Redis, must keep):
 * - `append` assigns `offset = previous + 1` atomically (one stream, any number of nodes) and returns
 *   the position; the first append of a new (or lost) stream starts at 1 with a fresh random epoch.
 * - An epoch never changes while the stream's offsets continue; it changes exactly when offsets restart
 *   (stream evicted, store flushed, in-memory node restarted), so `(offset, epoch)` names one message.
 * - `since` reads entries after a position; `recovered` is false when the epoch differs, the position is
 *   ahead of the stream, or entries in between have been trimmed (size) or expired (TTL).
 * - `position` returns the current top (offset 0 for a stream with no message yet), creating the
 *   stream's epoch if needed so that later appends continue it.
 */
export interface HistoryStore {
  append(tenant: string, channel: string, entry: Omit<HistoryEntry, 'offset'>, limits: HistoryLimits): Promise<StreamPosition>;
  position(tenant: string, channel: string): Promise<StreamPosition>;
  since(tenant: string, channel: string, since: StreamPosition): Promise<HistoryRead>;
}
