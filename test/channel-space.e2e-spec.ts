import { createHmac } from 'node:crypto';
import request from 'supertest';
import { ConnectionRegistry } from '../src/connections/connection-registry.service.js';
import { eventually } from './support/eventually.js';
import { APP, connected, closeAppAndClients, once, pusherClient, serverSdk, subscribed } from './support/pusher-clients.js';
import { RPC, RpcClient } from './support/rpc-framings.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';
import { Receiver } from './support/webhook-receiver.js';
import type { TestClient } from './support/ws-client.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- pusher-js objects are untyped */

const auth = { Authorization: `Bearer ${DEV_API_KEY}` };
type Frame = { event: string; channel?: string; data?: any };
const isEvent = (event: string, channel?: string) => (frame: Frame) => frame.event === event && (channel === undefined || frame.channel === channel);
const sign = (text: string) => `${APP.key}:${createHmac('sha256', APP.secret).update(text).digest('hex')}`;

describe('one channel space: one grammar and client-chosen keys', () => {
  let server: RunningApp;
  const pushers: any[] = [];
  beforeEach(async () => {
    server = await startApp({
      HERALD_APPS: JSON.stringify([{ id: 'app-id', key: 'app-key', secret: 'app-secret', apiKeys: [DEV_API_KEY], enableClientMessages: true }]),
    });
  });
  afterEach(async () => {
    await closeAppAndClients(server, pushers);
  });

  const raw = async (): Promise<{ client: TestClient; socketId: string }> => {
    const client = await server.connect('/app/app-key?protocol=7&client=js&version=8.6.0');
    const established = await client.next<Frame>(isEvent('pusher:connection_established'));
    return { client, socketId: (JSON.parse(established.data) as { socket_id: string }).socket_id };
  };

  it('an RPC channel with a colon (team:1) is reachable from pusher-js, both directions', async () => {
    const token = userToken({ sub: 'r', scope: ['subscribe', 'publish'], authorizedChannels: ['team:*', 'private-team:*'] });
    const rpc = new RpcClient(RPC, await server.connect(`/ws/rpc?token=${token}`));
    await rpc.ok('subscribe', { channel: 'team:1' });
    await rpc.ok('subscribe', { channel: 'private-team:1' });
    const pusher = pusherClient(server);
    pushers.push(pusher);
    await connected(pusher);
    const channel = await subscribed(pusher, 'team:1');

    // RPC → pusher-js.
    const fromRpc = once(channel, 'from-rpc');
    await rpc.ok('publish', { channel: 'team:1', event: 'from-rpc', payload: { n: 1 } });
    expect(await fromRpc).toEqual({ n: 1 });

    // Pusher → RPC: a client event on a signed private channel with a colon (the `pusher` SDK refuses to sign
    // such a name, so a raw protocol-7 socket signs it; the signed string stays unambiguous, see channel-name.ts).
    const { client: member, socketId } = await raw();
    member.send({ event: 'pusher:subscribe', data: { channel: 'private-team:1', auth: sign(`${socketId}:private-team:1`) } });
    await member.next<Frame>(isEvent('pusher_internal:subscription_succeeded', 'private-team:1'));
    member.send({ event: 'client-hello', channel: 'private-team:1', data: { n: 2 } });
    expect((await rpc.broadcast('private-team:1')).params).toMatchObject({ channel: 'private-team:1', event: 'client-hello' });
    // REST → both.
    const fromRest = once(channel, 'from-rest');
    await request(server.baseUrl).post('/api/publish').set(auth).send({ channel: 'team:1', event: 'from-rest', payload: { n: 3 } }).expect(200);
    expect(await fromRest).toEqual({ n: 3 });
    expect(await rpc.client.next<{ method?: string; params?: { event?: string } }>((frame) => frame.method === 'broadcast' && frame.params?.event === 'from-rest')).toMatchObject({
      params: { channel: 'team:1', event: 'from-rest' },
    });
    await rpc.fails('subscribe', { channel: 'team:' }, 'invalid_params');
  });

  it('refuses the same bad names on Pusher as everywhere (a doubled or edge colon, # names)', async () => {
    const { client } = await raw();
    for (const name of ['a::b', ':a', 'a:']) {
      client.send({ event: 'pusher:subscribe', data: { channel: name } });
      expect((await client.next<Frame>(isEvent('pusher:subscription_error', name))).data).toMatchObject({ type: 'InvalidChannel', status: 400 });
    }
    const rpc = new RpcClient(RPC, await server.connect(`/ws/rpc?token=${userToken({ authorizedChannels: ['*'] })}`));
    await rpc.fails('subscribe', { channel: '#server-to-user-1' }, 'invalid_params');
  });

  it('keeps a presence member whose user id is __proto__ (raw ws and pusher-js), and a __proto__ channel in REST listings', async () => {
    const { client: first, socketId } = await raw();
    const channelData = JSON.stringify({ user_id: '__proto__', user_info: { name: 'proto' } });
    first.send({ event: 'pusher:subscribe', data: { channel: 'presence-room', auth: sign(`${socketId}:presence-room:${channelData}`), channel_data: channelData } });
    const own = await first.next<Frame>(isEvent('pusher_internal:subscription_succeeded', 'presence-room'));
    expect(JSON.parse(own.data as string)).toEqual({ presence: { ids: ['__proto__'], hash: { ['__proto__']: { name: 'proto' } }, count: 1 } });

    const other = pusherClient(server, { userId: 'bob' });
    pushers.push(other);
    await connected(other);
    const channel = await subscribed(other, 'presence-room');
    expect(channel.members.count).toBe(2);
    expect(Object.prototype.hasOwnProperty.call(channel.members.members, '__proto__')).toBe(true);
    expect(channel.members.get('__proto__')).toMatchObject({ id: '__proto__', info: { name: 'proto' } });

    const users = await serverSdk(server).get({ path: '/channels/presence-room/users' });
    expect((await users.json()).users).toEqual(expect.arrayContaining([{ id: '__proto__' }, { id: 'bob' }]));

    // pusher-js itself cannot hold a channel named __proto__ (its channel table is a plain object), so a raw socket does.
    first.send({ event: 'pusher:subscribe', data: { channel: '__proto__' } });
    await first.next<Frame>(isEvent('pusher_internal:subscription_succeeded', '__proto__'));
    const listed = await serverSdk(server).get({ path: '/channels' });
    expect(Object.keys((await listed.json()).channels)).toEqual(expect.arrayContaining(['__proto__', 'presence-room']));
    const api = await request(server.baseUrl).get('/api/channels').set(auth).expect(200);
    expect(Object.keys(JSON.parse(api.text).channels)).toEqual(expect.arrayContaining(['__proto__']));
  });
});

describe('keys per (tenant, channel) that cannot collide', () => {
  let server: RunningApp | undefined;
  let receiver: Receiver | undefined;
  afterEach(async () => {
    try {
      await Promise.all((server?.clients ?? []).map((client) => client.close()));
    } finally {
      await server?.close();
      await receiver?.stop();
    }
  });

  it('a leaving ("a", "b:c") does not cancel or absorb the webhooks of ("a:b", "c")', async () => {
    const hooks = new Receiver();
    receiver = hooks;
    await hooks.start();
    const webhooks = [{ url: hooks.url, event_types: ['channel_occupied', 'channel_vacated'] }];
    const app = await startApp({
      HERALD_APPS: JSON.stringify([
        { id: 'a', key: 'key-a', secret: 'secret-a', apiKeys: ['api-key-a'], webhooks },
        { id: 'a:b', key: 'key-ab', secret: 'secret-ab', apiKeys: ['api-key-ab'], webhooks },
      ]),
    });
    server = app;
    const named = (_app: string, name: string, channel: string) => (event: Record<string, unknown>) => event.name === name && event.channel === channel;
    const topicsOf = (key: string, secret: string) => app.connect(`/ws/topics?app=${key}&token=${userToken({ secret })}`);
    const joined = async (client: TestClient, channel: string) => {
      client.send({ command: 'join', broker: 'memory', topics: [channel], payload: '' });
      await client.next<{ topic: string }>((frame) => frame.topic === '@join');
    };

    const first = await topicsOf('key-a', 'secret-a');
    await joined(first, 'b:c');
    await hooks.next(named('a', 'channel_occupied', 'b:c'));
    await first.close();
    // App "a"'s channel "b:c" is now waiting out the vacate delay; app "a:b" occupies its own "c".
    await eventually(() => expect(app.app.get(ConnectionRegistry).size).toBe(0));
    const second = await topicsOf('key-ab', 'secret-ab');
    await joined(second, 'c');
    await hooks.next(named('a:b', 'channel_occupied', 'c'));
    await hooks.next(named('a', 'channel_vacated', 'b:c'), 8000);
    const apps = hooks.requests.flatMap((r) => r.body.events.map((event) => [r.headers['x-pusher-key'], event.name, event.channel]));
    expect(apps).toEqual([
      ['key-a', 'channel_occupied', 'b:c'],
      ['key-ab', 'channel_occupied', 'c'],
      ['key-a', 'channel_vacated', 'b:c'],
    ]);
  });
});
