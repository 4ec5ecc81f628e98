import { MemoryRateLimiter } from './memory-rate-limiter.js';

describe('MemoryRateLimiter', () => {
  let limiter: MemoryRateLimiter;
  beforeEach(() => (limiter = new MemoryRateLimiter()));
  afterEach(() => limiter.onModuleDestroy());

  it('allows exactly `limit` takes per window starting at the first hit, then resets', () => {
    const t0 = 1_000_000;
    expect([1, 2, 3].map((i) => limiter.consume('k', 3, 1000, 1, t0 + i).remaining)).toEqual([2, 1, 0]);
    const refused = limiter.consume('k', 3, 1000, 1, t0 + 500);
    expect(refused).toEqual({ allowed: false, limit: 3, remaining: 0, resetMs: 501 });
    expect(limiter.consume('other', 3, 1000, 1, t0 + 500).allowed).toBe(true);
    expect(limiter.consume('k', 3, 1000, 1, t0 + 1001).allowed).toBe(true);
  });

  it('takes costs atomically: a refused take consumes nothing', () => {
    expect(limiter.consume('k', 5, 1000, 4, 0).allowed).toBe(true);
    expect(limiter.consume('k', 5, 1000, 2, 1).allowed).toBe(false);
    expect(limiter.consume('k', 5, 1000, 1, 2)).toMatchObject({ allowed: true, remaining: 0 });
  });
});
