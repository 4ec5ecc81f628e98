import { Injectable } from '@nestjs/common';
import type { StreamPosition } from '../broadcast/envelope.js';
import { redisKeyParts } from '../channels/channel-key.js';
import { RedisClients } from '../cluster/redis.clients.js';
import { randomId } from '../common/ids.js';
import { HeraldConfig } from '../config/herald-config.js';
import type { HistoryEntry, HistoryLimits, HistoryRead, HistoryStore } from '../history/history.store.js';

/** How long an idle stream's position outlives its entries (as the in-memory store). */
const META_TTL_MIN_SECONDS = 3600;

/*
 * Streams in Redis: `h:m:<app>:<channel>` is a hash {o: offset, e: epoch}; `h:e:<app>:<channel>` a
 * sorted set of entries scored by offset, each member `<expiresAtMs>|<offset>|<json>`. The offset is
 * assigned by HINCRBY inside the script, so any number of nodes append to one stream in one order.
 * A stream whose meta key is gone (evicted, flushed, expired) restarts at 1 with a new epoch, and its
 * old entries are dropped with it, so `(offset, epoch)` always names one message. The entries live in
 * Redis as the JSON text that was sent; one channel holds at most `historyAppBytes` of them.
 */

/**
 * KEYS meta, entries; ARGV new epoch, size, ttl s, meta ttl s, expiresAt ms, json, byte cap → {offset, epoch}.
 * The meta hash keeps `b`, the bytes of the channel's members: trimmed by count, then oldest first
 * while over the byte cap (the app's history budget: one channel never holds more).
 */
const APPEND = `local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'e', epoch)
  redis.call('DEL', KEYS[2])
end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('HSET', KEYS[1], 'b', 0) end
local offset = redis.call('HINCRBY', KEYS[1], 'o', 1)
local size, ttl, cap = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[7])
if size > 0 and ttl > 0 then
  local member = ARGV[5] .. '|' .. offset .. '|' .. ARGV[6]
  redis.call('ZADD', KEYS[2], offset, member)
  local bytes = redis.call('HINCRBY', KEYS[1], 'b', #member)
  local over = redis.call('ZCARD', KEYS[2]) - size
  if over > 0 then
    for _, old in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do bytes = redis.call('HINCRBY', KEYS[1], 'b', -#old) end
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
  end
  while bytes > cap do
    local popped = redis.call('ZPOPMIN', KEYS[2])
    if not popped[1] then break end
    bytes = redis.call('HINCRBY', KEYS[1], 'b', -#popped[1])
  end
  redis.call('EXPIRE', KEYS[2], ttl)
else
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'b', 0)
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {offset, epoch}`;

/** KEYS meta, entries; ARGV new epoch, since offset (-1 = position only) → {offset, epoch, members…}. */
const READ = `local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'e', epoch, 'o', 0)
  redis.call('EXPIRE', KEYS[1], ${META_TTL_MIN_SECONDS})
end
local offset = tonumber(redis.call('HGET', KEYS[1], 'o') or '0')
local out = {offset, epoch}
local since = tonumber(ARGV[2])
if since >= 0 and since < offset then
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. since, '+inf')) do table.insert(out, member) end
end
return out`;

@Injectable()
export class RedisHistoryStore implements HistoryStore {
  constructor(
    private readonly clients: RedisClients,
    private readonly config: HeraldConfig,
  ) {}

  async append(tenant: string, channel: string, entry: Omit<HistoryEntry, 'offset'>, limits: HistoryLimits): Promise<StreamPosition> {
    const metaTtl = Math.max(limits.ttlSeconds, META_TTL_MIN_SECONDS);
    const expiresAt = Date.now() + limits.ttlSeconds * 1000;
    const [offset, epoch] = (await this.clients.run((redis) =>
      redis.eval(APPEND, 2, ...this.keys(tenant, channel), randomId(8), limits.size, limits.ttlSeconds, metaTtl, expiresAt, JSON.stringify(entry), this.config.historyAppBytes),
    )) as [number, string];
    return { offset: Number(offset), epoch };
  }

  async position(tenant: string, channel: string): Promise<StreamPosition> {
    const [offset, epoch] = await this.read(tenant, channel, -1);
    return { offset, epoch };
  }

  async since(tenant: string, channel: string, since: StreamPosition, maxBytes = Infinity): Promise<HistoryRead> {
    const [offset, epoch, members] = await this.read(tenant, channel, since.offset);
    const position = { offset, epoch };
    const lost: HistoryRead = { recovered: false, position, entries: [] };
    if (since.epoch !== epoch || since.offset > offset) return lost;
    if (since.offset === offset) return { recovered: true, position, entries: [] };
    let bytes = 0;
    for (const member of members) bytes += member.length;
    if (bytes > maxBytes) return lost;
    const now = Date.now();
    const entries: HistoryEntry[] = [];
    for (const member of members) {
      const first = member.indexOf('|');
      const second = member.indexOf('|', first + 1);
      const expiresAt = Number(member.slice(0, first));
      const entryOffset = Number(member.slice(first + 1, second));
      // All or nothing: a missing or expired entry in between makes the read unrecoverable.
      if (expiresAt <= now || entryOffset !== since.offset + entries.length + 1) return lost;
      entries.push({ ...(JSON.parse(member.slice(second + 1)) as Omit<HistoryEntry, 'offset'>), offset: entryOffset });
    }
    if (entries.length !== offset - since.offset) return lost;
    return { recovered: true, position, entries };
  }

  private async read(tenant: string, channel: string, since: number): Promise<[number, string, string[]]> {
    const [offset, epoch, ...members] = (await this.clients.run((redis) => redis.eval(READ, 2, ...this.keys(tenant, channel), randomId(8), since))) as [number, string, ...string[]];
    return [Number(offset), epoch, members];
  }

  private keys(tenant: string, channel: string): [string, string] {
    return [this.clients.key('h', 'm', ...redisKeyParts(tenant, channel)), this.clients.key('h', 'e', ...redisKeyParts(tenant, channel))];
  }
}
