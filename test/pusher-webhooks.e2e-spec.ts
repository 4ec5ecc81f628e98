import { APP, connected, disconnectAll, pusherClient, serverSdk, subscribed } from './support/pusher-clients.js';
import { startApp, type RunningApp } from './support/start-app.js';
import { named, Receiver } from './support/webhook-receiver.js';
import { eventually } from './support/eventually.js';
import { expectSilence } from './support/silence.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- pusher-js objects are untyped */

/** Short, so tests do not wait Pusher's 3 s; long enough that a resubscribe lands inside it. */
const VACATE_DELAY_MS = 1_000;

describe('Pusher webhooks', () => {
  let server: RunningApp;
  let receiver: Receiver;
  const clients: any[] = [];
  const client = (userId = '1') => {
    const c = pusherClient(server, { userId });
    clients.push(c);
    return c;
  };

  async function start(hook: Record<string, unknown> = {}): Promise<void> {
    server = await startApp({
      HERALD_WEBHOOK_VACATE_DELAY_MS: String(VACATE_DELAY_MS),
      HERALD_APPS: JSON.stringify([
        {
          id: APP.appId,
          key: APP.key,
          secret: APP.secret,
          enableClientMessages: true,
          webhooks: [
            {
              url: receiver.url,
              event_types: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event', 'cache_miss', 'subscription_count'],
              headers: { 'X-Custom': 'yes', 'X-Pusher-Key': 'cannot-override' },
              ...hook,
            },
          ],
        },
      ]),
    });
  }

  beforeEach(async () => {
    receiver = new Receiver();
    await receiver.start();
  });
  afterEach(async () => {
    await disconnectAll(clients.splice(0), server);
    await server?.close();
    await receiver.stop();
  });

  it('sends channel_occupied and, the vacate delay after the last subscriber left, channel_vacated; the SDK validates them', async () => {
    await start();
    const a = client();
    await connected(a);
    await subscribed(a, 'news');
    const occupied = await receiver.next(named('channel_occupied', { channel: 'news' }));
    const sdk = serverSdk(server);
    const webhook = sdk.webhook({ headers: occupied.headers, rawBody: occupied.rawBody });
    expect(webhook.isValid()).toBe(true);
    expect(occupied.headers['x-custom']).toBe('yes');
    expect(occupied.headers['x-pusher-key']).toBe(APP.key);
    expect(typeof occupied.body.time_ms).toBe('number');
    // A tampered body does not validate.
    expect(sdk.webhook({ headers: occupied.headers, rawBody: occupied.rawBody.replace('news', 'nows') }).isValid()).toBe(false);

    const left = Date.now();
    a.unsubscribe('news');
    const vacated = await receiver.next(named('channel_vacated', { channel: 'news' }), VACATE_DELAY_MS + 5000);
    // Not before the delay (a lower bound: load can only make it later).
    expect(Date.now() - left).toBeGreaterThanOrEqual(VACATE_DELAY_MS - 50);
    expect(sdk.webhook({ headers: vacated.headers, rawBody: vacated.rawBody }).isValid()).toBe(true);
  });

  it('sends neither vacated nor a second occupied when the channel comes back within the delay', async () => {
    await start();
    const a = client();
    await connected(a);
    await subscribed(a, 'news');
    await receiver.next(named('channel_occupied'));
    a.unsubscribe('news');
    await subscribed(a, 'news');
    // Past the vacate delay: still exactly one occupied and no vacated.
    const occupancy = () => receiver.events().filter((e) => e.name === 'channel_occupied' || e.name === 'channel_vacated');
    expect(await expectSilence(occupancy, VACATE_DELAY_MS + 500)).toEqual([{ name: 'channel_occupied', channel: 'news' }]);
  });

  it('sends member_added, client_event (with user_id on presence), cache_miss and member_removed', async () => {
    await start();
    const a = client('1');
    const b = client('2');
    await Promise.all([connected(a), connected(b)]);
    await subscribed(a, 'presence-room');
    await receiver.next(named('member_added', { channel: 'presence-room', user_id: '1' }));
    const pb = await subscribed(b, 'presence-room');
    await receiver.next(named('member_added', { user_id: '2' }));
    pb.trigger('client-hi', { x: 1 });
    const clientEvent = (await receiver.next(named('client_event'))).body.events.find(named('client_event'));
    expect(clientEvent).toEqual({
      name: 'client_event',
      channel: 'presence-room',
      event: 'client-hi',
      data: '{"x":1}',
      socket_id: b.connection.socket_id,
      user_id: '2',
    });
    await subscribed(a, 'cache-prices');
    await receiver.next(named('cache_miss', { channel: 'cache-prices' }));
    b.unsubscribe('presence-room');
    await receiver.next(named('member_removed', { user_id: '2' }), 6000);
  });

  it('applies the channel name filter', async () => {
    await start({ filter: { channel_name_starts_with: 'private-' } });
    const a = client();
    await connected(a);
    await subscribed(a, 'news');
    await subscribed(a, 'private-x');
    await receiver.next(named('channel_occupied', { channel: 'private-x' }));
    expect(receiver.events().filter((e) => e.channel === 'news')).toEqual([]);
  });

  it('retries a failed delivery with back-off', async () => {
    let attempts = 0;
    receiver.respond = () => (attempts++ === 0 ? 500 : 200);
    await start();
    const a = client();
    await connected(a);
    await subscribed(a, 'news');
    await receiver.next(named('channel_occupied'), 5000);
    expect(attempts).toBe(2);
  });

  it('does not slow message delivery when the receiver hangs', async () => {
    receiver.respond = () => 0;
    await start();
    const a = client();
    await connected(a);
    const news = await subscribed(a, 'news');
    const sdk = serverSdk(server);
    // The channel_occupied webhook is in flight and never answered…
    await eventually(() => expect(receiver.hanging).toBe(1));
    for (let i = 0; i < 5; i++) {
      const got = new Promise((resolve) => news.bind(`e${i}`, resolve));
      await sdk.trigger('news', `e${i}`, { i });
      await got;
    }
    // …and every message arrived while that first attempt still hangs (no timeout, no retry yet): delivery never waits for it.
    expect(receiver.hanging).toBe(1);
    expect(receiver.requests).toHaveLength(0);
  });
});
