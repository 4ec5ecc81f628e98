import { Injectable } from '@nestjs/common';
import { ClusterNode } from '../cluster/cluster-node.js';
import { redisKeyParts } from '../channels/channel-key.js';
import { RedisClients } from '../cluster/redis.clients.js';
import type { CachedEvent, ChannelCache } from '../pusher/state/channel-cache.js';
import type { ChannelOccupancy, OccupancyChange } from '../pusher/state/channel-occupancy.js';
import type { OnlineUsers } from '../pusher/state/online-users.js';
import type { PresenceJoinResult, PresenceMember, PresenceStore } from '../pusher/state/presence.store.js';
import { RedisNodeMembership } from './redis-node-membership.service.js';
import { isRecord, parsePeerJson } from '../common/json.js';

/*
 * Pusher's cluster-wide state in Redis. Every transition that drives an event (first/last member,
 * occupied/vacated, online/offline) is one Lua script, so exactly one node sees each transition.
 * Each node also records what it added in keys it owns (`node:<id>:…`), so when it dies the reaper
 * can take exactly its share back out, with the events (see RedisNodeReaper).
 */

/** KEYS conns, users, info, nodeSet; ARGV conn, user, info, max, entry → {accepted, firstJoin}. */
const PRESENCE_JOIN = `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {1, 0} end
local present = redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1
if not present and tonumber(ARGV[4]) ~= -1 and redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[4]) then return {0, 0} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
if not present then redis.call('HSET', KEYS[3], ARGV[2], ARGV[3]) end
redis.call('SADD', KEYS[4], ARGV[5])
if present then return {1, 0} end
return {1, 1}`;

/** KEYS conns, users, info, nodeSet; ARGV conn, user, entry → 1 when it was the user's last connection. */
export const PRESENCE_LEAVE = `redis.call('SREM', KEYS[4], ARGV[3])
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
local n = redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
if n > 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
return 1`;

/**
 * KEYS global, node, vacancy; ARGV channel, node field → {count after, 1 when it became occupied}.
 * A first subscriber that finds a pending vacancy takes it back instead: not occupied, and the
 * pending `channel_vacated` is not sent (whichever node holds its timer).
 */
const OCCUPANCY_ADD = `redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if n == 1 and redis.call('DEL', KEYS[3]) == 0 then return {n, 1} end
return {n, 0}`;

/**
 * KEYS global, node, vacancy; ARGV channel, node field, vacancy ttl → {count after, 1 when it became
 * vacant} (never below 0; a remove without an add changes nothing). A vacancy is pending until settled.
 */
const OCCUPANCY_REMOVE = `local mine = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
if mine <= 0 then return {tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0'), 0} end
if mine == 1 then redis.call('HDEL', KEYS[2], ARGV[2]) else redis.call('HINCRBY', KEYS[2], ARGV[2], -1) end
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]); redis.call('SET', KEYS[3], '1', 'PX', ARGV[3]); return {0, 1} end
return {n, 0}`;

/** KEYS vacancy, global; ARGV channel → 1 when the vacancy was still pending and the channel is empty. */
const SETTLE_VACANCY = `if redis.call('DEL', KEYS[1]) == 0 then return 0 end
if tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') > 0 then return 0 end
return 1`;

/** A pending vacancy outlives any vacate delay; it only matters until it is settled or taken back. */
const VACANCY_TTL_MS = 60_000;

/** KEYS user set, nodeSet; ARGV conn, entry → 1 when the user came online. */
const ONLINE_ADD = `redis.call('SADD', KEYS[2], ARGV[2])
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('SCARD', KEYS[1]) == 1 then return 1 end
return 0`;

/** KEYS user set, nodeSet; ARGV conn, entry → 1 when the user went offline. */
export const ONLINE_REMOVE = `redis.call('SREM', KEYS[2], ARGV[2])
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('SCARD', KEYS[1]) == 0 then return 1 end
return 0`;

/** Key helpers shared by the stores and the reaper. */
@Injectable()
export class RedisStateKeys {
  constructor(
    private readonly clients: RedisClients,
    private readonly membership: RedisNodeMembership,
    private readonly node: ClusterNode,
  ) {}

  presence(app: string, channel: string): [string, string, string] {
    const base = (part: string) => this.clients.key('pr', part, ...redisKeyParts(app, channel));
    return [base('c'), base('u'), base('i')];
  }

  occupancy(app: string): string {
    return this.clients.key('occ', ...redisKeyParts(app));
  }

  online(app: string, userId: string): string {
    return this.clients.key('on', ...redisKeyParts(app, userId));
  }

  vacancy(app: string, channel: string): string {
    return this.clients.key('vac', ...redisKeyParts(app, channel));
  }

  cache(app: string, channel: string): string {
    return this.clients.key('cache', ...redisKeyParts(app, channel));
  }

  /** A node-owned key (this node unless `nodeId` is given). */
  owned(kind: 'pr' | 'occ' | 'on', nodeId = this.node.id): string {
    return this.membership.nodeKey(nodeId, kind);
  }
}

/** A node-owned record of one membership: JSON `[app, channel|user, connection, user?]`. */
export const entry = (...parts: string[]): string => JSON.stringify(parts);

@Injectable()
export class RedisPresenceStore implements PresenceStore {
  constructor(
    private readonly clients: RedisClients,
    private readonly keys: RedisStateKeys,
  ) {}

  async join(app: string, channel: string, connectionId: string, member: PresenceMember, maxMembers: number): Promise<PresenceJoinResult> {
    const info = JSON.stringify({ i: member.userInfo });
    const record = entry(app, channel, connectionId, member.userId);
    const [accepted, first] = (await this.clients.run((redis) =>
      redis.eval(PRESENCE_JOIN, 4, ...this.keys.presence(app, channel), this.keys.owned('pr'), connectionId, member.userId, info, maxMembers, record),
    )) as [number, number];
    return accepted === 1 ? { accepted: true, firstJoin: first === 1 } : { accepted: false };
  }

  async leave(app: string, channel: string, connectionId: string, userId: string): Promise<{ lastLeave: boolean }> {
    const record = entry(app, channel, connectionId, userId);
    const last = await this.clients.run((redis) => redis.eval(PRESENCE_LEAVE, 4, ...this.keys.presence(app, channel), this.keys.owned('pr'), connectionId, userId, record));
    return { lastLeave: last === 1 };
  }

  async members(app: string, channel: string): Promise<PresenceMember[]> {
    const info = await this.clients.run((redis) => redis.hgetall(this.keys.presence(app, channel)[2]));
    return Object.entries(info).map(([userId, raw]) => {
      const parsed = parsePeerJson(raw);
      return !isRecord(parsed) || parsed.i === undefined ? { userId } : { userId, userInfo: parsed.i };
    });
  }

  async memberCount(app: string, channel: string): Promise<number> {
    return this.clients.run((redis) => redis.hlen(this.keys.presence(app, channel)[1]));
  }

  async isMember(app: string, channel: string, userId: string): Promise<boolean> {
    return (await this.clients.run((redis) => redis.hexists(this.keys.presence(app, channel)[1], userId))) === 1;
  }
}

@Injectable()
export class RedisChannelOccupancy implements ChannelOccupancy {
  constructor(
    private readonly clients: RedisClients,
    private readonly keys: RedisStateKeys,
  ) {}

  async add(app: string, channel: string): Promise<OccupancyChange> {
    return this.change(OCCUPANCY_ADD, app, channel);
  }

  async remove(app: string, channel: string): Promise<OccupancyChange> {
    return this.change(OCCUPANCY_REMOVE, app, channel);
  }

  async settleVacancy(app: string, channel: string): Promise<boolean> {
    return (await this.clients.run((redis) => redis.eval(SETTLE_VACANCY, 2, this.keys.vacancy(app, channel), this.keys.occupancy(app), channel))) === 1;
  }

  private async change(script: string, app: string, channel: string): Promise<OccupancyChange> {
    const keys = [this.keys.occupancy(app), this.keys.owned('occ'), this.keys.vacancy(app, channel)];
    const [count, changed] = (await this.clients.run((redis) => redis.eval(script, 3, ...keys, channel, entry(app, channel), VACANCY_TTL_MS))) as [number, number];
    return { count: Number(count), changed: changed === 1 };
  }

  async count(app: string, channel: string): Promise<number> {
    return Number((await this.clients.run((redis) => redis.hget(this.keys.occupancy(app), channel))) ?? 0);
  }

  async list(app: string, prefix?: string): Promise<Map<string, number>> {
    const all = await this.clients.run((redis) => redis.hgetall(this.keys.occupancy(app)));
    const out = new Map<string, number>();
    for (const [channel, count] of Object.entries(all)) {
      if (Number(count) > 0 && (prefix === undefined || channel.startsWith(prefix))) out.set(channel, Number(count));
    }
    return out;
  }
}

@Injectable()
export class RedisOnlineUsers implements OnlineUsers {
  constructor(
    private readonly clients: RedisClients,
    private readonly keys: RedisStateKeys,
  ) {}

  async add(app: string, userId: string, connectionId: string): Promise<boolean> {
    const result = await this.clients.run((redis) => redis.eval(ONLINE_ADD, 2, this.keys.online(app, userId), this.keys.owned('on'), connectionId, entry(app, userId, connectionId)));
    return result === 1;
  }

  async remove(app: string, userId: string, connectionId: string): Promise<boolean> {
    const result = await this.clients.run((redis) => redis.eval(ONLINE_REMOVE, 2, this.keys.online(app, userId), this.keys.owned('on'), connectionId, entry(app, userId, connectionId)));
    return result === 1;
  }

  async online(app: string, userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const pipeline = this.clients.command.pipeline();
    for (const userId of userIds) pipeline.exists(this.keys.online(app, userId));
    const results = await this.clients.run(() => pipeline.exec());
    return new Set(userIds.filter((_, index) => results?.[index]?.[1] === 1));
  }
}

@Injectable()
export class RedisChannelCache implements ChannelCache {
  constructor(
    private readonly clients: RedisClients,
    private readonly keys: RedisStateKeys,
  ) {}

  async set(app: string, channel: string, event: CachedEvent, ttlSeconds: number): Promise<void> {
    await this.clients.run((redis) => redis.set(this.keys.cache(app, channel), JSON.stringify(event), 'EX', ttlSeconds));
  }

  async get(app: string, channel: string): Promise<{ event: CachedEvent; ttlSeconds: number } | undefined> {
    const key = this.keys.cache(app, channel);
    const [value, ttl] = await this.clients.run((redis) => Promise.all([redis.get(key), redis.ttl(key)]));
    if (value === null || ttl <= 0) return undefined;
    const parsed = parsePeerJson(value);
    if (!isRecord(parsed) || typeof parsed.event !== 'string') return undefined;
    return { event: { event: parsed.event, data: parsed.data }, ttlSeconds: ttl };
  }
}
