import { eventually } from './support/eventually.js';
import { connected, closeAppAndClients, pusherClient } from './support/pusher-clients.js';
import { FRAMINGS, RpcClient } from './support/rpc-framings.js';
import { startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- pusher-js objects are untyped */

type TopicFrame = { topic: string; payload: unknown };
type PusherFrame = { event: string; channel?: string; data?: unknown };

/** HERALD_MAX_CHANNELS_PER_CONNECTION: one cap, every protocol, each refusing with its own documented error. */
describe('channels per connection', () => {
  let server: RunningApp;
  const pushers: any[] = [];
  beforeEach(async () => {
    server = await startApp({ HERALD_MAX_CHANNELS_PER_CONNECTION: '3' });
  });
  afterEach(async () => {
    await closeAppAndClients(server, pushers);
  });

  it.each(FRAMINGS)('$name: the fourth subscribe is ResourceExhausted until one is left', async (framing) => {
    const token = userToken({ scope: ['subscribe'], authorizedChannels: ['*'] });
    const rpc = new RpcClient(framing, await server.connect(`${framing.path}?token=${token}`));
    for (const channel of ['a', 'b', 'c']) await rpc.ok('subscribe', { channel });
    const refused = await rpc.fails('subscribe', { channel: 'd' }, 'rate_limited');
    expect(refused?.message).toContain('at most 3 channels per connection');
    await rpc.ok('unsubscribe', { channel: 'a' });
    await rpc.ok('subscribe', { channel: 'd' });
  });

  it('/ws/topics: a join that would pass the cap joins none of its topics', async () => {
    const client = await server.connect(`/ws/topics?token=${userToken()}`);
    const join = async (topics: string[]) => {
      client.send({ command: 'join', broker: 'memory', topics, payload: '' });
      return client.next<TopicFrame>((frame) => (frame.topic === '@join' || frame.topic === '#join') && JSON.stringify(frame.payload) === JSON.stringify(topics));
    };
    expect((await join(['a', 'b'])).topic).toBe('@join');
    expect((await join(['c', 'd'])).topic).toBe('#join');
    // Topics it already holds do not count again.
    expect((await join(['a', 'c'])).topic).toBe('@join');
    expect((await join(['d'])).topic).toBe('#join');
  });

  it('/app/{key}: the fourth subscription gets pusher:subscription_error LimitReached (4100), the socket stays open', async () => {
    const client = await server.connect('/app/app-key?protocol=7');
    await client.next<PusherFrame>((frame) => frame.event === 'pusher:connection_established');
    for (const channel of ['a', 'b', 'c']) {
      client.send({ event: 'pusher:subscribe', data: { channel } });
      await client.next<PusherFrame>((frame) => frame.event === 'pusher_internal:subscription_succeeded' && frame.channel === channel);
    }
    client.send({ event: 'pusher:subscribe', data: { channel: 'd' } });
    const error = await client.next<PusherFrame>((frame) => frame.event === 'pusher:subscription_error' && frame.channel === 'd');
    expect(error.data).toEqual({ type: 'LimitReached', error: 'At most 3 channels per connection', status: 4100 });
    client.send({ event: 'pusher:unsubscribe', data: { channel: 'a' } });
    client.send({ event: 'pusher:subscribe', data: { channel: 'd' } });
    await client.next<PusherFrame>((frame) => frame.event === 'pusher_internal:subscription_succeeded' && frame.channel === 'd');
  });

  it('pusher-js: a real client over the cap keeps its other subscriptions', async () => {
    const member = pusherClient(server, { userId: 'u' });
    pushers.push(member);
    await connected(member);
    const errors: unknown[] = [];
    for (const name of ['a', 'b', 'c', 'd']) member.subscribe(name).bind('pusher:subscription_error', (e: unknown) => errors.push(e));
    await eventually(() => expect(errors).toHaveLength(1), 5000);
    expect(errors[0]).toMatchObject({ type: 'LimitReached', status: 4100 });
    expect(member.connection.state).toBe('connected');
  });
});
