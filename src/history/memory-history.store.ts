import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { StreamPosition } from '../broadcast/envelope.js';
import { randomId } from '../common/ids.js';
import type { HistoryBudgets, HistoryEntry, HistoryLimits, HistoryRead, HistoryStore } from './history.store.js';
import { DEFAULT_HISTORY_BUDGETS } from './history.store.js';
import { channelKey } from '../channels/channel-key.js';

/** How long an idle stream's position (offset + epoch) outlives its entries before it is forgotten. */
const META_TTL_MIN_SECONDS = 3600;
const SWEEP_INTERVAL_MS = 60_000;

/**
 * One kept message, as the text that was sent (the entry's JSON, never the parsed payload: a deeply
 * nested payload costs its length, not ten times that in objects). `text` is released when the entry
 * leaves its stream; the record itself may linger a while in the eviction queues.
 */
interface StoredEntry {
  text: string;
  bytes: number;
  offset: number;
  expiresAt: number;
  stream: Stream;
  gone: boolean;
}

/** Entries in append order (one queue per app, one for the node), oldest evicted first when over budget. */
class EvictionQueue {
  items: StoredEntry[] = [];
  head = 0;
  bytes = 0;

  push(entry: StoredEntry): void {
    this.items.push(entry);
  }

  /** The oldest entry still kept, removed from the queue; undefined when none. */
  shiftLive(): StoredEntry | undefined {
    while (this.head < this.items.length) {
      const entry = this.items[this.head++];
      if (!entry.gone) {
        this.compact();
        return entry;
      }
    }
    this.compact();
    return undefined;
  }

  /** Records of entries gone since the last compaction (they linger until the head passes them). */
  gone = 0;

  /** Drops the records of entries already gone once they are most of the queue (amortized O(1)). */
  compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
      this.gone = 0;
    } else if (this.items.length > 1024 && (this.head + this.gone) * 2 > this.items.length) {
      this.items = this.items.slice(this.head).filter((entry) => !entry.gone);
      this.head = 0;
      this.gone = 0;
    }
  }
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

  constructor(
    readonly key: string,
    readonly tenant: string,
  ) {}

  live(): number {
    return this.entries.length - this.start;
  }

  oldest(): StoredEntry | undefined {
    return this.start < this.entries.length ? this.entries[this.start] : undefined;
  }

  compact(): void {
    if (this.start === this.entries.length) {
      this.entries = [];
      this.start = 0;
    } else if (this.start > 64 && this.start * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.start);
      this.start = 0;
    }
  }
}

/**
 * Single-node `HistoryStore`. Offsets and entries live in this process, so a restart loses them and
 * every stream starts again with a new epoch: clients asking to recover get `recovered:false`.
 * Idle streams are forgotten after `max(historyTtlSeconds, 1 h)` without a publish or a read.
 *
 * Bounded (HistoryBudgets): entries are kept as their JSON text; an app's entries beyond
 * `appBytes`, and all entries beyond `nodeBytes`, are dropped oldest first; beyond `maxChannels`
 * streams, the least recently used stream is forgotten (a new epoch if it comes back). A recovery that
 * reaches a dropped entry answers `recovered:false`, as for a trimmed or expired one.
 */
@Injectable()
export class MemoryHistoryStore implements HistoryStore, OnModuleInit, OnModuleDestroy {
  /** In least-recently-used order (a touch moves a stream to the end). */
  private readonly streams = new Map<string, Stream>();
  private readonly apps = new Map<string, EvictionQueue>();
  private readonly node = new EvictionQueue();
  private sweep?: NodeJS.Timeout;
  private readonly budgets: HistoryBudgets;

  constructor(budgets: Partial<HistoryBudgets> = {}) {
    this.budgets = { ...DEFAULT_HISTORY_BUDGETS, ...budgets };
  }

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
      const text = JSON.stringify(entry);
      const stored: StoredEntry = { text, bytes: Buffer.byteLength(text), offset: stream.offset, expiresAt: now + limits.ttlSeconds * 1000, stream, gone: false };
      stream.entries.push(stored);
      const app = this.app(tenant);
      app.push(stored);
      app.bytes += stored.bytes;
      this.node.push(stored);
      this.node.bytes += stored.bytes;
      while (stream.live() > limits.size) this.dropOldest(stream);
      this.dropExpired(stream, now);
      while (app.bytes > this.budgets.appBytes) this.evict(app.shiftLive());
      while (this.node.bytes > this.budgets.nodeBytes) this.evict(this.node.shiftLive());
    } else {
      while (stream.live() > 0) this.dropOldest(stream);
    }
    return Promise.resolve({ offset: stream.offset, epoch: stream.epoch });
  }

  position(tenant: string, channel: string): Promise<StreamPosition> {
    const stream = this.stream(tenant, channel);
    return Promise.resolve({ offset: stream.offset, epoch: stream.epoch });
  }

  since(tenant: string, channel: string, since: StreamPosition, maxBytes = Infinity): Promise<HistoryRead> {
    const stream = this.stream(tenant, channel);
    const position = { offset: stream.offset, epoch: stream.epoch };
    const lost: HistoryRead = { recovered: false, position, entries: [] };
    if (since.epoch !== stream.epoch || since.offset > stream.offset) return Promise.resolve(lost);
    if (since.offset === stream.offset) return Promise.resolve({ recovered: true, position, entries: [] });
    this.dropExpired(stream, Date.now());
    const missed = stream.offset - since.offset;
    if (stream.live() < missed) return Promise.resolve(lost);
    let bytes = 0;
    for (let i = stream.entries.length - missed; i < stream.entries.length; i++) bytes += stream.entries[i].bytes;
    if (bytes > maxBytes) return Promise.resolve(lost);
    const entries: HistoryEntry[] = [];
    for (let i = stream.entries.length - missed; i < stream.entries.length; i++) {
      const stored = stream.entries[i];
      entries.push({ ...(JSON.parse(stored.text) as Omit<HistoryEntry, 'offset'>), offset: stored.offset });
    }
    return Promise.resolve({ recovered: true, position, entries });
  }

  /** Streams currently held (tests, metrics). */
  get size(): number {
    return this.streams.size;
  }

  /** Bytes of entries held, for one app or the node (tests, metrics). */
  bytes(tenant?: string): number {
    return tenant === undefined ? this.node.bytes : (this.apps.get(tenant)?.bytes ?? 0);
  }

  private stream(tenant: string, channel: string): Stream {
    const key = channelKey(tenant, channel);
    let stream = this.streams.get(key);
    if (stream) {
      this.streams.delete(key);
    } else {
      stream = new Stream(key, tenant);
      if (this.streams.size >= this.budgets.maxChannels) this.forget(this.streams.values().next().value as Stream);
    }
    this.streams.set(key, stream);
    stream.touchedAt = Date.now();
    return stream;
  }

  private app(tenant: string): EvictionQueue {
    let queue = this.apps.get(tenant);
    if (!queue) this.apps.set(tenant, (queue = new EvictionQueue()));
    return queue;
  }

  /** Removes a stream's oldest entry (trimmed by size, expired, or evicted by a budget). */
  private dropOldest(stream: Stream): void {
    const stored = stream.oldest();
    if (!stored) return;
    stream.start++;
    stream.compact();
    this.release(stored);
  }

  private dropExpired(stream: Stream, now: number): void {
    for (let oldest = stream.oldest(); oldest && oldest.expiresAt <= now; oldest = stream.oldest()) this.dropOldest(stream);
  }

  /** Over a budget: the oldest entry of the app or node goes, which is the oldest of its stream. */
  private evict(stored: StoredEntry | undefined): void {
    if (!stored) return;
    const stream = stored.stream;
    // Every removal is from the front of a stream, in append order, so this is its stream's oldest entry.
    while (!stored.gone && stream.live() > 0) this.dropOldest(stream);
  }

  private release(stored: StoredEntry): void {
    if (stored.gone) return;
    stored.gone = true;
    stored.text = '';
    const app = this.apps.get(stored.stream.tenant);
    if (app) {
      app.bytes -= stored.bytes;
      app.gone++;
      app.compact();
      if (app.bytes === 0 && app.items.length === 0) this.apps.delete(stored.stream.tenant);
    }
    this.node.bytes -= stored.bytes;
    this.node.gone++;
    this.node.compact();
  }

  private forget(stream: Stream): void {
    while (stream.live() > 0) this.dropOldest(stream);
    this.streams.delete(stream.key);
  }

  private sweepIdle(now = Date.now()): void {
    for (const stream of [...this.streams.values()]) {
      if (now - stream.touchedAt > stream.metaTtlMs) this.forget(stream);
      else this.dropExpired(stream, now);
    }
  }
}
