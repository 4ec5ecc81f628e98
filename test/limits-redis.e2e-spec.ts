import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { RedisRateLimiter } from '../src/limits/redis-rate-limiter.js';
import { brokersAvailable, startRedis, type Broker } from './support/brokers.js';
import { eventually } from './support/eventually.js';
import { scrape, valueOf } from './support/prometheus.js';
import { APP, serverSdk } from './support/pusher-clients.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';

/**
 * Rate limits with `HERALD_ADAPTER=redis`: two nodes (Nest apps in this process) on one real Redis
 * started for this file, each test under its own cluster prefix, share every window.
 */
const run = brokersAvailable('redis-server') ? describe : describe.skip;
const auth = { Authorization: `Bearer ${DEV_API_KEY}` };

run('rate limits across a Redis cluster', () => {
  let redis: Broker;
  let nodes: RunningApp[] = [];
  let prefix = '';

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis?.stop());
  beforeEach(() => {
    prefix = `rl${randomBytes(4).toString('hex')}`;
  });
  afterEach(async () => {
    await Promise.all(nodes.map((node) => node.close()));
    nodes = [];
  });

  const node = async (env: Record<string, string> = {}): Promise<RunningApp> => {
    const started = await startApp({ HERALD_ADAPTER: 'redis', REDIS_URL: redis.url, HERALD_CLUSTER_PREFIX: prefix, ...env });
    nodes.push(started);
    await eventually(async () => expect((await request(started.baseUrl).get('/health/ready')).status).toBe(200), 5000);
    return started;
  };
  const rateLimited = async (server: RunningApp, limit: string, appId = '') =>
    valueOf((await scrape(server.baseUrl)).samples, 'herald_rate_limit_triggered_total', { app_id: appId, limit });

  it('shares the per-IP REST window: N requests across both nodes pass, the next one on either node is 429', async () => {
    const env = { HERALD_RATE_LIMIT_HTTP_REQUESTS: '4', HERALD_RATE_LIMIT_HTTP_WINDOW_MS: '60000' };
    const [a, b] = [await node(env), await node(env)];
    for (const [server, remaining] of [[a, '3'], [b, '2'], [a, '1'], [b, '0']] as const) {
      const ok = await request(server.baseUrl).get('/api/connections').set(auth);
      expect(ok.status).toBe(200);
      expect(ok.headers['x-ratelimit-limit']).toBe('4');
      expect(ok.headers['x-ratelimit-remaining']).toBe(remaining);
    }
    for (const server of [a, b]) {
      const refused = await request(server.baseUrl).get('/api/connections').set(auth);
      expect(refused.status).toBe(429);
      expect(refused.headers['x-ratelimit-limit']).toBe('4');
      expect(refused.headers['x-ratelimit-remaining']).toBe('0');
      // Seconds left in the one 60 s window both nodes share (it started at the first request).
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(59);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(refused.body).toMatchObject({ error: 'rate_limited' });
      expect(await rateLimited(server, 'http')).toBe(1);
    }
    for (const server of [a, b]) expect(server.app.get(RedisRateLimiter).fallbacks).toBe(0);
  });

  it("shares an app's maxBackendEventsPerSecond across nodes, REST and the Pusher HTTP API alike", async () => {
    const apps = JSON.stringify([{ id: APP.appId, key: APP.key, secret: APP.secret, apiKeys: [DEV_API_KEY], maxBackendEventsPerSecond: 3 }]);
    const publish = (server: RunningApp) => request(server.baseUrl).post('/api/messages').set(auth).send({ cmd: 'x', data: 1 });
    const triggerStatus = (server: RunningApp) =>
      serverSdk(server)
        .trigger('news', 'ev', {})
        .then(
          (response: Response) => response.status,
          (error: { status?: number }) => error.status ?? 0,
        );
    // Everything below must land in one one-second window (it starts at the first publish). A loaded machine can
    // stretch the sequence past it; such a run proves nothing either way, so it is run again on fresh nodes.
    for (let attempt = 1; ; attempt++) {
      const [a, b] = [await node({ HERALD_APPS: apps }), await node({ HERALD_APPS: apps })];
      const started = Date.now();
      const accepted = [(await publish(a)).status, (await publish(b)).status, await triggerStatus(b)];
      const refused = [await publish(a), await publish(b)];
      const refusedTrigger = await triggerStatus(a);
      if (Date.now() - started >= 1000 && attempt < 3) {
        await Promise.all(nodes.splice(0).map((server) => server.close()));
        prefix = `rl${randomBytes(4).toString('hex')}`;
        continue;
      }
      expect(accepted).toEqual([202, 202, 200]);
      for (const response of refused) {
        expect(response.status).toBe(429);
        expect(response.headers['retry-after']).toBe('1');
        expect(response.body).toMatchObject({ error: 'rate_limited', limit: 3 });
      }
      expect(refusedTrigger).toBe(429);
      expect((await rateLimited(a, 'backend_events', APP.appId)) + (await rateLimited(b, 'backend_events', APP.appId))).toBe(3);
      return;
    }
  });

  it('keeps answering with node-local windows while Redis is down', async () => {
    const env = { HERALD_RATE_LIMIT_HTTP_REQUESTS: '2', HERALD_RATE_LIMIT_HTTP_WINDOW_MS: '60000' };
    const [a, b] = [await node(env), await node(env)];
    expect((await request(a.baseUrl).get('/api/connections').set(auth)).headers['x-ratelimit-remaining']).toBe('1');
    await redis.stop();
    try {
      // A route that needs no Redis (404), so the limit is all that is under test; nothing hangs or fails.
      const remaining = async (server: RunningApp) => {
        const res = await request(server.baseUrl).get('/api/no-such-route').set(auth);
        return [res.status, res.headers['x-ratelimit-remaining']];
      };
      expect([await remaining(a), await remaining(a), await remaining(a)]).toEqual([
        [404, '1'],
        [404, '0'],
        [429, '0'],
      ]);
      expect(await remaining(b)).toEqual([404, '1']);
      expect(a.app.get(RedisRateLimiter).fallbacks).toBe(3);
    } finally {
      await redis.start();
    }
    // Both nodes come back; Redis restarted empty, so the next take opens a fresh cluster window there.
    for (const server of [a, b]) await eventually(async () => expect((await request(server.baseUrl).get('/health/ready')).status).toBe(200), 5000);
    expect((await request(b.baseUrl).get('/api/connections').set(auth)).headers['x-ratelimit-remaining']).toBe('1');
    expect((await request(a.baseUrl).get('/api/connections').set(auth)).headers['x-ratelimit-remaining']).toBe('0');
    expect(a.app.get(RedisRateLimiter).fallbacks).toBe(3);
  });
});
