import { jest } from '@jest/globals';
import { MemoryHistoryStore } from './memory-history.store.js';

const entry = (n: number) => ({ id: `m${n}`, channel: 'news', event: 'e', data: { n }, createTime: new Date().toISOString() });
const limits = { size: 3, ttlSeconds: 60 };

describe('MemoryHistoryStore', () => {
  let store: MemoryHistoryStore;
  beforeEach(() => {
    store = new MemoryHistoryStore();
  });

  it('assigns increasing offsets per channel under one epoch', async () => {
    const first = await store.append('t', 'news', entry(1), limits);
    const second = await store.append('t', 'news', entry(2), limits);
    const other = await store.append('t', 'sports', entry(1), limits);
    expect(first.offset).toBe(1);
    expect(second).toEqual({ offset: 2, epoch: first.epoch });
    expect(other.offset).toBe(1);
    expect(other.epoch).not.toBe(first.epoch);
    expect(await store.position('t', 'news')).toEqual(second);
  });

  it('keeps tenants apart', async () => {
    await store.append('a', 'news', entry(1), limits);
    expect((await store.position('b', 'news')).offset).toBe(0);
  });

  it('recovers exactly the entries after a position, oldest first', async () => {
    const start = await store.position('t', 'news');
    for (let n = 1; n <= 3; n++) await store.append('t', 'news', entry(n), limits);
    const read = await store.since('t', 'news', { offset: 1, epoch: start.epoch });
    expect(read.recovered).toBe(true);
    expect(read.entries.map((e) => e.offset)).toEqual([2, 3]);
    expect(read.entries.map((e) => e.id)).toEqual(['m2', 'm3']);
    expect(read.position).toEqual({ offset: 3, epoch: start.epoch });
    expect(await store.since('t', 'news', { offset: 3, epoch: start.epoch })).toMatchObject({ recovered: true, entries: [] });
  });

  it('cannot recover past the size window, another epoch, or a position ahead of the stream', async () => {
    const start = await store.position('t', 'news');
    for (let n = 1; n <= 5; n++) await store.append('t', 'news', entry(n), limits);
    expect((await store.since('t', 'news', { offset: 1, epoch: start.epoch })).recovered).toBe(false);
    expect((await store.since('t', 'news', { offset: 2, epoch: start.epoch })).entries.map((e) => e.offset)).toEqual([3, 4, 5]);
    expect((await store.since('t', 'news', { offset: 4, epoch: 'other' })).recovered).toBe(false);
    expect((await store.since('t', 'news', { offset: 9, epoch: start.epoch })).recovered).toBe(false);
  });

  it('cannot recover expired entries', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const start = await store.position('t', 'news');
      await store.append('t', 'news', entry(1), { size: 10, ttlSeconds: 5 });
      jest.setSystemTime(1_000_000 + 6_000);
      await store.append('t', 'news', entry(2), { size: 10, ttlSeconds: 5 });
      expect((await store.since('t', 'news', { offset: 0, epoch: start.epoch })).recovered).toBe(false);
      expect((await store.since('t', 'news', { offset: 1, epoch: start.epoch })).entries.map((e) => e.id)).toEqual(['m2']);
    } finally {
      jest.useRealTimers();
    }
  });

  it('with size 0 keeps positions but nothing to replay', async () => {
    const start = await store.position('t', 'news');
    await store.append('t', 'news', entry(1), { size: 0, ttlSeconds: 60 });
    expect((await store.since('t', 'news', { offset: 0, epoch: start.epoch })).recovered).toBe(false);
    expect((await store.since('t', 'news', { offset: 1, epoch: start.epoch })).recovered).toBe(true);
  });

  it('starts a new epoch for a new store (an in-memory restart)', async () => {
    const before = await store.append('t', 'news', entry(1), limits);
    const restarted = new MemoryHistoryStore();
    const after = await restarted.append('t', 'news', entry(2), limits);
    expect(after.offset).toBe(1);
    expect(after.epoch).not.toBe(before.epoch);
    expect((await restarted.since('t', 'news', before)).recovered).toBe(false);
  });
});
