import { createHmac } from 'node:crypto';
import request from 'supertest';
import { ShutdownService } from '../src/health/shutdown.service.js';
import {
  APP,
  clearFayeCloseTimer,
  connected,
  disconnectAll,
  fayeSocketOf,
  once,
  pusherClient,
  serverSdk,
  subscribed,
} from './support/pusher-clients.js';
import { scrape, valueOf } from './support/prometheus.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import type { TestClient } from './support/ws-client.js';
import { expectSilence } from './support/silence.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- pusher-js objects are untyped */

type Frame = { event: string; channel?: string; data?: any };
const isEvent = (event: string, channel?: string) => (frame: Frame) => frame.event === event && (channel === undefined || frame.channel === channel);
const sign = (text: string) => `${APP.key}:${createHmac('sha256', APP.secret).update(text).digest('hex')}`;

/** A raw protocol-7 socket that has read its `connection_established`. */
async function rawClient(server: RunningApp, path = '/app/app-key?protocol=7&client=js&version=8.6.0'): Promise<{ client: TestClient; socketId: string }> {
  const client = await server.connect(path);
  const established = await client.next<Frame>(isEvent('pusher:connection_established'));
  expect(typeof established.data).toBe('string');
  const data = JSON.parse(established.data);
  expect(data.activity_timeout).toBe(120);
  return { client, socketId: data.socket_id };
}

describe('Pusher protocol details', () => {
  let server: RunningApp;
  const clients: any[] = [];
  const client = (options: Parameters<typeof pusherClient>[1] = {}) => {
    const c = pusherClient(server, options);
    clients.push(c);
    return c;
  };

  afterEach(async () => {
    await Promise.all((server?.clients ?? []).map((raw) => raw.close()));
    await disconnectAll(clients.splice(0), server);
    await server?.close();
  });

  describe('with the dev app', () => {
    beforeEach(async () => {
      server = await startApp();
    });

    it.each([
      ['an unknown app key', '/app/nope?protocol=7', 4001],
      ['no protocol version', '/app/app-key', 4008],
      ['protocol 4', '/app/app-key?protocol=4', 4007],
    ])('refuses %s with pusher:error then the same close code', async (_case, path, code) => {
      const socket = server.open(path);
      const error = await socket.next<Frame>(isEvent('pusher:error'));
      expect(error.data.code).toBe(code);
      expect((await socket.closed()).code).toBe(code);
    });

    it('answers pusher:ping with pusher:pong and malformed frames with pusher:error, staying open', async () => {
      const { client: raw } = await rawClient(server);
      raw.send({ event: 'pusher:ping', data: {} });
      expect(await raw.next<Frame>(isEvent('pusher:pong'))).toEqual({ event: 'pusher:pong', data: '{}' });
      raw.send('not json');
      expect((await raw.next<Frame>(isEvent('pusher:error'))).data.message).toMatch(/JSON/);
      raw.send({ event: 'pusher:subscribe', data: {} });
      expect((await raw.next<Frame>(isEvent('pusher:error'))).data.message).toMatch(/channel/);
      raw.send({ event: 'pusher:ping', data: {} });
      await raw.next(isEvent('pusher:pong'));
    });

    it('refuses bad signatures, bad names and foreign #server-to-user channels with subscription_error', async () => {
      const { client: raw, socketId } = await rawClient(server);
      const cases: [Record<string, unknown>, string, string, number][] = [
        [{ channel: 'private-x', auth: 'app-key:deadbeef' }, 'private-x', 'AuthError', 401],
        [{ channel: 'private-x' }, 'private-x', 'AuthError', 401],
        [{ channel: 'private-y', auth: sign(`${socketId}:private-x`) }, 'private-y', 'AuthError', 401],
        [{ channel: 'presence-x', auth: sign(`${socketId}:presence-x`), channel_data: '{"user_id":"1"}' }, 'presence-x', 'AuthError', 401],
        [{ channel: 'bad name!' }, 'bad name!', 'InvalidChannel', 400],
        [{ channel: 'c'.repeat(201) }, 'c'.repeat(201), 'LimitReached', 4009],
        [{ channel: '#server-to-user-1' }, '#server-to-user-1', 'AuthError', 403],
        [{ channel: '#watchlist-1' }, '#watchlist-1', 'InvalidChannel', 400],
      ];
      for (const [data, channel, type, status] of cases) {
        raw.send({ event: 'pusher:subscribe', data });
        const error = await raw.next<Frame>(isEvent('pusher:subscription_error', channel));
        expect(error.data).toMatchObject({ type, status });
      }
      // The socket stayed open and a valid signature works.
      raw.send({ event: 'pusher:subscribe', data: { channel: 'private-x', auth: sign(`${socketId}:private-x`) } });
      expect(await raw.next<Frame>(isEvent('pusher_internal:subscription_succeeded', 'private-x'))).toEqual({
        event: 'pusher_internal:subscription_succeeded',
        channel: 'private-x',
        data: '{}',
      });
    });

    it('rejects client events on public channels, when not subscribed, and over the rate limit (4301, no close)', async () => {
      const { client: raw, socketId } = await rawClient(server);
      raw.send({ event: 'client-x', channel: 'news', data: {} });
      expect((await raw.next<Frame>(isEvent('pusher:error'))).data).toMatchObject({ code: 4301, message: expect.stringMatching(/private and presence/) });
      raw.send({ event: 'client-x', channel: 'private-a', data: {} });
      expect((await raw.next<Frame>(isEvent('pusher:error'))).data).toMatchObject({ code: 4301, message: expect.stringMatching(/Not subscribed/) });
      raw.send({ event: 'pusher:subscribe', data: { channel: 'private-a', auth: sign(`${socketId}:private-a`) } });
      await raw.next(isEvent('pusher_internal:subscription_succeeded'));
      for (let i = 0; i < 11; i++) raw.send({ event: 'client-x', channel: 'private-a', data: { i } });
      expect((await raw.next<Frame>(isEvent('pusher:error'))).data).toMatchObject({ code: 4301, message: expect.stringMatching(/Rate limit/) });
      raw.send({ event: 'pusher:ping', data: {} });
      await raw.next(isEvent('pusher:pong'));
      const refused = valueOf((await scrape(server.baseUrl)).samples, 'herald_rate_limit_triggered_total', { app_id: APP.appId, limit: 'client_events' });
      expect(refused).toBe(1);
    });

    it('relays encrypted channel data opaquely (pusher-js decrypts what the SDK encrypted)', async () => {
      await server.close();
      server = await startApp();
      const key = Buffer.alloc(32, 7).toString('base64');
      const sdk = serverSdk(server, APP, { encryptionMasterKeyBase64: key });
      const a = client({ sdk });
      await connected(a);
      const channel = await subscribed(a, 'private-encrypted-secret');
      const got = once(channel, 'msg');
      await sdk.trigger('private-encrypted-secret', 'msg', { top: 'secret' });
      expect(await got).toEqual({ top: 'secret' });
    });

    it('replays the last event of a cache channel to new subscribers and sends cache_miss otherwise', async () => {
      const a = client();
      await connected(a);
      const miss = a.subscribe('cache-prices');
      await once(miss, 'pusher:cache_miss');
      const sdk = serverSdk(server);
      await sdk.trigger('cache-prices', 'price', { eur: 1 });
      await sdk.trigger('cache-prices', 'price', { eur: 2 });
      const b = client();
      await connected(b);
      const replay = b.subscribe('cache-prices');
      expect(await once(replay, 'price')).toEqual({ eur: 2 });
      const info = await (await sdk.get({ path: '/channels/cache-prices', params: { info: 'cache' } })).json();
      expect(info).toEqual({ occupied: true, cache: { data: '{"eur":2}', ttl: expect.any(Number) } });
    });

    it('delivers POST /api/messages user and tenant messages to signed-in pusher-js clients on #server-to-user-<id>', async () => {
      const a = client({ userId: 'alice' });
      const anon = client();
      await Promise.all([connected(a), connected(anon)]);
      a.signin();
      await a.user.signinDonePromise;
      const toUser = once(a.user, 'notification');
      const sent = await request(server.baseUrl)
        .post('/api/messages')
        .set('Authorization', `Bearer ${DEV_API_KEY}`)
        .send({ cmd: 'notification', data: { n: 1 }, to: { user: 'alice' } });
      expect(sent.status).toBe(202);
      expect(await toUser).toEqual({ n: 1 });
      const anonGot: unknown[] = [];
      anon.bind_global((event: string, data: unknown) => anonGot.push([event, data]));
      const toAll = once(a.user, 'DB_MAINTENANCE_DONE');
      await request(server.baseUrl).post('/api/messages').set('Authorization', `Bearer ${DEV_API_KEY}`).send({ cmd: 'DB_MAINTENANCE_DONE', data: {} });
      expect(await toAll).toEqual({});
      expect(await expectSilence(() => anonGot)).toEqual([]);
      const online = await request(server.baseUrl).get('/api/users/alice').set('Authorization', `Bearer ${DEV_API_KEY}`);
      expect(online.body).toEqual({ online: true, connections: 1 });
    });

    it('closes a signed-in connection revoked through /api/users/:id/revoke', async () => {
      const a = client({ userId: 'mallory' });
      await connected(a);
      a.signin();
      await a.user.signinDonePromise;
      const socket = fayeSocketOf(a);
      const disconnected = once(a.connection, 'disconnected');
      const revoked = await request(server.baseUrl).post('/api/users/mallory/revoke').set('Authorization', `Bearer ${DEV_API_KEY}`);
      expect(revoked.body).toEqual({ closed: 1 });
      await disconnected;
      clearFayeCloseTimer(socket);
    });

    it('sends watchlist online/offline events in the shape pusher-js reads', async () => {
      const watcher = client({ userId: 'w', watchlist: ['friend', 'other'] });
      await connected(watcher);
      const initial = once(watcher.user.watchlist, 'offline');
      watcher.signin();
      expect((await initial).user_ids).toEqual(['friend', 'other']);
      const online = once(watcher.user.watchlist, 'online');
      const friend = client({ userId: 'friend' });
      await connected(friend);
      friend.signin();
      expect((await online).user_ids).toEqual(['friend']);
      const offline = once(watcher.user.watchlist, 'offline');
      await disconnectAll([friend]);
      expect((await offline).user_ids).toEqual(['friend']);
    });

    it('tells clients to reconnect with pusher:error 4200 and close 4200 on drain', async () => {
      const { client: raw } = await rawClient(server);
      await server.app.get(ShutdownService).drain(1000);
      expect((await raw.next<Frame>(isEvent('pusher:error'))).data.code).toBe(4200);
      expect((await raw.closed()).code).toBe(4200);
    });
  });

  describe('with per-app limits', () => {
    it('refuses connections over maxConnections with 4100 (pusher-js backs off)', async () => {
      server = await startApp({ HERALD_APPS: JSON.stringify([{ id: 'app-id', key: 'app-key', secret: 'app-secret', maxConnections: 1 }]) });
      await rawClient(server);
      const second = server.open('/app/app-key?protocol=7');
      expect((await second.next<Frame>(isEvent('pusher:error'))).data.code).toBe(4100);
      expect((await second.closed()).code).toBe(4100);
    });

    it('rejects client events when the app has them disabled (the default)', async () => {
      server = await startApp({ HERALD_APPS: JSON.stringify([{ id: 'app-id', key: 'app-key', secret: 'app-secret' }]) });
      const { client: raw, socketId } = await rawClient(server);
      raw.send({ event: 'pusher:subscribe', data: { channel: 'private-a', auth: sign(`${socketId}:private-a`) } });
      await raw.next(isEvent('pusher_internal:subscription_succeeded'));
      raw.send({ event: 'client-x', channel: 'private-a', data: {} });
      expect((await raw.next<Frame>(isEvent('pusher:error'))).data).toMatchObject({ code: 4301, message: expect.stringMatching(/not enabled/) });
    });

    it('refuses presence members over maxPresenceMembersPerChannel and sends subscription_count when enabled', async () => {
      server = await startApp({
        HERALD_APPS: JSON.stringify([{ id: 'app-id', key: 'app-key', secret: 'app-secret', maxPresenceMembersPerChannel: 1, enableSubscriptionCount: true }]),
      });
      const a = client({ userId: '1' });
      const b = client({ userId: '2' });
      await Promise.all([connected(a), connected(b)]);
      await subscribed(a, 'presence-small');
      const refused = b.subscribe('presence-small');
      expect(await once(refused, 'pusher:subscription_error')).toMatchObject({ type: 'LimitReached', status: 4100 });
      const news = a.subscribe('news');
      expect(await once(news, 'pusher:subscription_count')).toEqual({ subscription_count: 1 });
      const second = once(news, 'pusher:subscription_count');
      await subscribed(b, 'news');
      expect(await second).toEqual({ subscription_count: 2 });
    });

    it('closes connections that do not sign in within userAuthenticationTimeout with 4009', async () => {
      server = await startApp({
        HERALD_APPS: JSON.stringify([{ id: 'app-id', key: 'app-key', secret: 'app-secret', enableUserAuthentication: true, userAuthenticationTimeout: 200 }]),
      });
      const { client: raw } = await rawClient(server);
      expect((await raw.next<Frame>(isEvent('pusher:error'))).data.code).toBe(4009);
      expect((await raw.closed()).code).toBe(4009);
      const a = client({ userId: '9' });
      await connected(a);
      a.signin();
      await a.user.signinDonePromise;
      expect(await expectSilence(() => a.connection.state as string, 400)).toBe('connected');
    });
  });
});
