import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { StreamPosition } from '../broadcast/envelope.js';
import { randomId } from '../common/ids.js';
import type { HistoryEntry, HistoryLimits, HistoryRead, HistoryStore } from './history.store.js';
import { channelKey } from '../channels/channel-key.js';

/** How long an idle stream's position (offset + epoch) outlives its entries before it is forgotten. */
const META_TTL_MIN_SECONDS = 3600;
const SWEEP_INTERVAL_MS = 60_000;

interface StoredEntry {
  entry: HistoryEntry;
  expiresAt: number;
}

/** One channel's stream: a bounded window of the latest entries (oldest first). */
class Stream {
  offset = 0;
  readonly epoch = randomId(8);
  entries: StoredEntry[] = [];
  /** Index of the oldest live entry in `entries` (trimming by moving a start index, compacted lazily). */
  start = 0;
  touchedAt = Date.now();
  metaTtlMs = META_TTL_MIN_SECONDS * 1000;

  live(): number {
    return this.entries.length - this.start;
  }

  dropExpired(now: number): void {
    while (this.start < this.entries.length && this.entries[this.start].expiresAt <= now) this.start++;
    this.compact();
  }

  trim(size: number): void {
    while (this.live() > size) this.start++;
    this.compact();
  }

  private compact(): void {
    if (this.start > 64 && this.start * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.start);
      this.start = 0;
    }
  }
}

/**
 * Single-node `HistoryStore`. Offsets and entries live in this process, so a restart loses them and
 * every stream starts again with a new epoch: clients asking to recover get `recovered:false`.
 * Idle streams are forgotten after `max(historyTtlSeconds, 1 h)` without a publish or a read.
 */
@Injectable()
export class MemoryHistoryStore implements HistoryStore, OnModuleInit, OnModuleDestroy {
  private readonly streams = new Map<string, Stream>();
  private sweep?: NodeJS.Timeout;

  onModuleInit(): void {
    this.sweep = setInterval(() => this.sweepIdle(), SWEEP_INTERVAL_MS);
    this.sweep.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweep);
  }

  append(tenant: string, channel: string, entry: Omit<HistoryEntry, 'offset'>, limits: HistoryLimits): Promise<StreamPosition> {
    const stream = this.stream(tenant, channel);
    const now = Date.now();
    stream.offset++;
    stream.metaTtlMs = Math.max(limits.ttlSeconds, META_TTL_MIN_SECONDS) * 1000;
    if (limits.size > 0 && limits.ttlSeconds > 0) {
      stream.entries.push({ entry: { ...entry, offset: stream.offset }, expiresAt: now + limits.ttlSeconds * 1000 });
      stream.trim(limits.size);
    } else {
      stream.start = stream.entries.length;
    }
    stream.dropExpired(now);
    return Promise.resolve({ offset: stream.offset, epoch: stream.epoch });
  }

  position(tenant: string, channel: string): Promise<StreamPosition> {
    const stream = this.stream(tenant, channel);
    return Promise.resolve({ offset: stream.offset, epoch: stream.epoch });
  }

  since(tenant: string, channel: string, since: StreamPosition): Promise<HistoryRead> {
    const stream = this.stream(tenant, channel);
    const position = { offset: stream.offset, epoch: stream.epoch };
    const lost: HistoryRead = { recovered: false, position, entries: [] };
    if (since.epoch !== stream.epoch || since.offset > stream.offset) return Promise.resolve(lost);
    if (since.offset === stream.offset) return Promise.resolve({ recovered: true, position, entries: [] });
    stream.dropExpired(Date.now());
    const missed = stream.offset - since.offset;
    if (stream.live() < missed) return Promise.resolve(lost);
    const entries: HistoryEntry[] = [];
    for (let i = stream.entries.length - missed; i < stream.entries.length; i++) entries.push(stream.entries[i].entry);
    return Promise.resolve({ recovered: true, position, entries });
  }

  /** Streams currently held (tests, metrics). */
  get size(): number {
    return this.streams.size;
  }

  private stream(tenant: string, channel: string): Stream {
    const key = channelKey(tenant, channel);
    let stream = this.streams.get(key);
    if (!stream) this.streams.set(key, (stream = new Stream()));
    stream.touchedAt = Date.now();
    return stream;
  }

  private sweepIdle(now = Date.now()): void {
    for (const [key, stream] of this.streams) {
      if (now - stream.touchedAt > stream.metaTtlMs) this.streams.delete(key);
      else stream.dropExpired(now);
    }
  }
}
