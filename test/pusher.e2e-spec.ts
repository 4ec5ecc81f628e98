import { clearFayeCloseTimer, connected, disconnectAll, fayeSocketOf, once, pusherClient, serverSdk, subscribed } from './support/pusher-clients.js';
import { startApp, type RunningApp } from './support/start-app.js';
import { expectSilence } from './support/silence.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- pusher-js objects are untyped */

describe('Pusher protocol with pusher-js 8 and the pusher SDK', () => {
  let server: RunningApp;
  const clients: any[] = [];
  const client = (options: Parameters<typeof pusherClient>[1] = {}) => {
    const c = pusherClient(server, options);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    server = await startApp();
  });
  afterEach(async () => {
    await disconnectAll(clients.splice(0), server);
    await server.close();
  });

  it('connects with a socket id and receives public channel events published with the SDK', async () => {
    const a = client();
    const socketId = await connected(a);
    expect(socketId).toMatch(/^\d+\.\d+$/);
    const news = await subscribed(a, 'news');
    const got = once(news, 'flash');
    await serverSdk(server).trigger('news', 'flash', { hi: 1 });
    expect(await got).toEqual({ hi: 1 });
  });

  it('excludes the socket_id given to trigger and answers info with counts', async () => {
    const a = client();
    const b = client();
    const [idA] = await Promise.all([connected(a), connected(b)]);
    const [chA, chB] = await Promise.all([subscribed(a, 'room'), subscribed(b, 'room')]);
    const received: unknown[] = [];
    chA.bind('ev', (d: unknown) => received.push(d));
    const gotB = once(chB, 'ev');
    const response = await serverSdk(server).trigger('room', 'ev', { n: 1 }, { socket_id: idA, info: 'subscription_count' });
    expect(await response.json()).toEqual({ channels: { room: { subscription_count: 2 } } });
    expect(await gotB).toEqual({ n: 1 });
    // b got it, so a (same channel, same envelope) would have too had it not been excluded.
    expect(await expectSilence(() => received)).toEqual([]);
  });

  it('subscribes to private channels and relays client events to the others only', async () => {
    const a = client({ userId: '1' });
    const b = client({ userId: '2' });
    await Promise.all([connected(a), connected(b)]);
    const [pa, pb] = await Promise.all([subscribed(a, 'private-room'), subscribed(b, 'private-room')]);
    const echoed: unknown[] = [];
    pb.bind('client-typing', (d: unknown) => echoed.push(d));
    const got = once(pa, 'client-typing');
    expect(pb.trigger('client-typing', { u: 2 })).toBe(true);
    expect(await got).toEqual({ u: 2 });
    const fromApi = once(pb, 'server-ev');
    await serverSdk(server).trigger('private-room', 'server-ev', 'plain string');
    expect(await fromApi).toBe('plain string');
    expect(echoed).toEqual([]);
  });

  it('tracks presence members with member_added / member_removed, deduplicated by user id', async () => {
    const a = client({ userId: '1', userInfo: { name: 'Ann' } });
    await connected(a);
    const pa = await subscribed(a, 'presence-lobby');
    expect(pa.members.count).toBe(1);
    expect(pa.members.me).toEqual({ id: '1', info: { name: 'Ann' } });

    const added = once(pa, 'pusher:member_added');
    const b = client({ userId: '2', userInfo: { name: 'Bob' } });
    await connected(b);
    const pb = await subscribed(b, 'presence-lobby');
    expect(await added).toEqual({ id: '2', info: { name: 'Bob' } });
    expect(pb.members.count).toBe(2);

    // A second connection of Bob: no second member_added, count stays 2.
    const b2 = client({ userId: '2', userInfo: { name: 'Bob' } });
    await connected(b2);
    const pb2 = await subscribed(b2, 'presence-lobby');
    expect(pb2.members.count).toBe(2);
    const removed = once(pa, 'pusher:member_removed');
    const sdk = serverSdk(server);
    expect(await (await sdk.get({ path: '/channels/presence-lobby/users' })).json()).toEqual({ users: [{ id: '1' }, { id: '2' }] });
    expect(await (await sdk.get({ path: '/channels/presence-lobby', params: { info: 'user_count,subscription_count' } })).json()).toEqual({
      occupied: true,
      user_count: 2,
      subscription_count: 3,
    });

    // Bob's first connection goes: still a member through b2, so nothing is removed yet.
    await disconnectAll([b]);
    expect(await expectSilence(() => pa.members.count as number)).toBe(2);
    // Bob's last connection goes (a disconnect, not an unsubscribe): member_removed.
    await disconnectAll([b2]);
    expect(await removed).toEqual({ id: '2', info: { name: 'Bob' } });
    expect(pa.members.count).toBe(1);
  });

  it('signs in, receives sendToUser events and is disconnected by terminateUserConnections', async () => {
    const a = client({ userId: '42' });
    await connected(a);
    a.signin();
    await a.user.signinDonePromise;
    expect(a.user.user_data).toEqual({ id: '42' });
    const sdk = serverSdk(server);
    const got = once(a.user, 'my-event');
    // pusher-js subscribes to #server-to-user-42 after signin_success.
    if (!a.user.serverToUserChannel.subscribed) await once(a.user.serverToUserChannel, 'pusher:subscription_succeeded');
    await sdk.sendToUser('42', 'my-event', { x: 1 });
    expect(await got).toEqual({ x: 1 });
    const socket = fayeSocketOf(a);
    const error = once(a.connection, 'error');
    const disconnected = once(a.connection, 'disconnected');
    await sdk.terminateUserConnections('42');
    expect((await error).data).toMatchObject({ code: 4009 });
    await disconnected;
    clearFayeCloseTimer(socket);
    // 4009 is in pusher-js's "refused" range: it does not reconnect.
    expect(a.connection.state).toBe('disconnected');
  });
});
