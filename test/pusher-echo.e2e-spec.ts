import Echo from 'laravel-echo';
import { APP, connected, disconnectAll, nacl, once, PusherJs, serverSdk } from './support/pusher-clients.js';
import { startApp, type RunningApp } from './support/start-app.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- Echo/pusher-js objects are loosely typed */

describe('laravel-echo 2 (ESM) over pusher-js', () => {
  let server: RunningApp;
  const echoes: any[] = [];

  /** An Echo client authorized in-process by the pusher SDK, as a Laravel backend would. */
  function echo(userId: string, name: string): any {
    const sdk = serverSdk(server);
    const instance = new Echo({
      broadcaster: 'pusher',
      key: APP.key,
      cluster: 'mt1',
      Pusher: PusherJs,
      wsHost: '127.0.0.1',
      wsPort: server.port,
      forceTLS: false,
      enabledTransports: ['ws'],
      disableStats: true,
      nacl,
      authorizer: (channel: { name: string }) => ({
        authorize: (socketId: string, cb: (error: unknown, auth: unknown) => void) =>
          cb(null, sdk.authorizeChannel(socketId, channel.name, channel.name.startsWith('presence-') ? { user_id: userId, user_info: { name } } : undefined)),
      }),
    } as any);
    echoes.push(instance);
    return instance;
  }

  beforeEach(async () => {
    server = await startApp();
  });
  afterEach(async () => {
    await disconnectAll(echoes.splice(0).map((e) => e.connector.pusher), server);
    await server.close();
  });

  it('private().listen() receives events triggered with the pusher SDK', async () => {
    const ann = echo('1', 'Ann');
    await connected(ann.connector.pusher);
    const got = new Promise((resolve) => ann.private('orders.1').listen('.OrderShipped', resolve));
    await once(ann.connector.pusher.channel('private-orders.1'), 'pusher:subscription_succeeded');
    await serverSdk(server).trigger('private-orders.1', 'OrderShipped', { id: 1 });
    expect(await got).toEqual({ id: 1 });
  });

  it('join().here().joining().leaving() and whisper() with listenForWhisper()', async () => {
    const ann = echo('1', 'Ann');
    await connected(ann.connector.pusher);
    const here = new Promise<any[]>((resolve) => ann.join('room.1').here(resolve));
    expect(await here).toEqual([{ name: 'Ann' }]);
    const joining = new Promise((resolve) => ann.join('room.1').joining(resolve));
    const leaving = new Promise((resolve) => ann.join('room.1').leaving(resolve));
    const whisper = new Promise((resolve) => ann.join('room.1').listenForWhisper('typing', resolve));

    const bob = echo('2', 'Bob');
    await connected(bob.connector.pusher);
    const bobHere = new Promise<any[]>((resolve) => bob.join('room.1').here(resolve));
    expect(await bobHere).toHaveLength(2);
    expect(await joining).toEqual({ name: 'Bob' });
    bob.join('room.1').whisper('typing', { who: 'Bob' });
    expect(await whisper).toEqual({ who: 'Bob' });
    bob.leave('room.1');
    expect(await leaving).toEqual({ name: 'Bob' });
  });
});
