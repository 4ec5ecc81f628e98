import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { connected, closeAppAndClients, once, pusherClient, serverSdk, subscribed } from './support/pusher-clients.js';
import { FRAMINGS, RpcClient } from './support/rpc-framings.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';
import type { TestClient } from './support/ws-client.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- pusher-js objects are untyped */

const auth = { Authorization: `Bearer ${DEV_API_KEY}` };
type TopicFrame = { topic: string; payload: unknown };
const join = (topics: string[]) => ({ command: 'join', broker: 'memory', topics, payload: '' });
const appsWith = (extra: Record<string, unknown>) =>
  JSON.stringify([{ id: 'app-id', key: 'app-key', secret: 'app-secret', apiKeys: [DEV_API_KEY], enableClientMessages: true, ...extra }]);

/** A real `authorizeUrl` endpoint that allows what `allow` says. */
async function callback(allow: (topics: string[]) => boolean): Promise<{ url: string; calls: string[][]; close: () => Promise<void> }> {
  const calls: string[][] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const topics = (JSON.parse(body) as { topics: string[] }).topics;
      calls.push(topics);
      res.writeHead(allow(topics) ? 200 : 403).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/authorize`,
    calls,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('one channel-authorization policy for every protocol', () => {
  let server: RunningApp;
  const pushers: any[] = [];
  afterEach(async () => {
    await closeAppAndClients(server, pushers);
  });
  const topics = (token: string): Promise<TestClient> => server.connect(`/ws/topics?token=${token}`);
  const joinAnswer = async (client: TestClient, names: string[]): Promise<TopicFrame> => {
    client.send(join(names));
    return client.next<TopicFrame>((frame) => frame.topic === '@join' || frame.topic === '#join');
  };

  describe('without authorizeUrl', () => {
    beforeEach(async () => {
      server = await startApp({ HERALD_APPS: appsWith({}) });
    });

    it('refuses a bus token without authorizedChannels private-* and presence-* topics, and delivers nothing of them', async () => {
      const client = await topics(userToken());
      expect(await joinAnswer(client, ['private-orders'])).toEqual({ topic: '#join', payload: ['private-orders'] });
      expect(await joinAnswer(client, ['presence-room'])).toEqual({ topic: '#join', payload: ['presence-room'] });
      expect(await joinAnswer(client, ['private-encrypted-x'])).toEqual({ topic: '#join', payload: ['private-encrypted-x'] });
      // All or nothing: a public topic beside a private one joins neither.
      expect(await joinAnswer(client, ['news', 'private-orders'])).toEqual({ topic: '#join', payload: ['news', 'private-orders'] });
      // Public topics stay open to it (RoadRunner's behaviour).
      expect(await joinAnswer(client, ['lobby'])).toEqual({ topic: '@join', payload: ['lobby'] });

      // A private-channel event from the Pusher HTTP API and a client event from a signed Pusher member.
      const member = pusherClient(server, { userId: 'm' });
      pushers.push(member);
      await connected(member);
      const channel = await subscribed(member, 'private-orders');
      const apiEvent = once(channel, 'api-event');
      await serverSdk(server).trigger('private-orders', 'api-event', { secret: 1 });
      expect(await apiEvent).toEqual({ secret: 1 });
      channel.trigger('client-hello', { secret: 2 });
      await request(server.baseUrl).post('/api/publish').set(auth).send({ channel: 'lobby', event: 'e', payload: 'public' }).expect(200);
      expect(await client.next<TopicFrame>((frame) => frame.topic === 'lobby')).toEqual({ topic: 'lobby', payload: 'public' });
      await client.expectSilence((frame) => frame.topic === 'private-orders' || frame.topic === 'presence-room');
    });

    it('refuses a bare * for private-/presence- topics and accepts an entry that names them', async () => {
      expect(await joinAnswer(await topics(userToken({ authorizedChannels: ['*'] })), ['private-orders'])).toMatchObject({ topic: '#join' });
      expect(await joinAnswer(await topics(userToken({ authorizedChannels: ['p*'] })), ['presence-room'])).toMatchObject({ topic: '#join' });
      const named = await topics(userToken({ authorizedChannels: ['private-orders-*', 'presence-room'] }));
      expect(await joinAnswer(named, ['private-orders-1', 'presence-room'])).toEqual({ topic: '@join', payload: ['private-orders-1', 'presence-room'] });
      await serverSdk(server).trigger('private-orders-1', 'api-event', { n: 1 });
      expect(await named.next<TopicFrame>((frame) => frame.topic === 'private-orders-1')).toEqual({ topic: 'private-orders-1', payload: JSON.stringify({ n: 1 }) });
    });

    it.each(FRAMINGS)('$name: refuses subscribe and publish on private-/presence- names under a bare *, allows them under a named grant', async (framing) => {
      const star = new RpcClient(framing, await server.connect(`${framing.path}?token=${userToken({ scope: ['subscribe', 'publish'], authorizedChannels: ['*'] })}`));
      await star.fails('subscribe', { channel: 'private-orders' }, 'forbidden');
      await star.fails('subscribe', { channel: 'presence-room' }, 'forbidden');
      await star.ok('publish', { channel: 'news', event: 'e', payload: 1 });

      const member = pusherClient(server, { userId: 'm' });
      pushers.push(member);
      await connected(member);
      const channel = await subscribed(member, 'private-orders');
      const forged: unknown[] = [];
      channel.bind('forged', (data: unknown) => forged.push(data));
      await star.fails('publish', { channel: 'private-orders', event: 'forged', payload: { forged: true } }, 'forbidden');
      await star.fails('publish', { channel: 'presence-room', event: 'forged', payload: { forged: true } }, 'forbidden');

      const named = new RpcClient(framing, await server.connect(`${framing.path}?token=${userToken({ scope: ['subscribe', 'publish'], authorizedChannels: ['private-orders'] })}`));
      await named.ok('subscribe', { channel: 'private-orders' });
      const granted = once(channel, 'e');
      await named.ok('publish', { channel: 'private-orders', event: 'e', payload: { granted: true } });
      expect(await granted).toEqual({ granted: true });
      expect(forged).toEqual([]);
      expect((await named.broadcast('private-orders')).params).toMatchObject({ channel: 'private-orders' });
    });
  });

  describe('with authorizeUrl', () => {
    let hook: Awaited<ReturnType<typeof callback>>;
    afterEach(async () => {
      await hook.close();
    });

    it('lets the callback grant private-/presence- subscriptions on topics and RPC, never an RPC publish', async () => {
      hook = await callback((names) => names.every((name) => name !== 'private-no'));
      server = await startApp({ HERALD_APPS: appsWith({ authorizeUrl: hook.url }) });
      const client = await topics(userToken());
      expect(await joinAnswer(client, ['private-orders'])).toEqual({ topic: '@join', payload: ['private-orders'] });
      expect(await joinAnswer(client, ['private-no'])).toEqual({ topic: '#join', payload: ['private-no'] });

      const rpc = new RpcClient(FRAMINGS[0], await server.connect(`/ws/rpc?token=${userToken({ scope: ['subscribe', 'publish'], authorizedChannels: ['*'] })}`));
      await rpc.ok('subscribe', { channel: 'presence-room' });
      await rpc.fails('subscribe', { channel: 'private-no' }, 'forbidden');
      await rpc.fails('publish', { channel: 'presence-room', event: 'e', payload: 1 }, 'forbidden');
      // Public RPC subscriptions are the token's business alone: the callback is not asked.
      await rpc.ok('subscribe', { channel: 'news' });
      expect(hook.calls).toEqual([['private-orders'], ['private-no'], ['presence-room'], ['private-no']]);
    });
  });
});
