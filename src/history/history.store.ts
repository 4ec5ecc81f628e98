import type { StreamPosition } from '../broadcast/envelope.js';
import type { HeraldSettings } from '../config/herald-config.js';

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

/** Node-wide bounds of what history may hold (HERALD_HISTORY_APP_BYTES, _NODE_BYTES, _MAX_CHANNELS). */
export interface HistoryBudgets {
  /** Entry bytes (as sent: the entry's JSON text) one app may keep; its oldest entries go first. */
  appBytes: number;
  /** Entry bytes all apps together may keep; the oldest entries go first. */
  nodeBytes: number;
  /** Channels with a stream; the least recently used one is forgotten first. */
  maxChannels: number;
}

export const DEFAULT_HISTORY_BUDGETS: HistoryBudgets = { appBytes: 64 * 1024 * 1024, nodeBytes: 256 * 1024 * 1024, maxChannels: 100_000 };

export function historyBudgets(settings: Pick<HeraldSettings, 'historyAppBytes' | 'historyNodeBytes' | 'historyMaxChannels'>): HistoryBudgets {
  return { appBytes: settings.historyAppBytes, nodeBytes: settings.historyNodeBytes, maxChannels: settings.historyMaxChannels };
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
 * - Entries are kept as the text that was sent (JSON), within HistoryBudgets where the store holds
 *   them in this process (memory: per app, per node, channel count); a broker-backed store bounds
 *   what it keeps in the broker (Redis: per channel by the app budget; JetStream: the stream's
 *   max_bytes by the node budget). An entry dropped by a budget makes a recovery reaching it `recovered:false`.
 */
export interface HistoryStore {
  append(tenant: string, channel: string, entry: Omit<HistoryEntry, 'offset'>, limits: HistoryLimits): Promise<StreamPosition>;
  position(tenant: string, channel: string): Promise<StreamPosition>;
  /**
   * `maxBytes`: the most entry bytes (as stored) the caller can take; a read needing more answers
   * `recovered:false` without decoding the entries (a recovery replay beyond the connection's budget).
   */
  since(tenant: string, channel: string, since: StreamPosition, maxBytes?: number): Promise<HistoryRead>;
}
