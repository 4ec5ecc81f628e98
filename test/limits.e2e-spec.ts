import request from 'supertest';
import { eventually } from './support/eventually.js';
import { scrape, valueOf } from './support/prometheus.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';
import { TestClient } from './support/ws-client.js';

type BusFrame = { id: string | null; cmd: string; data: Record<string, unknown> };
const auth = { Authorization: `Bearer ${DEV_API_KEY}` };

async function rateLimited(baseUrl: string, limit: string, appId = ''): Promise<number> {
  return valueOf((await scrape(baseUrl)).samples, 'herald_rate_limit_triggered_total', { app_id: appId, limit });
}

describe('rate limits', () => {
  let server: RunningApp;
  afterEach(async () => server?.close());

  describe('REST requests per client IP', () => {
    it('allows exactly the limit per window with X-RateLimit headers, answers 429 + Retry-After, and recovers after the window', async () => {
      server = await startApp({ HERALD_RATE_LIMIT_HTTP_REQUESTS: '3', HERALD_RATE_LIMIT_HTTP_WINDOW_MS: '600' });
      const started = Date.now();
      for (const remaining of ['2', '1', '0']) {
        const ok = await request(server.baseUrl).get('/api/connections').set(auth);
        expect(ok.status).toBe(200);
        expect(ok.headers['x-ratelimit-limit']).toBe('3');
        expect(ok.headers['x-ratelimit-remaining']).toBe(remaining);
      }
      const refused = await request(server.baseUrl).get('/api/connections').set(auth);
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.headers['x-ratelimit-remaining']).toBe('0');
      expect(refused.body).toMatchObject({ error: 'rate_limited' });
      // Probes and scrapes are exempt.
      expect((await request(server.baseUrl).get('/health/live')).status).toBe(200);
      expect(await rateLimited(server.baseUrl, 'http')).toBe(1);
      // A refused request consumes nothing, so polling is safe; it must not pass before the window ends.
      await eventually(async () => expect((await request(server.baseUrl).get('/api/connections').set(auth)).status).toBe(200), 3000, 50);
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    });

    it('believes X-Forwarded-For only from a trusted proxy', async () => {
      server = await startApp({ HERALD_RATE_LIMIT_HTTP_REQUESTS: '2', HERALD_RATE_LIMIT_HTTP_WINDOW_MS: '60000', HERALD_TRUSTED_PROXIES: '127.0.0.1,10.0.0.0/8' });
      const from = (chain: string) => request(server.baseUrl).get('/api/connections').set(auth).set('X-Forwarded-For', chain);
      expect((await from('203.0.113.1')).status).toBe(200);
      expect((await from('203.0.113.1, 10.1.2.3')).status).toBe(200); // the 10/8 hop is a trusted proxy too
      expect((await from('203.0.113.1')).status).toBe(429);
      expect((await from('203.0.113.2')).status).toBe(200); // another client behind the same proxy
    });

    it('ignores X-Forwarded-For from an untrusted peer', async () => {
      server = await startApp({ HERALD_RATE_LIMIT_HTTP_REQUESTS: '2', HERALD_RATE_LIMIT_HTTP_WINDOW_MS: '60000' });
      const from = (chain: string) => request(server.baseUrl).get('/api/connections').set(auth).set('X-Forwarded-For', chain);
      expect((await from('203.0.113.1')).status).toBe(200);
      expect((await from('203.0.113.2')).status).toBe(200);
      expect((await from('203.0.113.3')).status).toBe(429);
    });
  });

  describe('WebSocket upgrades per client IP', () => {
    it('refuses the upgrade past the limit with 429 and accepts again after the window', async () => {
      server = await startApp({ HERALD_RATE_LIMIT_WS_UPGRADES: '2', HERALD_RATE_LIMIT_WS_WINDOW_MS: '600' });
      const started = Date.now();
      await server.connect(`/ws/bus?token=${userToken()}`);
      await server.connect(`/ws/bus?token=${userToken()}`);
      await expect(server.open(`/ws/bus?token=${userToken()}`).opened).rejects.toThrow('HTTP 429');
      expect(await rateLimited(server.baseUrl, 'ws_upgrade')).toBe(1);
      await eventually(() => server.connect(`/ws/bus?token=${userToken()}`), 3000, 50);
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    });
  });

  describe('inbound frames per connection', () => {
    it('answers frames over the limit with a rate_limited error, then closes with 1008 when the client keeps going', async () => {
      server = await startApp({ HERALD_MAX_FRAMES_PER_SECOND: '5' });
      const client = await server.connect(`/ws/bus?token=${userToken()}`);
      for (let i = 1; i <= 11; i++) client.send({ id: `f${i}`, cmd: 'ping', data: {} });
      for (let i = 1; i <= 5; i++) expect(await client.next<BusFrame>((f) => f.id === `f${i}`)).toMatchObject({ cmd: 'ack' });
      for (let i = 6; i <= 10; i++) {
        const error = await client.next<BusFrame>((f) => f.cmd === 'error');
        expect(error.data).toMatchObject({ code: 'rate_limited' });
      }
      expect(await client.closed()).toEqual({ code: 1008, reason: 'Too many frames' });
      expect(client.frames).toEqual([]);
      expect(await rateLimited(server.baseUrl, 'frames', 'app-id')).toBe(6);
    });

    it('gives a fresh budget every second', async () => {
      server = await startApp({ HERALD_MAX_FRAMES_PER_SECOND: '3' });
      const client = await server.connect(`/ws/bus?token=${userToken()}`);
      for (let i = 1; i <= 4; i++) client.send({ id: `a${i}`, cmd: 'ping', data: {} });
      for (let i = 1; i <= 3; i++) await client.next<BusFrame>((f) => f.id === `a${i}`);
      expect((await client.next<BusFrame>((f) => f.cmd === 'error')).data.code).toBe('rate_limited');
      // The window is the thing under test: wait it out once, then the full budget is back.
      await new Promise((resolve) => setTimeout(resolve, 1050));
      for (let i = 1; i <= 3; i++) client.send({ id: `b${i}`, cmd: 'ping', data: {} });
      for (let i = 1; i <= 3; i++) expect(await client.next<BusFrame>((f) => f.id === `b${i}`)).toMatchObject({ cmd: 'ack' });
      await client.expectSilence((f) => f.cmd === 'error');
    });
  });

  describe('backend events per app', () => {
    it('answers POST /api/messages over maxBackendEventsPerSecond with 429, per app', async () => {
      server = await startApp({
        HERALD_APPS: JSON.stringify([
          { id: 'limited', key: 'key-l', secret: 'secret-l', apiKeys: ['api-key-limited'], maxBackendEventsPerSecond: 2 },
          { id: 'free', key: 'key-f', secret: 'secret-f', apiKeys: ['api-key-free-1'] },
        ]),
      });
      const publish = (apiKey: string) =>
        request(server.baseUrl).post('/api/messages').set('Authorization', `Bearer ${apiKey}`).send({ cmd: 'x', data: 1 });
      expect((await publish('api-key-limited')).status).toBe(202);
      expect((await publish('api-key-limited')).status).toBe(202);
      const refused = await publish('api-key-limited');
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body).toMatchObject({ error: 'rate_limited', limit: 2 });
      for (let i = 0; i < 5; i++) expect((await publish('api-key-free-1')).status).toBe(202);
      expect(await rateLimited(server.baseUrl, 'backend_events', 'limited')).toBe(1);
    });
  });

  describe('allowed origins', () => {
    beforeEach(async () => {
      server = await startApp({
        HERALD_APPS: JSON.stringify([
          { id: 'web', key: 'key-web', secret: 'secret-web', allowedOrigins: ['https://app.example.com', 'https://*.trusted.example'] },
          { id: 'open', key: 'key-open', secret: 'secret-open' },
        ]),
      });
    });
    const token = (secret: string) => userToken({ secret });

    it('accepts listed origins, wildcard subdomains, and clients that send no Origin', async () => {
      for (const origin of ['https://app.example.com', 'https://eu.trusted.example', undefined]) {
        const client = await server.connect(`/ws/bus?app=key-web&token=${token('secret-web')}`, origin ? { origin } : {});
        client.send({ id: 'o', cmd: 'ping', data: {} });
        expect(await client.next()).toMatchObject({ id: 'o', cmd: 'ack' });
      }
    });

    it('refuses other origins with 403 before the upgrade; apps without a list accept any origin', async () => {
      const evil = TestClient.open(`${server.wsUrl}/ws/bus?app=key-web&token=${token('secret-web')}`, { origin: 'https://evil.example' });
      server.clients.push(evil);
      await expect(evil.opened).rejects.toThrow('HTTP 403');
      const lookalike = TestClient.open(`${server.wsUrl}/ws/bus?app=key-web&token=${token('secret-web')}`, { origin: 'https://app.example.com.evil.example' });
      server.clients.push(lookalike);
      await expect(lookalike.opened).rejects.toThrow('HTTP 403');
      await server.connect(`/ws/bus?app=key-open&token=${token('secret-open')}`, { origin: 'https://evil.example' });
      expect(await rateLimited(server.baseUrl, 'origin', 'web')).toBe(2);
    });
  });
});
