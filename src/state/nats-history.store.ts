import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { headers as natsHeaders, nanos, type NatsConnection } from '@nats-io/nats-core';
import { jetstream, JetStreamApiCodes, JetStreamApiError, jetstreamManager, StorageType, type JetStreamClient, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { StreamPosition } from '../broadcast/envelope.js';
import { channelSubjectTokens } from '../channels/channel-key.js';
import { NatsClient } from '../cluster/nats.client.js';
import { randomId } from '../common/ids.js';
import { AppRegistry } from '../config/app-registry.service.js';
import { HeraldConfig } from '../config/herald-config.js';
import { TransportUnavailableError } from '../errors/app.errors.js';
import type { HistoryEntry, HistoryLimits, HistoryRead, HistoryStore } from '../history/history.store.js';
import { UnrecoverableHistoryStore } from './unrecoverable-history.store.js';

/** A stream's position outlives its entries at least this long (as the Redis and in-memory stores). */
const POSITION_TTL_SECONDS = 3600;
/** Concurrent appends to one channel from several nodes retry on a lost race this many times. */
const APPEND_ATTEMPTS = 16;

/** `offset` is the message's last entry; it holds `count` entries, offsets `offset - count + 1 … offset`. */
const H = { offset: 'Herald-Offset', count: 'Herald-Count', epoch: 'Herald-Epoch', previous: 'Herald-Previous', size: 'Herald-Size' } as const;

/** One channel message as stored: null when the app keeps positions only. */
type StoredEntry = { entry: Omit<HistoryEntry, 'offset'>; expires: number } | null;

interface QueuedAppend {
  stored: StoredEntry;
  size: number;
  resolve: (position: StreamPosition) => void;
  reject: (error: unknown) => void;
}

type JetStreamClients = { js: JetStreamClient; jsm: JetStreamManager };

/** The newest message of a channel's subject: where the next append continues. */
interface Top {
  seq: number;
  offset: number;
  epoch: string;
  /** The app's history size when it was written: how far back a recovery may reach. */
  size: number;
}

/*
 * Channel history on NATS JetStream: one memory stream per cluster prefix (`<prefix>_history`, subjects
 * `<prefix>.h.<tenant>.<channel>`); offsets and epoch in headers. Offsets are contiguous per channel
 * across nodes because every write is conditional on the subject's last sequence
 * (`Nats-Expected-Last-Subject-Sequence`): a node that lost the race re-reads the top and tries again.
 * A node writes one channel's appends one round trip at a time, and each write carries every append
 * queued meanwhile (one JetStream message, several entries), so concurrent publishers to a channel cost
 * one round trip per batch, not per message. Each message names the sequence of the one before it, so a
 * recovery walks back from the top and stops at the first gap (trimmed, expired): all or nothing.
 * A position read of a channel with no message yet writes an offset-0 marker so that the epoch it
 * returns is the one later appends continue. The stream lives in memory: a NATS restart loses it, the
 * node makes it again on reconnect, and every channel starts a new epoch (clients are told
 * `recovered:false`). A NATS server without JetStream gets per-node positions and `recovered:false`.
 */
@Injectable()
export class NatsHistoryStore implements HistoryStore, OnModuleInit {
  private readonly logger = new Logger('NatsHistory');
  private clients?: Promise<JetStreamClients | undefined>;
  /** Without JetStream on the server: positions per node, never recovered. */
  private readonly fallback = new UnrecoverableHistoryStore();
  private readonly tops = new Map<string, Top>();
  /** Appends waiting for the subject's write in flight (this node's would only lose races to each other). */
  private readonly queues = new Map<string, QueuedAppend[]>();
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly nats: NatsClient,
    private readonly config: HeraldConfig,
    private readonly apps: AppRegistry,
  ) {}

  get stream(): string {
    return `${this.config.clusterPrefix.replace(/[^A-Za-z0-9_-]/g, '_')}_history`;
  }

  onModuleInit(): void {
    if (this.config.adapter !== 'nats' || this.clients) return;
    this.clients = new Promise((resolve) => this.nats.onConnection((connection) => resolve(this.setUp(connection))));
    // A restarted NATS lost the memory stream: make it again (and forget the tops, which name lost messages).
    this.nats.onReconnect(() => {
      const connection = this.nats.current;
      if (!connection) return;
      this.tops.clear();
      this.clients = this.setUp(connection);
    });
  }

  async append(tenant: string, channel: string, entry: Omit<HistoryEntry, 'offset'>, limits: HistoryLimits): Promise<StreamPosition> {
    if (!(await this.ready())) return this.fallback.append(tenant, channel, entry, limits);
    const stored: StoredEntry = limits.size > 0 && limits.ttlSeconds > 0 ? { entry, expires: Date.now() + limits.ttlSeconds * 1000 } : null;
    const subject = this.subject(tenant, channel);
    return new Promise<StreamPosition>((resolve, reject) => {
      const queue = this.queues.get(subject);
      if (queue) {
        queue.push({ stored, size: limits.size, resolve, reject });
        return;
      }
      this.queues.set(subject, [{ stored, size: limits.size, resolve, reject }]);
      // drain() settles every queued append itself; a throw outside its per-batch try still rejects them all.
      this.drain(subject).catch((error: unknown) => {
        for (const item of this.queues.get(subject) ?? []) item.reject(error);
        this.queues.delete(subject);
      });
    });
  }

  async position(tenant: string, channel: string): Promise<StreamPosition> {
    if (!(await this.ready())) return this.fallback.position(tenant, channel);
    const subject = this.subject(tenant, channel);
    // Fresh: other nodes append too, so this node's last append is not the top.
    const top = await this.top(subject, true);
    if (top) return { offset: top.offset, epoch: top.epoch };
    return this.write(subject, [], 0);
  }

  async since(tenant: string, channel: string, since: StreamPosition, maxBytes = Infinity): Promise<HistoryRead> {
    const clients = await this.ready();
    if (!clients) return this.fallback.since(tenant, channel, since);
    const subject = this.subject(tenant, channel);
    const top = await this.top(subject, true);
    if (!top) return { recovered: false, position: await this.position(tenant, channel), entries: [] };
    const position = { offset: top.offset, epoch: top.epoch };
    const lost: HistoryRead = { recovered: false, position, entries: [] };
    if (since.epoch !== top.epoch || since.offset > top.offset) return lost;
    if (top.offset - since.offset > top.size) return lost;
    const { jsm } = clients;
    const entries: HistoryEntry[] = [];
    const now = Date.now();
    let seq = top.seq;
    let expected = top.offset;
    let bytes = 0;
    while (expected > since.offset) {
      const message = seq > 0 ? await this.get(jsm, seq) : null;
      if (!message || Number(message.header.get(H.offset)) !== expected || message.header.get(H.epoch) !== top.epoch) return lost;
      bytes += message.data.length;
      if (bytes > maxBytes) return lost;
      const stored = message.json<StoredEntry[]>();
      if (!Array.isArray(stored) || stored.length !== Number(message.header.get(H.count))) return lost;
      for (let index = stored.length - 1; index >= 0 && expected > since.offset; index--, expected--) {
        const item = stored[index];
        if (!item || !(item.expires > now)) return lost;
        entries.push({ ...item.entry, offset: expected });
      }
      seq = Number(message.header.get(H.previous));
    }
    return { recovered: true, position, entries: entries.reverse() };
  }

  private async setUp(connection: NatsConnection): Promise<JetStreamClients | undefined> {
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(connection);
    } catch (error) {
      // The package does not export the class of this error; its name is its contract.
      const disabled = (error as Error).name === 'JetStreamNotEnabled' || (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.JetStreamNotEnabledForAccount);
      if (!disabled) throw error;
      this.logger.warn('NATS has no JetStream: channel positions are per node and recovery answers recovered:false');
      return undefined;
    }
    const apps = this.apps.all();
    const size = Math.max(1, ...apps.map((app) => app.historySize));
    const ttl = Math.max(POSITION_TTL_SECONDS, ...apps.map((app) => app.historyTtlSeconds));
    // One slot more than the largest history: the offset-0 marker of a fresh channel.
    // max_bytes: the node history budget bounds the whole (memory) stream; the oldest messages go first.
    const limits = { max_msgs_per_subject: size + 1, max_age: nanos(ttl * 1000), max_bytes: this.config.historyNodeBytes };
    try {
      await jsm.streams.add({ name: this.stream, subjects: [`${this.config.clusterPrefix}.h.>`], storage: StorageType.Memory, ...limits });
    } catch (error) {
      // Made by another node (maybe with other limits): the newest node's limits win.
      if (!(error instanceof JetStreamApiError)) throw error;
      await jsm.streams.update(this.stream, limits);
    }
    return { js: jetstream(connection), jsm };
  }

  /** The JetStream clients, or undefined when the server has none (then the fallback answers). */
  private async ready(): Promise<JetStreamClients | undefined> {
    if (!this.clients || !this.nats.connected) throw new TransportUnavailableError('NATS is unavailable');
    try {
      return await this.clients;
    } catch (error) {
      throw new TransportUnavailableError(`JetStream history is unavailable: ${(error as Error).message}`);
    }
  }

  /** Writes the subject's queued appends, a batch per round trip, until none is left. */
  private async drain(subject: string): Promise<void> {
    for (;;) {
      const batch = this.queues.get(subject) ?? [];
      if (batch.length === 0) {
        this.queues.delete(subject);
        return;
      }
      this.queues.set(subject, []);
      try {
        const last = await this.write(
          subject,
          batch.map((item) => item.stored),
          Math.max(...batch.map((item) => item.size)),
        );
        batch.forEach((item, index) => item.resolve({ offset: last.offset - batch.length + 1 + index, epoch: last.epoch }));
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
  }

  /**
   * Writes `stored` as one message after the subject's current top; returns the position of its last
   * entry. With no entries it is a marker (offset 0), written only to an empty subject: if a message
   * got there first, its position is the answer.
   */
  private async write(subject: string, stored: StoredEntry[], size: number): Promise<StreamPosition> {
    const clients = await this.ready();
    if (!clients) throw new TransportUnavailableError('JetStream is not enabled');
    const { js } = clients;
    const data = this.encoder.encode(JSON.stringify(stored));
    for (let attempt = 0; attempt < APPEND_ATTEMPTS; attempt++) {
      const top = await this.top(subject);
      if (stored.length === 0 && top) return { offset: top.offset, epoch: top.epoch };
      const offset = (top?.offset ?? 0) + stored.length;
      const epoch = top?.epoch ?? randomId(8);
      const headers = natsHeaders();
      headers.set(H.offset, String(offset));
      headers.set(H.count, String(stored.length));
      headers.set(H.epoch, epoch);
      headers.set(H.previous, String(top?.seq ?? 0));
      headers.set(H.size, String(size));
      try {
        const ack = await js.publish(subject, data, { headers, expect: { lastSubjectSequence: top?.seq ?? 0 } });
        this.remember(subject, { seq: ack.seq, offset, epoch, size });
        return { offset, epoch };
      } catch (error) {
        this.tops.delete(subject);
        if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence) continue;
        throw new TransportUnavailableError(`JetStream refused a history append: ${(error as Error).message}`);
      }
    }
    throw new TransportUnavailableError(`history append to ${subject} lost ${APPEND_ATTEMPTS} races in a row`);
  }

  /** The subject's newest message (cached after this node's own appends unless `fresh`). */
  private async top(subject: string, fresh = false): Promise<Top | undefined> {
    const cached = this.tops.get(subject);
    if (cached && !fresh) return cached;
    const clients = await this.ready();
    if (!clients) return undefined;
    const { jsm } = clients;
    let message: StoredMsg | null;
    try {
      message = await jsm.streams.getMessage(this.stream, { last_by_subj: subject });
    } catch (error) {
      throw new TransportUnavailableError(`JetStream history read failed: ${(error as Error).message}`);
    }
    if (!message) {
      this.tops.delete(subject);
      return undefined;
    }
    const top = { seq: message.seq, offset: Number(message.header.get(H.offset)), epoch: message.header.get(H.epoch), size: Number(message.header.get(H.size)) || 0 };
    this.remember(subject, top);
    return top;
  }

  /** A cache of tops, bounded (a miss costs one read, a stale entry one lost race). */
  private remember(subject: string, top: Top): void {
    if (this.tops.size >= 10_000 && !this.tops.has(subject)) this.tops.clear();
    this.tops.set(subject, top);
  }

  private async get(jsm: JetStreamManager, seq: number): Promise<StoredMsg | null> {
    try {
      return await jsm.streams.getMessage(this.stream, { seq });
    } catch (error) {
      throw new TransportUnavailableError(`JetStream history read failed: ${(error as Error).message}`);
    }
  }

  private subject(tenant: string, channel: string): string {
    return [this.config.clusterPrefix, 'h', ...channelSubjectTokens(tenant, channel)].join('.');
  }
}
