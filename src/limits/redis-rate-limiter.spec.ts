import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { brokersAvailable, startRedis, type Broker } from '../../test/support/brokers.js';
import { eventually } from '../../test/support/eventually.js';
import { RedisClients } from '../cluster/redis.clients.js';
import { loadSettings } from '../config/config.loader.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import { REDIS_TAKE_TIMEOUT_MS, RedisRateLimiter } from './redis-rate-limiter.js';

/** Against a real Redis started for this file (skipped without redis-server, except with CI=true). */
const run = brokersAvailable('redis-server') ? describe : describe.skip;

run('RedisRateLimiter', () => {
  let redis: Broker;
  let admin: Redis;
  const opened: { clients: RedisClients; local: MemoryRateLimiter }[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await redis?.stop();
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const { clients, local } of opened.splice(0)) {
      local.onModuleDestroy();
      await clients.onModuleDestroy();
    }
  });

  /** A node's limiter on its own connection; nodes given the same prefix share windows. */
  const node = async (prefix = `rl${randomBytes(4).toString('hex')}`) => {
    const clients = new RedisClients(loadSettings({ HERALD_ADAPTER: 'redis', REDIS_URL: redis.url, HERALD_CLUSTER_PREFIX: prefix }));
    const local = new MemoryRateLimiter();
    opened.push({ clients, local });
    void clients.command; // opens the connections, as the Redis transport does at startup
    await eventually(() => expect(clients.commandReady).toBe(true));
    return { limiter: new RedisRateLimiter(clients, local), clients, prefix };
  };

  it('allows exactly `limit` takes per window, shared by every node of the cluster prefix', async () => {
    const a = await node();
    const b = await node(a.prefix);
    const other = await node();
    const decisions = [await a.limiter.consume('k', 3, 60_000), await b.limiter.consume('k', 3, 60_000), await a.limiter.consume('k', 3, 60_000)];
    expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
    ]);
    const refused = await b.limiter.consume('k', 3, 60_000);
    expect(refused).toMatchObject({ allowed: false, limit: 3, remaining: 0 });
    expect(refused.resetMs).toBeGreaterThan(59_000);
    expect(refused.resetMs).toBeLessThanOrEqual(60_000);
    expect((await a.limiter.consume('another key', 3, 60_000)).allowed).toBe(true);
    expect((await other.limiter.consume('k', 3, 60_000)).allowed).toBe(true); // another cluster prefix
    expect(await admin.pttl(`${a.prefix}:rl:k`)).toBeGreaterThan(59_000);
    expect(a.limiter.fallbacks + b.limiter.fallbacks).toBe(0);
  });

  it('takes costs atomically: a refused take consumes nothing', async () => {
    const { limiter } = await node();
    expect((await limiter.consume('k', 5, 60_000, 4)).allowed).toBe(true);
    expect(await limiter.consume('k', 5, 60_000, 2)).toMatchObject({ allowed: false, remaining: 1 });
    expect(await limiter.consume('k', 5, 60_000, 1)).toMatchObject({ allowed: true, remaining: 0 });
    expect((await limiter.consume('k', 5, 60_000, 1)).allowed).toBe(false);
  });

  it('starts a fresh window once the old one expires', async () => {
    const { limiter } = await node();
    const started = Date.now();
    await limiter.consume('k', 2, 300);
    await limiter.consume('k', 2, 300);
    const refused = await limiter.consume('k', 2, 300);
    expect(refused.allowed).toBe(false);
    expect(refused.resetMs).toBeLessThanOrEqual(300);
    // Refused polls consume nothing, so polling until the window ends is safe; it must not pass before.
    const fresh = await eventually(async () => {
      const decision = await limiter.consume('k', 2, 300);
      expect(decision.allowed).toBe(true);
      return decision;
    }, 2000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(fresh.remaining).toBe(1);
  });

  it('falls back to node-local windows while Redis is down, logs the outage once, and is cluster-wide again after', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const outageLines = () => warn.mock.calls.filter(([message]) => String(message).includes('node-local windows'));
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const { limiter, clients, prefix } = await node();
    expect((await limiter.consume('k', 2, 60_000)).allowed).toBe(true);
    await redis.stop();
    try {
      // Local windows start empty: this node alone allows up to the limit again.
      const local = [await limiter.consume('k', 2, 60_000), await limiter.consume('k', 2, 60_000), await limiter.consume('k', 2, 60_000)];
      expect(local.map((d) => d.allowed)).toEqual([true, true, false]);
      expect(limiter.fallbacks).toBe(3);
      expect(outageLines()).toHaveLength(1);
    } finally {
      await redis.start();
    }
    // Both connections, so closing them afterwards is immediate.
    await eventually(() => expect([clients.commandReady, clients.connections.subscriber.status]).toEqual([true, 'ready']), 5000, 50);
    // Redis came back empty (no persistence): a fresh cluster window, decided by Redis again.
    expect(await limiter.consume('k', 2, 60_000)).toMatchObject({ allowed: true, remaining: 1 });
    expect(limiter.fallbacks).toBe(3);
    expect(await admin.get(`${prefix}:rl:k`)).toBe('1');
    expect(log.mock.calls.filter(([message]) => String(message).includes('cluster-wide again'))).toHaveLength(1);
    expect(outageLines()).toHaveLength(1);
  });

  it('decides locally when Redis stalls instead of holding the request', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { limiter } = await node();
    // Writes (and so every script) wait while Redis is paused; the connection stays up.
    await admin.client('PAUSE', 2000, 'WRITE');
    try {
      const started = Date.now();
      expect((await limiter.consume('k', 1, 60_000)).allowed).toBe(true);
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(REDIS_TAKE_TIMEOUT_MS - 1);
      expect(took).toBeLessThan(REDIS_TAKE_TIMEOUT_MS + 500);
      // Backing off: the next take does not wait for Redis at all.
      const next = Date.now();
      expect((await limiter.consume('k', 1, 60_000)).allowed).toBe(false);
      expect(Date.now() - next).toBeLessThan(REDIS_TAKE_TIMEOUT_MS);
      expect(limiter.fallbacks).toBe(2);
    } finally {
      await admin.client('UNPAUSE');
    }
  });
});
