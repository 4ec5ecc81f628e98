import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';
import type { TestClient } from './support/ws-client.js';

const auth = { Authorization: `Bearer ${DEV_API_KEY}` };
type TopicFrame = { topic: string; payload: unknown };
const topic = (name: string) => (frame: TopicFrame) => frame.topic === name;
const join = (topics: unknown, extra: Record<string, unknown> = {}) => ({ command: 'join', broker: 'memory', topics, payload: '', ...extra });
const leave = (topics: unknown) => ({ command: 'leave', broker: 'memory', topics, payload: '' });

/** A real HTTP server standing in for the app's `authorizeUrl` endpoint (RoadRunner's PHP worker). */
async function authorizeServer(decide: (body: { user: { id?: string }; topics: string[]; headers: IncomingHttpHeaders }) => number | 'hang') {
  const calls: { user: { id?: string }; topics: string[]; headers: IncomingHttpHeaders; app: string }[] = [];
  const hanging: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const parsed = JSON.parse(body);
      calls.push(parsed);
      const status = decide(parsed);
      if (status === 'hang') {
        hanging.push(() => res.destroy());
        return;
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/authorize`;
  return {
    url,
    calls,
    close: async () => {
      for (const release of hanging) release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const appsWith = (extra: Record<string, unknown>) =>
  JSON.stringify([{ id: 'app-id', key: 'app-key', secret: 'app-secret', apiKeys: [DEV_API_KEY], ...extra }]);

describe('/ws/topics', () => {
  let server: RunningApp | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const connect = (token = userToken(), headers: Record<string, string> = {}): Promise<TestClient> => {
    if (!server) throw new Error('no server');
    return server.connect(`/ws/topics?token=${token}`, { headers });
  };
  const publish = (channel: string, payload: unknown) =>
    request(server?.baseUrl ?? '').post('/api/publish').set(auth).send({ channel, event: 'e', payload }).expect(200);

  describe('without a callback', () => {
    beforeEach(async () => {
      server = await startApp();
    });

    it('closes with 4401 without a valid token and 4404 for an unknown app', async () => {
      if (!server) throw new Error('no server');
      const missing = server.open('/ws/topics');
      expect(await missing.closed()).toEqual({ code: 4401, reason: 'Unauthorized - token missing' });
      const expired = server.open(`/ws/topics?token=${userToken({ expiresIn: -120 })}`);
      expect((await expired.closed()).code).toBe(4401);
      const unknown = server.open(`/ws/topics?app=nope&token=${userToken()}`);
      expect((await unknown.closed()).code).toBe(4404);
    });

    it('joins with @join, delivers {topic, payload} (strings as is, anything else as JSON text), leaves with @leave', async () => {
      const client = await connect();
      client.send(join(['foo', 'foo2']));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '@join', payload: ['foo', 'foo2'] });
      await publish('foo', 'hello');
      expect(await client.next<TopicFrame>(topic('foo'))).toEqual({ topic: 'foo', payload: 'hello' });
      await publish('foo2', { a: [1, 2] });
      expect(await client.next<TopicFrame>(topic('foo2'))).toEqual({ topic: 'foo2', payload: '{"a":[1,2]}' });
      await publish('foo', 42);
      expect(await client.next<TopicFrame>(topic('foo'))).toEqual({ topic: 'foo', payload: '42' });
      client.send(leave(['foo']));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '@leave', payload: ['foo'] });
      await publish('foo', 'gone');
      await publish('foo2', 'still');
      expect(await client.next<TopicFrame>(topic('foo2'))).toEqual({ topic: 'foo2', payload: 'still' });
      await client.expectSilence((frame) => frame.topic === 'foo');
    });

    it('answers #join (and joins nothing) when the token does not authorize every topic', async () => {
      const client = await connect(userToken({ authorizedChannels: ['news', 'team:*'] }));
      client.send(join(['news', 'secret']));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '#join', payload: ['news', 'secret'] });
      await publish('news', 'x');
      await client.expectSilence((frame) => frame.topic === 'news');
      client.send(join(['news', 'team:7']));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '@join', payload: ['news', 'team:7'] });
      await publish('team:7', 'y');
      expect(await client.next<TopicFrame>(topic('team:7'))).toEqual({ topic: 'team:7', payload: 'y' });
    });

    it('answers malformed joins with #join, malformed leaves with #leave and anything else with #error; ignores headers; stays open', async () => {
      const client = await connect();
      client.send(join(['ok', 'bad name']));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '#join', payload: ['ok', 'bad name'] });
      client.send(join('foo'));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '#join', payload: [] });
      client.send(join([]));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '#join', payload: [] });
      client.send(join([1, 'a']));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '#join', payload: ['a'] });
      client.send(leave(['#internal']));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '#leave', payload: ['#internal'] });
      for (const [frame, message] of [
        ['not json', /not valid JSON/],
        ['[1]', /JSON object/],
        [JSON.stringify({ command: 'dance', topics: [] }), /unknown command "dance"/],
        [JSON.stringify({ topics: ['a'] }), /unknown command null/],
      ] as const) {
        client.send(frame);
        const error = await client.next<TopicFrame>(topic('#error'));
        expect(String(error.payload)).toMatch(message);
      }
      client.socket.send(Buffer.from([1, 2]), { binary: true });
      expect(String((await client.next<TopicFrame>(topic('#error'))).payload)).toMatch(/binary/);
      client.send({ command: 'headers', broker: 'memory', topics: [], payload: '{"x":"y"}' });
      await client.expectSilence();
      client.send(join(['after']));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '@join', payload: ['after'] });
    });

    it('closes frames over the size limit with 1009', async () => {
      const client = await connect();
      client.send(join(['x'.repeat(70 * 1024)]));
      expect((await client.closed()).code).toBe(1009);
    });

    it('does not carry tenant- or user-targeted messages', async () => {
      const client = await connect(userToken({ sub: 'ann' }));
      client.send(join(['news']));
      await client.next<TopicFrame>(topic('@join'));
      await request(server?.baseUrl ?? '').post('/api/messages').set(auth).send({ cmd: 'c', data: 1, to: { user: 'ann' } }).expect(202);
      await request(server?.baseUrl ?? '').post('/api/messages').set(auth).send({ cmd: 'c', data: 1 }).expect(202);
      await client.expectSilence();
    });
  });

  describe('with an authorizeUrl callback', () => {
    let callback: Awaited<ReturnType<typeof authorizeServer>> | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
      await callback?.close();
      callback = undefined;
    });

    it('POSTs user, topics and headers; joins on 200, answers #join otherwise', async () => {
      callback = await authorizeServer((body) => (body.topics.includes('vip') ? 403 : 200));
      server = await startApp({ HERALD_APPS: appsWith({ authorizeUrl: callback.url }) });
      const client = await connect(userToken({ sub: 'ann', sid: 's1' }), { 'X-Tenant-Hint': 'blue' });
      client.send(join(['lobby', 'news']));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '@join', payload: ['lobby', 'news'] });
      expect(callback.calls[0]).toMatchObject({ app: 'app-id', user: { id: 'ann', sessionId: 's1' }, topics: ['lobby', 'news'] });
      expect(callback.calls[0].headers['x-tenant-hint']).toBe('blue');
      client.send(join(['lobby', 'vip']));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '#join', payload: ['lobby', 'vip'] });
      await publish('vip', 'no');
      await publish('lobby', 'yes');
      expect(await client.next<TopicFrame>(topic('lobby'))).toEqual({ topic: 'lobby', payload: 'yes' });
      await client.expectSilence((frame) => frame.topic === 'vip');
    });

    it('handles frames in order while the callback is pending (leave after join)', async () => {
      callback = await authorizeServer(() => 200);
      server = await startApp({ HERALD_APPS: appsWith({ authorizeUrl: callback.url }) });
      const client = await connect();
      client.send(join(['a']));
      client.send(leave(['a']));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '@join', payload: ['a'] });
      expect(await client.next<TopicFrame>()).toEqual({ topic: '@leave', payload: ['a'] });
      await publish('a', 'x');
      await client.expectSilence((frame) => frame.topic === 'a');
    });

    it('denies when the callback times out or cannot be reached; authorizedChannels is checked first', async () => {
      callback = await authorizeServer(() => 'hang');
      server = await startApp({ HERALD_APPS: appsWith({ authorizeUrl: callback.url }), HERALD_AUTHORIZE_TIMEOUT_MS: '200' });
      const client = await connect(userToken({ authorizedChannels: ['slow', 'other'] }));
      const started = Date.now();
      client.send(join(['slow']));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '#join', payload: ['slow'] });
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      client.send(join(['forbidden']));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '#join', payload: ['forbidden'] });
      expect(callback.calls.map((call) => call.topics)).toEqual([['slow']]);
    });

    it('denies when the callback is down', async () => {
      callback = await authorizeServer(() => 200);
      const url = callback.url;
      await callback.close();
      callback = undefined;
      server = await startApp({ HERALD_APPS: appsWith({ authorizeUrl: url }) });
      const client = await connect();
      client.send(join(['x']));
      expect(await client.next<TopicFrame>()).toEqual({ topic: '#join', payload: ['x'] });
      expect(client.closeCode).toBeUndefined();
    });
  });
});
