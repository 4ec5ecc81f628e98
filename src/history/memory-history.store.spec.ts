import { jest } from '@jest/globals';
import { MemoryHistoryStore } from './memory-history.store.js';

const entry = (n: number) => ({ id: `m${n}`, channel: 'news', event: 'e', data: { n }, createTime: new Date().toISOString() });
const limits = { size: 3, ttlSeconds: 60 };

/** What only the in-memory store shows; the shared contract runs in test/history-store.contract.e2e-spec.ts. */
describe('MemoryHistoryStore', () => {
  let store: MemoryHistoryStore;
  beforeEach(() => {
    store = new MemoryHistoryStore();
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

  it('starts a new epoch for a new store (an in-memory restart)', async () => {
    const before = await store.append('t', 'news', entry(1), limits);
    const restarted = new MemoryHistoryStore();
    const after = await restarted.append('t', 'news', entry(2), limits);
    expect(after.offset).toBe(1);
    expect(after.epoch).not.toBe(before.epoch);
    expect((await restarted.since('t', 'news', before)).recovered).toBe(false);
  });
});
