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

  it("drops an app's oldest entries beyond its byte budget without touching another app's", async () => {
    const bounded = new MemoryHistoryStore({ appBytes: 4096, nodeBytes: 1 << 20 });
    const pad = (n: number) => ({ ...entry(n), data: { n, pad: 'x'.repeat(900) } });
    const quiet = await bounded.position('quiet', 'news');
    await bounded.append('quiet', 'news', pad(1), { size: 100, ttlSeconds: 60 });
    const loud = await bounded.position('loud', 'amp:0');
    for (let n = 0; n < 50; n++) await bounded.append('loud', `amp:${n}`, pad(n), { size: 100, ttlSeconds: 60 });
    expect(bounded.bytes('loud')).toBeLessThanOrEqual(4096);
    expect(bounded.bytes()).toBe(bounded.bytes('loud') + bounded.bytes('quiet'));
    expect((await bounded.since('loud', 'amp:0', loud)).recovered).toBe(false);
    expect((await bounded.since('quiet', 'news', quiet)).entries.map((e) => e.id)).toEqual(['m1']);
  });

  it('keeps all apps together within the node byte budget', async () => {
    const bounded = new MemoryHistoryStore({ appBytes: 1 << 20, nodeBytes: 8192 });
    for (let n = 0; n < 40; n++) await bounded.append(`app${n % 4}`, `c${n}`, { ...entry(n), data: { pad: 'y'.repeat(900) } }, { size: 100, ttlSeconds: 60 });
    expect(bounded.bytes()).toBeLessThanOrEqual(8192);
    expect(bounded.bytes()).toBeGreaterThan(4096);
  });

  it('forgets the least recently used stream beyond the channel count (a new epoch when it comes back)', async () => {
    const bounded = new MemoryHistoryStore({ maxChannels: 2 });
    const first = await bounded.append('t', 'a', entry(1), limits);
    await bounded.append('t', 'b', entry(2), limits);
    await bounded.append('t', 'a', entry(3), limits); // a is now the most recently used
    await bounded.append('t', 'c', entry(4), limits); // forgets b
    expect(bounded.size).toBe(2);
    expect((await bounded.since('t', 'a', first)).entries.map((e) => e.id)).toEqual(['m3']);
    expect((await bounded.position('t', 'b')).offset).toBe(0);
  });
});
