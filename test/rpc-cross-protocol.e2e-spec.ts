import request from 'supertest';
import { connected, disconnectAll, once, pusherClient, serverSdk, subscribed } from './support/pusher-clients.js';
import { JSONRPC, RPC, RpcClient } from './support/rpc-framings.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';
import type { TestClient } from './support/ws-client.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- pusher-js objects are untyped */

const auth = { Authorization: `Bearer ${DEV_API_KEY}` };
const token = (sub: string) => userToken({ sub, scope: ['subscribe', 'publish'], authorizedChannels: ['*'] });
type TopicFrame = { topic: string; payload: unknown };

describe('one channel space across /ws/rpc, /ws/jsonrpc, /ws/topics, Pusher and REST', () => {
  let server: RunningApp;
  const pushers: any[] = [];
  let rpc: RpcClient;
  let jsonrpc: RpcClient;
  let topics: TestClient;
  let pusherChannel: any;

  beforeEach(async () => {
    server = await startApp();
    rpc = new RpcClient(RPC, await server.connect(`/ws/rpc?token=${token('r')}`));
    jsonrpc = new RpcClient(JSONRPC, await server.connect(`/ws/jsonrpc?token=${token('j')}`));
    topics = await server.connect(`/ws/topics?token=${token('t')}`);
    const pusher = pusherClient(server);
    pushers.push(pusher);
    await connected(pusher);
    await rpc.ok('subscribe', { channel: 'news' });
    await jsonrpc.ok('subscribe', { channel: 'news' });
    topics.send({ command: 'join', broker: 'memory', topics: ['news'], payload: '' });
    await topics.next<TopicFrame>((frame) => frame.topic === '@join');
    pusherChannel = await subscribed(pusher, 'news');
  });
  afterEach(async () => {
    await Promise.all(server.clients.map((client) => client.close()));
    await disconnectAll(pushers.splice(0), server);
    await server.close();
  });

  it('a publish on /ws/rpc reaches pusher-js, topics and JSON-RPC subscribers (and the publisher)', async () => {
    const gotPusher = once(pusherChannel, 'moved');
    const published = await rpc.ok('publish', { channel: 'news', event: 'moved', payload: { x: 1 } });
    expect(await gotPusher).toEqual({ x: 1 });
    expect(await topics.next<TopicFrame>((frame) => frame.topic === 'news')).toEqual({ topic: 'news', payload: '{"x":1}' });
    for (const client of [jsonrpc, rpc]) {
      expect((await client.broadcast('news')).params).toEqual({
        id: published.id,
        seq: 1,
        offset: 1,
        epoch: published.epoch,
        createTime: published.createTime,
        channel: 'news',
        event: 'moved',
        payload: { x: 1 },
      });
    }
  });

  it('a publish on /ws/jsonrpc reaches the others', async () => {
    const gotPusher = once(pusherChannel, 'note');
    await jsonrpc.ok('publish', { channel: 'news', event: 'note', payload: 'plain text' });
    expect(await gotPusher).toBe('plain text');
    expect(await topics.next<TopicFrame>((frame) => frame.topic === 'news')).toEqual({ topic: 'news', payload: 'plain text' });
    expect((await rpc.broadcast('news')).params).toMatchObject({ event: 'note', payload: 'plain text', offset: 1 });
  });

  it('POST /api/publish (one channel or several) and the Pusher HTTP API reach every protocol, with channel offsets', async () => {
    const gotPusher = once(pusherChannel, 'rest');
    const one = await request(server.baseUrl).post('/api/publish').set(auth).send({ channel: 'news', event: 'rest', payload: { n: 1 } });
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ id: expect.stringMatching(/^[A-Za-z0-9]{24}$/), createTime: expect.any(String), offset: 1, epoch: expect.any(String) });
    expect(await gotPusher).toEqual({ n: 1 });
    expect((await rpc.broadcast('news')).params).toMatchObject({ id: one.body.id, offset: 1 });

    await rpc.ok('subscribe', { channel: 'team:1' });
    const many = await request(server.baseUrl).post('/api/publish').set(auth).send({ channels: ['news', 'team:1'], event: 'multi', payload: 2 });
    expect(many.status).toBe(200);
    expect(many.body.results).toEqual([
      { channel: 'news', id: expect.any(String), createTime: expect.any(String), offset: 2, epoch: one.body.epoch },
      { channel: 'team:1', id: expect.any(String), createTime: expect.any(String), offset: 1, epoch: expect.any(String) },
    ]);
    const rpcFrames = [await rpc.broadcast('news'), await rpc.broadcast('team:1')];
    expect(rpcFrames.map((frame) => frame.params.id)).toEqual(many.body.results.map((result: { id: string }) => result.id));
    expect(await topics.next<TopicFrame>((frame) => frame.topic === 'news' && frame.payload === '2')).toBeTruthy();

    const viaPusherApi = once(pusherChannel, 'from-sdk');
    await serverSdk(server).trigger('news', 'from-sdk', { k: 'v' });
    expect(await viaPusherApi).toEqual({ k: 'v' });
    expect((await jsonrpc.broadcast('news')).params).toMatchObject({ event: 'rest' });
    expect((await jsonrpc.broadcast('news')).params).toMatchObject({ event: 'multi' });
    // The Pusher HTTP API carries `data` as a string (the SDK JSON-encodes it): RPC clients get that string.
    expect((await jsonrpc.broadcast('news')).params).toMatchObject({ event: 'from-sdk', payload: '{"k":"v"}', offset: 3, seq: 3 });
  });

  it('GET /api/channels counts subscribers of every protocol', async () => {
    const all = await request(server.baseUrl).get('/api/channels').set(auth);
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ channels: { news: { subscribers: 4 } } });
    const one = await request(server.baseUrl).get('/api/channels/news').set(auth);
    expect(one.body).toEqual({ channel: 'news', occupied: true, subscribers: 4 });
    await rpc.ok('unsubscribe', { channel: 'news' });
    topics.send({ command: 'leave', broker: 'memory', topics: ['news'], payload: '' });
    await topics.next<TopicFrame>((frame) => frame.topic === '@leave');
    expect((await request(server.baseUrl).get('/api/channels/news').set(auth)).body).toEqual({ channel: 'news', occupied: true, subscribers: 2 });
    expect((await request(server.baseUrl).get('/api/channels/empty').set(auth)).body).toEqual({ channel: 'empty', occupied: false, subscribers: 0 });
    expect((await request(server.baseUrl).get('/api/channels/bad%20name').set(auth)).status).toBe(400);
  });

  it('REST publish refuses bad input with the field and unauthenticated callers with 401', async () => {
    const post = (body: unknown, headers: Record<string, string> = auth) => request(server.baseUrl).post('/api/publish').set(headers).send(body as object);
    expect((await post({ channel: 'news', event: 'e' }, {})).status).toBe(401);
    expect((await post({ channel: 'news', event: 'e' }, { Authorization: 'Bearer wrong-key-123' })).status).toBe(401);
    const cases: [unknown, string][] = [
      [{ channel: 'bad name', event: 'e' }, 'channel'],
      [{ channels: ['ok', '#nope'], event: 'e' }, 'channels.1'],
      [{ channels: Array.from({ length: 101 }, (_, i) => `c${i}`), event: 'e' }, 'channels'],
      [{ channel: 'a', channels: ['b'], event: 'e' }, 'channel'],
      [{ event: 'e' }, 'channel'],
      [{ channel: 'news' }, 'event'],
      [{ channel: 'news', event: 'e', extra: 1 }, '(body)'],
    ];
    for (const [body, field] of cases) {
      const res = await post(body);
      expect([res.status, res.body.error, res.body.field]).toEqual([400, 'validation_failed', field]);
    }
    await rpc.client.expectSilence((frame) => frame.method === 'broadcast');
  });
});
