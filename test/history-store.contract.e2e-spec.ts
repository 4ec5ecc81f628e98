import { randomBytes } from 'node:crypto';
import { NatsClient } from '../src/cluster/nats.client.js';
import { RedisClients } from '../src/cluster/redis.clients.js';
import { AppRegistry } from '../src/config/app-registry.service.js';
import { loadSettings } from '../src/config/config.loader.js';
import { historyBudgets, type HistoryStore } from '../src/history/history.store.js';
import { MemoryHistoryStore } from '../src/history/memory-history.store.js';
import { NatsHistoryStore } from '../src/state/nats-history.store.js';
import { RedisHistoryStore } from '../src/state/redis-history.store.js';
import { brokersAvailable, startNats, startRedis, type Broker } from './support/brokers.js';
import { eventually } from './support/eventually.js';

/**
 * One contract for every HistoryStore (src/history/history.store.ts): in memory, Redis, NATS JetStream,
 * against real brokers started for this file. The shared ones run as two nodes (two stores on their
 * own connections) to prove that one channel is one stream whichever node appends or reads.
 */
type Kind = 'memory' | 'redis' | 'nats';
const run = brokersAvailable('redis-server', 'nats-server') ? describe : describe.skip;
const entry = (n: number) => ({ id: `m${n}`, channel: 'news', event: 'e', data: { n }, createTime: new Date().toISOString() });
const limits = { size: 3, ttlSeconds: 60 };

run.each<Kind>(['memory', 'redis', 'nats'])('HistoryStore contract: %s', (kind) => {
  let broker: Broker | undefined;
  let prefix = '';
  let closers: (() => Promise<void>)[] = [];
  let memory: MemoryHistoryStore | undefined;

  beforeAll(async () => {
    if (kind === 'redis') broker = await startRedis();
    if (kind === 'nats') broker = await startNats();
  });
  afterAll(async () => broker?.stop());
  beforeEach(() => {
    prefix = `h${randomBytes(4).toString('hex')}`;
    memory = undefined;
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  /** A node's store; every node of a test shares the cluster prefix (memory: the one store). */
  const node = async (env: Record<string, string> = {}): Promise<HistoryStore> => {
    const settings = loadSettings({ HERALD_ADAPTER: kind === 'memory' ? 'local' : kind, [kind === 'redis' ? 'REDIS_URL' : 'NATS_URL']: broker?.url ?? '', HERALD_CLUSTER_PREFIX: prefix, ...env });
    if (kind === 'memory') return (memory ??= new MemoryHistoryStore(historyBudgets(settings)));
    if (kind === 'redis') {
      const clients = new RedisClients(settings);
      closers.push(() => clients.onModuleDestroy());
      void clients.command; // opens the connections, as the app does at startup
      await eventually(() => expect(clients.commandReady).toBe(true));
      return new RedisHistoryStore(clients, settings);
    }
    const nats = new NatsClient(settings);
    closers.push(() => nats.onModuleDestroy());
    const store = new NatsHistoryStore(nats, settings, new AppRegistry(settings));
    store.onModuleInit();
    await eventually(() => expect(nats.connected).toBe(true));
    return store;
  };

  it('assigns increasing offsets per channel under one epoch, tenants apart', async () => {
    const store = await node();
    const first = await store.append('t', 'news', entry(1), limits);
    const second = await store.append('t', 'news', entry(2), limits);
    const other = await store.append('t', 'sports', entry(1), limits);
    expect(first.offset).toBe(1);
    expect(second).toEqual({ offset: 2, epoch: first.epoch });
    expect(other.offset).toBe(1);
    expect(other.epoch).not.toBe(first.epoch);
    expect(await store.position('t', 'news')).toEqual(second);
    expect((await store.position('u', 'news')).offset).toBe(0);
  });

  it('continues the epoch a position read handed out, and recovers exactly the entries after a position', async () => {
    const store = await node();
    const start = await store.position('t', 'news');
    expect(start.offset).toBe(0);
    for (let n = 1; n <= 3; n++) expect((await store.append('t', 'news', entry(n), limits)).epoch).toBe(start.epoch);
    const read = await store.since('t', 'news', { offset: 1, epoch: start.epoch });
    expect(read).toMatchObject({ recovered: true, position: { offset: 3, epoch: start.epoch } });
    expect(read.entries.map((e) => [e.offset, e.id])).toEqual([
      [2, 'm2'],
      [3, 'm3'],
    ]);
    expect(await store.since('t', 'news', { offset: 3, epoch: start.epoch })).toMatchObject({ recovered: true, entries: [] });
  });

  it('cannot recover past the size window, another epoch, or a position ahead of the stream', async () => {
    const store = await node();
    const start = await store.position('t', 'news');
    for (let n = 1; n <= 5; n++) await store.append('t', 'news', entry(n), limits);
    expect((await store.since('t', 'news', { offset: 1, epoch: start.epoch })).recovered).toBe(false);
    expect((await store.since('t', 'news', { offset: 2, epoch: start.epoch })).entries.map((e) => e.offset)).toEqual([3, 4, 5]);
    expect((await store.since('t', 'news', { offset: 4, epoch: 'other' })).recovered).toBe(false);
    expect((await store.since('t', 'news', { offset: 9, epoch: start.epoch })).recovered).toBe(false);
  });

  it('with size 0 keeps positions but nothing to replay', async () => {
    const store = await node();
    const start = await store.position('t', 'news');
    await store.append('t', 'news', entry(1), { size: 0, ttlSeconds: 60 });
    expect((await store.since('t', 'news', { offset: 0, epoch: start.epoch })).recovered).toBe(false);
    expect((await store.since('t', 'news', { offset: 1, epoch: start.epoch })).recovered).toBe(true);
  });

  it('keeps entries within the history byte budget, dropping the oldest first, and replays the sent data intact', async () => {
    const store = await node({ HERALD_HISTORY_APP_BYTES: '8192', HERALD_HISTORY_NODE_BYTES: '8192' });
    const start = await store.position('t', 'news');
    const nested = JSON.parse('['.repeat(50) + '"deep"' + ']'.repeat(50)) as unknown;
    const big = (n: number) => ({ ...entry(n), data: { n, pad: 'p'.repeat(1500), nested } });
    for (let n = 1; n <= 20; n++) await store.append('t', 'news', big(n), { size: 100, ttlSeconds: 60 });
    // 20 × ~1.7 KB is far over 8 KiB: the oldest are gone, so recovering from the start is impossible…
    expect((await store.since('t', 'news', start)).recovered).toBe(false);
    // …while the newest are kept, byte for byte what was sent.
    const read = await store.since('t', 'news', { offset: 18, epoch: start.epoch });
    expect(read.recovered).toBe(true);
    expect(read.entries.map((e) => e.data)).toEqual([big(19).data, big(20).data]);
  });

  it('answers recovered:false instead of entries larger than the reader can take (maxBytes)', async () => {
    const store = await node();
    const start = await store.position('t', 'news');
    for (let n = 1; n <= 3; n++) await store.append('t', 'news', { ...entry(n), data: { pad: 'z'.repeat(2000) } }, limits);
    expect(await store.since('t', 'news', start, 3000)).toMatchObject({ recovered: false, entries: [], position: { offset: 3 } });
    expect((await store.since('t', 'news', start, 100_000)).entries).toHaveLength(3);
    expect((await store.since('t', 'news', { offset: 2, epoch: start.epoch }, 3000)).entries).toHaveLength(1);
  });

  if (kind !== 'memory') {
    it('keeps one stream per channel when two nodes append at the same time, readable from either', async () => {
      const [a, b] = [await node(), await node()];
      const start = await a.position('t', 'news');
      const appended = await Promise.all(Array.from({ length: 20 }, (_, n) => (n % 2 ? a : b).append('t', 'news', entry(n), { size: 50, ttlSeconds: 60 })));
      expect(appended.map((position) => position.offset).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, n) => n + 1));
      expect(new Set(appended.map((position) => position.epoch))).toEqual(new Set([start.epoch]));
      const read = await b.since('t', 'news', start);
      expect(read.recovered).toBe(true);
      expect(read.entries.map((e) => e.offset)).toEqual(Array.from({ length: 20 }, (_, n) => n + 1));
    });

    it('cannot recover entries whose time-to-live ran out', async () => {
      const store = await node();
      const start = await store.position('t', 'news');
      await store.append('t', 'news', entry(1), { size: 10, ttlSeconds: 1 });
      expect((await store.since('t', 'news', start)).recovered).toBe(true);
      await eventually(async () => expect((await store.since('t', 'news', start)).recovered).toBe(false), 3000, 100);
    });
  }
});

run('NatsHistoryStore on a NATS server without JetStream', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startNats({ jetstream: false });
  });
  afterAll(async () => broker?.stop());

  it('keeps positions per node and answers recovered:false instead of failing publishes', async () => {
    const settings = loadSettings({ HERALD_ADAPTER: 'nats', NATS_URL: broker.url, HERALD_CLUSTER_PREFIX: `h${randomBytes(4).toString('hex')}` });
    const nats = new NatsClient(settings);
    try {
      const store = new NatsHistoryStore(nats, settings, new AppRegistry(settings));
      store.onModuleInit();
      await eventually(() => expect(nats.connected).toBe(true));
      const first = await store.append('t', 'news', entry(1), limits);
      expect(await store.append('t', 'news', entry(2), limits)).toEqual({ offset: 2, epoch: first.epoch });
      expect(await store.since('t', 'news', first)).toMatchObject({ recovered: false, position: { offset: 2 } });
    } finally {
      await nats.onModuleDestroy();
    }
  });
});
