import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ClusterNode } from '../cluster/cluster-node.js';
import type { CachedEvent, ChannelCache } from '../pusher/state/channel-cache.js';
import type { ChannelOccupancy, OccupancyChange } from '../pusher/state/channel-occupancy.js';
import type { OnlineUsers } from '../pusher/state/online-users.js';
import type { PresenceJoinResult, PresenceMember, PresenceStore } from '../pusher/state/presence.store.js';
import { NatsHoldings } from './nats-holdings.service.js';
import { AnswerLog, decideFirst, decideLast, NatsMembershipBook, parseGroupAnswers, type PeerGroup } from './nats-membership-book.js';
import { isRecord } from '../common/json.js';
import { NatsPeers, type PeerQuery } from './nats-peers.service.js';
import { dictionary } from '../common/dictionary.js';
import { channelKey } from '../channels/channel-key.js';

/*
 * Pusher's cluster-wide state over NATS: each node keeps its own share in memory and answers questions
 * about it (`NatsPeers`); every transition that drives an event (first/last member, occupied/vacated,
 * online/offline) is decided from every live peer's answer with a total order on `(time, node)`, so
 * concurrent transitions on two nodes fire once. Each node-level transition is also published to the
 * holdings mirror, from which the reaper gives a dead node's share back.
 */

const groupOf = (app: string, channel: string): string => channelKey(app, channel);

/** The user a decision question is about, and who asks (see `AnswerLog`). */
function decision(query: PeerQuery): { userId: string; asker: string } | undefined {
  return typeof query.decide === 'string' && typeof query.from === 'string' ? { userId: query.decide, asker: query.from } : undefined;
}

/** What both membership stores are made of: this node's book, the peers to ask, the mirror to tell. */
@Injectable()
abstract class NatsMembershipStore {
  protected readonly book: NatsMembershipBook;

  constructor(
    protected readonly peers: NatsPeers,
    protected readonly holdings: NatsHoldings,
    node: ClusterNode,
  ) {
    this.book = new NatsMembershipBook(node.id);
  }
}

@Injectable()
export class NatsPresenceStore extends NatsMembershipStore implements PresenceStore, OnModuleInit {
  onModuleInit(): void {
    if (this.peers.enabled) this.peers.answer('presence', (query) => this.book.answer(groupOf(String(query.app), String(query.channel)), undefined, decision(query)));
  }

  async join(app: string, channel: string, connectionId: string, member: PresenceMember, maxMembers: number): Promise<PresenceJoinResult> {
    const group = groupOf(app, channel);
    const joined = this.book.join(group, member.userId, connectionId, member.userInfo);
    if (!joined?.firstHere) return { accepted: true, firstJoin: false };
    let peers: PeerGroup[];
    try {
      peers = await this.ask(app, channel, member.userId);
    } catch (error) {
      this.book.undo(group, member.userId, connectionId);
      throw error;
    }
    const members = this.book.union(group, peers);
    const elsewhere = peers.some((peer) => peer.answer.members.some((other) => other.userId === member.userId));
    if (!elsewhere && maxMembers !== -1 && members.length - 1 >= maxMembers) {
      this.book.undo(group, member.userId, connectionId);
      return { accepted: false };
    }
    this.holdings.held(['presence', app, channel, member.userId]);
    return { accepted: true, firstJoin: this.book.firstAnywhere(group, member.userId, joined.since, peers) };
  }

  async leave(app: string, channel: string, connectionId: string, userId: string): Promise<{ lastLeave: boolean }> {
    const group = groupOf(app, channel);
    const leftAt = this.book.leave(group, userId, connectionId);
    if (leftAt === undefined) return { lastLeave: false };
    this.holdings.released(['presence', app, channel, userId]);
    return { lastLeave: this.book.lastAnywhere(group, userId, leftAt, await this.ask(app, channel, userId)) };
  }

  async members(app: string, channel: string): Promise<PresenceMember[]> {
    const members = this.book.union(groupOf(app, channel), await this.ask(app, channel));
    return members.map(({ userId, info }) => (info === undefined ? { userId } : { userId, userInfo: info }));
  }

  async memberCount(app: string, channel: string): Promise<number> {
    return (await this.members(app, channel)).length;
  }

  async isMember(app: string, channel: string, userId: string): Promise<boolean> {
    if (this.book.has(groupOf(app, channel), userId)) return true;
    return (await this.ask(app, channel)).some((peer) => peer.answer.members.some((member) => member.userId === userId));
  }

  private async ask(app: string, channel: string, decide?: string): Promise<PeerGroup[]> {
    return parseGroupAnswers(await this.peers.ask({ op: 'presence', app, channel, ...(decide !== undefined && { decide }) }));
  }
}

@Injectable()
export class NatsOnlineUsers extends NatsMembershipStore implements OnlineUsers, OnModuleInit {
  onModuleInit(): void {
    if (!this.peers.enabled) return;
    this.peers.answer('online', (query) => {
      const users = Array.isArray(query.users) ? new Set(query.users.map(String)) : new Set<string>();
      return this.book.answer(String(query.app), users, decision(query));
    });
  }

  async add(app: string, userId: string, connectionId: string): Promise<boolean> {
    const joined = this.book.join(app, userId, connectionId, undefined);
    if (!joined?.firstHere) return false;
    this.holdings.held(['online', app, userId]);
    return this.book.firstAnywhere(app, userId, joined.since, await this.ask(app, [userId], userId));
  }

  async remove(app: string, userId: string, connectionId: string): Promise<boolean> {
    const leftAt = this.book.leave(app, userId, connectionId);
    if (leftAt === undefined) return false;
    this.holdings.released(['online', app, userId]);
    return this.book.lastAnywhere(app, userId, leftAt, await this.ask(app, [userId], userId));
  }

  async online(app: string, userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const online = new Set(userIds.filter((userId) => this.book.has(app, userId)));
    if (online.size === userIds.length) return online;
    for (const peer of await this.ask(app, userIds)) for (const member of peer.answer.members) online.add(member.userId);
    return online;
  }

  private async ask(app: string, users: readonly string[], decide?: string): Promise<PeerGroup[]> {
    return parseGroupAnswers(await this.peers.ask({ op: 'online', app, users, ...(decide !== undefined && { decide }) }));
  }
}

interface LocalChannel {
  count: number;
  /** When this node's count went 0 → 1. */
  since: number;
}

interface PeerChannels {
  node: string;
  /** channel → [count, since] */
  channels: Map<string, [number, number]>;
  /** channel → when this node's count last went to 0. */
  left: Map<string, number>;
  /** The peer had a pending vacancy for the channel asked about, and gave it up. */
  claimed: boolean;
}

function parseChannels(node: string, body: unknown): PeerChannels | undefined {
  if (!isRecord(body) || !isRecord(body.channels) || !isRecord(body.left)) return undefined;
  const channels = new Map<string, [number, number]>();
  for (const [channel, value] of Object.entries(body.channels)) {
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'number') channels.set(channel, [value[0], value[1]]);
  }
  const left = new Map<string, number>();
  for (const [channel, at] of Object.entries(body.left)) if (typeof at === 'number') left.set(channel, at);
  return { node, channels, left, claimed: body.claimed === true };
}

const TOMBSTONE_MS = 30_000;
/** A pending vacancy outlives any vacate delay; it only matters until it is settled or taken back. */
const PENDING_VACANCY_MS = 60_000;

@Injectable()
export class NatsChannelOccupancy implements ChannelOccupancy, OnModuleInit {
  private readonly apps = new Map<string, Map<string, LocalChannel>>();
  private readonly left = new Map<string, Map<string, number>>();
  /** Vacancies decided here whose `channel_vacated` waits (app\0channel → expiry). */
  private readonly pending = new Map<string, number>();
  private readonly log = new AnswerLog();

  constructor(
    private readonly peers: NatsPeers,
    private readonly holdings: NatsHoldings,
    private readonly node: ClusterNode,
  ) {}

  onModuleInit(): void {
    if (!this.peers.enabled) return;
    this.peers.answer('occupancy', (query) => {
      const app = String(query.app);
      const channel = typeof query.channel === 'string' ? query.channel : undefined;
      const claimed = query.claim === true && channel !== undefined && this.pending.delete(groupOf(app, channel));
      if (channel !== undefined && query.decide === true && typeof query.from === 'string') this.log.record(app, channel, query.from, (this.apps.get(app)?.get(channel)?.count ?? 0) > 0);
      return { ...this.answer(app, channel, typeof query.prefix === 'string' ? query.prefix : undefined), claimed };
    });
  }

  async add(app: string, channel: string): Promise<OccupancyChange> {
    let channels = this.apps.get(app);
    if (!channels) this.apps.set(app, (channels = new Map()));
    const local = channels.get(channel) ?? { count: 0, since: Date.now() };
    local.count++;
    channels.set(channel, local);
    const firstHere = local.count === 1;
    if (firstHere) this.holdings.held(['channel', app, channel]);
    // The first subscriber here also takes back any pending vacancy (a node with subscribers has none).
    const claimedHere = firstHere && this.pending.delete(groupOf(app, channel));
    const peers = await this.ask(app, channel, { claim: firstHere, decide: firstHere });
    const count = local.count + this.peerCount(peers, channel);
    if (!firstHere || claimedHere || peers.some((peer) => peer.claimed)) return { count, changed: false };
    return { count, changed: decideFirst(this.node.id, local.since, this.holders(peers, channel), (node) => this.log.heard(app, channel, node)) };
  }

  async remove(app: string, channel: string): Promise<OccupancyChange> {
    const channels = this.apps.get(app);
    const local = channels?.get(channel);
    if (!channels || !local) return { count: await this.count(app, channel), changed: false };
    local.count--;
    let leftAt: number | undefined;
    if (local.count <= 0) {
      channels.delete(channel);
      leftAt = Date.now();
      this.tombstones(app).set(channel, leftAt);
      this.holdings.released(['channel', app, channel]);
    }
    const peers = await this.ask(app, channel, { decide: leftAt !== undefined });
    const count = Math.max(0, local.count) + this.peerCount(peers, channel);
    if (leftAt === undefined) return { count, changed: false };
    const departures = peers.flatMap((peer) => {
      const at = peer.left.get(channel);
      return at === undefined ? [] : [{ node: peer.node, at }];
    });
    if (!decideLast(this.node.id, leftAt, this.holders(peers, channel), departures, (node) => this.log.heard(app, channel, node))) return { count, changed: false };
    this.prunePending();
    this.pending.set(groupOf(app, channel), Date.now() + PENDING_VACANCY_MS);
    return { count, changed: true };
  }

  async settleVacancy(app: string, channel: string): Promise<boolean> {
    if (!this.pending.delete(groupOf(app, channel))) return false;
    return (await this.count(app, channel)) === 0;
  }

  async count(app: string, channel: string): Promise<number> {
    return (this.apps.get(app)?.get(channel)?.count ?? 0) + this.peerCount(await this.ask(app, channel), channel);
  }

  async list(app: string, prefix?: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [channel, local] of this.apps.get(app) ?? []) if (prefix === undefined || channel.startsWith(prefix)) out.set(channel, local.count);
    for (const reply of await this.peers.ask({ op: 'occupancy', app, prefix: prefix ?? '' })) {
      const peer = parseChannels(reply.node, reply.body);
      for (const [channel, [count]] of peer?.channels ?? []) if (count > 0) out.set(channel, (out.get(channel) ?? 0) + count);
    }
    return out;
  }

  private prunePending(): void {
    if (this.pending.size < 1_000) return;
    const now = Date.now();
    for (const [key, expiresAt] of this.pending) if (expiresAt < now) this.pending.delete(key);
  }

  private answer(app: string, channel: string | undefined, prefix: string | undefined): { channels: Record<string, [number, number]>; left: Record<string, number> } {
    const channels = dictionary<[number, number]>();
    const left = dictionary<number>();
    const wanted = (name: string) => (channel !== undefined ? name === channel : name.startsWith(prefix ?? ''));
    for (const [name, local] of this.apps.get(app) ?? []) if (wanted(name)) channels[name] = [local.count, local.since];
    if (channel !== undefined) {
      const at = this.tombstones(app).get(channel);
      if (at !== undefined && at > Date.now() - TOMBSTONE_MS) left[channel] = at;
    }
    return { channels, left };
  }

  private tombstones(app: string): Map<string, number> {
    let left = this.left.get(app);
    if (!left) this.left.set(app, (left = new Map()));
    if (left.size > 1_000) for (const [channel, at] of left) if (at < Date.now() - TOMBSTONE_MS) left.delete(channel);
    return left;
  }

  /** `decide`: a question an occupied/vacated decision hangs on (remembered by the answerers); `claim`: take back their pending vacancy. */
  private async ask(app: string, channel: string, { claim = false, decide = false } = {}): Promise<PeerChannels[]> {
    const out: PeerChannels[] = [];
    for (const reply of await this.peers.ask({ op: 'occupancy', app, channel, claim, decide })) {
      const peer = parseChannels(reply.node, reply.body);
      if (peer) out.push(peer);
    }
    return out;
  }

  private holders(peers: PeerChannels[], channel: string): { node: string; since: number }[] {
    return peers.flatMap((peer) => {
      const theirs = peer.channels.get(channel);
      return theirs !== undefined && theirs[0] > 0 ? [{ node: peer.node, since: theirs[1] }] : [];
    });
  }

  private peerCount(peers: PeerChannels[], channel: string): number {
    return peers.reduce((sum, peer) => sum + Math.max(0, peer.channels.get(channel)?.[0] ?? 0), 0);
  }
}

interface CacheEntry {
  event: CachedEvent;
  setAt: number;
  expiresAt: number;
}

/** Cache channels over NATS: the publishing node keeps the entry; a miss asks the peers, newest wins. */
@Injectable()
export class NatsChannelCache implements ChannelCache, OnModuleInit {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(private readonly peers: NatsPeers) {}

  onModuleInit(): void {
    if (!this.peers.enabled) return;
    this.peers.answer('cache', (query) => this.live(groupOf(String(query.app), String(query.channel))) ?? null);
  }

  async set(app: string, channel: string, event: CachedEvent, ttlSeconds: number): Promise<void> {
    const now = Date.now();
    if (this.entries.size >= 1_000) for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    this.entries.set(groupOf(app, channel), { event, setAt: now, expiresAt: now + ttlSeconds * 1000 });
  }

  async get(app: string, channel: string): Promise<{ event: CachedEvent; ttlSeconds: number } | undefined> {
    let newest = this.live(groupOf(app, channel));
    for (const reply of await this.peers.ask({ op: 'cache', app, channel })) {
      const body = reply.body;
      if (!isRecord(body) || !isRecord(body.event) || typeof body.event.event !== 'string' || typeof body.setAt !== 'number' || typeof body.expiresAt !== 'number') continue;
      if (!newest || body.setAt > newest.setAt) newest = { event: { event: body.event.event, data: body.event.data }, setAt: body.setAt, expiresAt: body.expiresAt };
    }
    if (!newest) return undefined;
    const remaining = newest.expiresAt - Date.now();
    return remaining > 0 ? { event: newest.event, ttlSeconds: Math.ceil(remaining / 1000) } : undefined;
  }

  private live(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
