import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { ShutdownService } from '../src/health/shutdown.service.js';
import { NatsClusterStats } from '../src/state/nats-cluster-stats.service.js';
import { NatsHoldings } from '../src/state/nats-holdings.service.js';
import { NatsPeers } from '../src/state/nats-peers.service.js';
import { ClusterNode } from '../src/cluster/cluster-node.js';
import { ConnectionRegistry } from '../src/connections/connection-registry.service.js';
import { brokersAvailable, startNats, startRedis, type Broker } from './support/brokers.js';
import { eventually } from './support/eventually.js';
import { clearFayeCloseTimer, connected, disconnectAll, fayeSocketOf, once, pusherClient, serverSdk, subscribed } from './support/pusher-clients.js';
import { JSONRPC, RpcClient } from './support/rpc-framings.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';
import { named, Receiver } from './support/webhook-receiver.js';
import { expectSilence } from './support/silence.js';

/**
 * Several Herald nodes (Nest apps in this process, each with its own connections) sharing one real
 * Redis or NATS started for this file: everything a user of one node must see from the others. One
 * suite for both shared-state designs (Redis: Lua scripts; NATS: request/reply to every node).
 */
const run = brokersAvailable('redis-server', 'nats-server') ? describe : describe.skip;
const auth = { Authorization: `Bearer ${DEV_API_KEY}` };
type Adapter = 'redis' | 'nats';

run.each<Adapter>(['redis', 'nats'])('%s cluster (several nodes)', (adapter) => {
  let broker: Broker;
  let nodes: RunningApp[] = [];
  let prefix = '';
  const pusherClients: unknown[] = [];

  beforeAll(async () => {
    broker = adapter === 'redis' ? await startRedis() : await startNats();
  });
  afterAll(async () => broker?.stop());
  beforeEach(() => {
    prefix = `c${randomBytes(4).toString('hex')}`;
  });
  afterEach(async () => {
    await disconnectAll(pusherClients.splice(0));
    await Promise.all(nodes.map((node) => node.close()));
    nodes = [];
  });

  const node = async (env: Record<string, string> = {}): Promise<RunningApp> => {
    const url: Record<string, string> = adapter === 'redis' ? { REDIS_URL: broker.url } : { NATS_URL: broker.url };
    const started = await startApp({ HERALD_ADAPTER: adapter, ...url, HERALD_CLUSTER_PREFIX: prefix, HERALD_NODE_HEARTBEAT_MS: '100', HERALD_NODE_TIMEOUT_MS: '600', ...env });
    nodes.push(started);
    await eventually(async () => expect((await request(started.baseUrl).get('/health/ready')).status).toBe(200), 5000);
    // Every node knows every other before a test starts (NATS learns its peers from announcements).
    if (adapter === 'nats') await eventually(() => expect(nodes.every((other) => peerCount(other) === nodes.length - 1)).toBe(true), 3000);
    return started;
  };
  const peerCount = (server: RunningApp) => server.app.get(NatsPeers).livePeerIds().length;
  const pusher = (server: RunningApp, userId: string) => {
    const client = pusherClient(server, { userId });
    pusherClients.push(client);
    return client;
  };

  it('revokes a session on every node, and a node started later refuses the revoked token too', async () => {
    const [a, b] = [await node(), await node()];
    const token = userToken({ sub: 'u1', sid: 's1', iat: Math.floor(Date.now() / 1000) - 5 });
    const onB = await b.connect(`/ws/bus?token=${token}`);
    const onA = await a.connect(`/ws/bus?token=${token}`);
    await a.connect(`/ws/bus?token=${userToken({ sub: 'u1', sid: 's2' })}`);
    const res = await request(a.baseUrl).post('/api/sessions/s1/revoke').set(auth);
    expect(res.status).toBe(200);
    // Every node reports what it closed: the answer is the cluster's total.
    expect(res.body).toEqual({ closed: 2 });
    expect(await onB.closed()).toMatchObject({ code: 4001, reason: 'Session revoked' });
    expect(await onA.closed()).toMatchObject({ code: 4001 });
    expect((await b.open(`/ws/bus?token=${token}`).closed()).code).toBe(4401);
    const c = await node();
    expect((await c.open(`/ws/bus?token=${token}`).closed()).code).toBe(4401);
  });

  it('applies an explicit issuedBefore on every node: only older tokens\' sockets close, and a later node keeps the latest cut-off', async () => {
    const [a, b] = [await node(), await node()];
    const cut = Math.floor(Date.now() / 1000) - 60;
    const old = userToken({ sub: 'u2', iat: cut - 1 });
    const fresh = userToken({ sub: 'u2', iat: cut });
    const oldOnB = await b.connect(`/ws/bus?token=${old}`);
    const freshOnB = await b.connect(`/ws/bus?token=${fresh}`);
    const res = await request(a.baseUrl).post('/api/users/u2/revoke').set(auth).send({ issuedBefore: cut });
    expect(res.body).toEqual({ closed: 1 });
    expect(await oldOnB.closed()).toMatchObject({ code: 4001 });
    freshOnB.send({ id: 'p', cmd: 'ping', data: {} });
    expect(await freshOnB.next((f) => f.id === 'p')).toMatchObject({ cmd: 'ack' });
    // An earlier cut-off afterwards does not loosen the later one, for a node that loads the denylist either.
    expect((await request(b.baseUrl).post('/api/users/u2/revoke').set(auth).send({ issuedBefore: cut - 100 })).body).toEqual({ closed: 0 });
    const c = await node();
    expect((await c.open(`/ws/bus?token=${old}`).closed()).code).toBe(4401);
    const again = await c.connect(`/ws/bus?token=${fresh}`);
    again.send({ id: 'q', cmd: 'ping', data: {} });
    expect(await again.next((f) => f.id === 'q')).toMatchObject({ cmd: 'ack' });
  });

  it('counts connections and users across nodes, and stops counting a node that left', async () => {
    const [a, b] = [await node(), await node()];
    await a.connect(`/ws/bus?token=${userToken({ sub: 'u1' })}`);
    await a.connect(`/ws/bus?token=${userToken({ sub: 'u2' })}`);
    const third = await b.connect(`/ws/bus?token=${userToken({ sub: 'u1' })}`);
    for (const server of [a, b]) {
      await eventually(async () => expect((await request(server.baseUrl).get('/api/connections').set(auth)).body).toEqual({ connections: 3, users: 2 }));
    }
    expect((await request(b.baseUrl).get('/api/users/u1').set(auth)).body).toEqual({ online: true, connections: 2 });
    await third.close();
    await eventually(async () => expect((await request(a.baseUrl).get('/api/users/u1').set(auth)).body).toEqual({ online: true, connections: 1 }));
    await b.close();
    nodes = nodes.filter((n) => n !== b);
    expect((await request(a.baseUrl).get('/api/connections').set(auth)).body).toEqual({ connections: 2, users: 2 });
  });

  it('enforces an app connection limit cluster-wide', async () => {
    const apps = JSON.stringify([{ id: 'app-id', key: 'app-key', secret: 'app-secret', apiKeys: [DEV_API_KEY], maxConnections: 2 }]);
    const [a, b] = [await node({ HERALD_APPS: apps }), await node({ HERALD_APPS: apps })];
    const first = await a.connect('/app/app-key?protocol=7');
    await first.next((frame: { event: string }) => frame.event === 'pusher:connection_established');
    const second = await b.connect('/app/app-key?protocol=7');
    await second.next((frame: { event: string }) => frame.event === 'pusher:connection_established');
    await eventually(async () => expect((await request(a.baseUrl).get('/api/connections').set(auth)).body.connections).toBe(2));
    // NATS enforces from the peers' last announcements (no question per connect): wait for b's.
    if (adapter === 'nats') await eventually(async () => expect(await a.app.get(NatsClusterStats).count('app-id')).toBe(2));
    const refused = a.open('/app/app-key?protocol=7');
    expect(await refused.next((frame: { event: string }) => frame.event === 'pusher:error')).toMatchObject({ data: { code: 4100 } });
  });

  it('dedupes presence members by user across nodes: member_added on the first connection anywhere, member_removed on the last', async () => {
    const [a, b] = [await node(), await node()];
    const observer = pusher(a, 'watcher');
    const watching = await subscribed(observer, 'presence-room');
    const added: string[] = [];
    const removed: string[] = [];
    watching.bind('pusher:member_added', (member: { id: string }) => added.push(member.id));
    watching.bind('pusher:member_removed', (member: { id: string }) => removed.push(member.id));

    const onA = pusher(a, 'ann');
    await subscribed(onA, 'presence-room');
    await eventually(() => expect(added).toEqual(['ann']));
    const onB = pusher(b, 'ann');
    const fromB = await subscribed(onB, 'presence-room');
    expect(Object.keys(fromB.members.members).sort()).toEqual(['ann', 'watcher']);
    const info = await serverSdk(b).get({ path: '/channels/presence-room/users' });
    expect((await info.json()).users).toHaveLength(2);

    await disconnectAll([onA]);
    expect(await expectSilence(() => removed, 200)).toEqual([]);
    await disconnectAll([onB]);
    await eventually(() => expect(removed).toEqual(['ann']));
    expect(added).toEqual(['ann']);
  });

  it('reports channel occupancy and subscription counts cluster-wide (Pusher HTTP API and REST, every protocol)', async () => {
    const [a, b] = [await node(), await node()];
    await subscribed(pusher(a, '1'), 'news');
    await subscribed(pusher(b, '2'), 'news');
    const token = userToken({ sub: 'ann', scope: ['subscribe'], authorizedChannels: ['*'] });
    await new RpcClient(JSONRPC, await b.connect(`${JSONRPC.path}?token=${token}`)).ok('subscribe', { channel: 'news' });
    await eventually(async () => expect((await request(a.baseUrl).get('/api/channels/news').set(auth)).body).toEqual({ channel: 'news', occupied: true, subscribers: 3 }));
    expect((await request(b.baseUrl).get('/api/channels').set(auth)).body).toEqual({ channels: { news: { subscribers: 3 } } });
    await eventually(async () => {
      const res = await serverSdk(a).get({ path: '/channels/news', params: { info: 'subscription_count' } });
      expect(await res.json()).toMatchObject({ occupied: true, subscription_count: 3 });
    });
  });

  it('terminates a user\'s connections on every node', async () => {
    const [a, b] = [await node(), await node()];
    const client = pusher(b, 'zed');
    await connected(client);
    client.signin();
    await client.user.signinDonePromise;
    await eventually(async () => expect((await request(a.baseUrl).get('/api/users/zed').set(auth)).body.online).toBe(true));
    const socket = fayeSocketOf(client);
    const error = once(client.connection, 'error');
    const disconnected = once(client.connection, 'disconnected');
    await serverSdk(a).terminateUserConnections('zed');
    expect((await error).data).toMatchObject({ code: 4009 });
    await disconnected;
    clearFayeCloseTimer(socket);
  });

  it('recovers missed channel messages after reconnecting to another node', async () => {
    const [a, b] = [await node(), await node()];
    const token = userToken({ sub: 'ann', scope: ['subscribe', 'publish'], authorizedChannels: ['*'] });
    const first = new RpcClient(JSONRPC, await a.connect(`${JSONRPC.path}?token=${token}`));
    await first.ok('subscribe', { channel: 'news' });
    const publish = async (server: RunningApp, n: number) => {
      const res = await request(server.baseUrl).post('/api/publish').set(auth).send({ channel: 'news', event: 'tick', payload: { n } });
      expect(res.status).toBe(200);
      return res.body as { offset: number; epoch: string };
    };
    await publish(b, 1);
    const seen = (await first.broadcast('news')).params as { offset: number; epoch: string };
    await first.client.close();
    for (let n = 2; n <= 4; n++) await publish(a, n);
    const again = new RpcClient(JSONRPC, await b.connect(`${JSONRPC.path}?token=${token}`));
    const reply = await again.ok('subscribe', { channel: 'news', since: { offset: seen.offset, epoch: seen.epoch } });
    expect(reply).toMatchObject({ recovered: true, offset: 4, epoch: seen.epoch });
    const replayed = [await again.broadcast('news'), await again.broadcast('news'), await again.broadcast('news')].map((frame) => (frame.params as { payload: { n: number } }).payload.n);
    expect(replayed).toEqual([2, 3, 4]);
  });

  it("removes a draining node's presence members cluster-wide", async () => {
    const [a, b] = [await node(), await node()];
    const observer = pusher(a, 'watcher');
    const watching = await subscribed(observer, 'presence-room');
    const removed = new Promise<{ id: string }>((resolve) => watching.bind('pusher:member_removed', resolve));
    const leaving = pusherClient(b, { userId: 'bob' });
    await subscribed(leaving, 'presence-room');
    await b.app.get(ShutdownService).drain(2000);
    expect((await removed).id).toBe('bob');
    leaving.disconnect();
  });
  it('streams through a broker restart: refused (503) while down, resubscribed, everything accepted once the nodes are back delivered in order', async () => {
    const [a, b] = [await node(), await node()];
    const token = userToken({ sub: 'ann', scope: ['subscribe'], authorizedChannels: ['*'] });
    const subscriber = new RpcClient(JSONRPC, await b.connect(`${JSONRPC.path}?token=${token}`));
    await subscriber.ok('subscribe', { channel: 'news' });
    const accepted: number[] = [];
    const statuses = new Set<number>();
    let streaming = true;
    const stream = (async () => {
      for (let n = 0; streaming; n++) {
        const res = await request(a.baseUrl).post('/api/publish').set(auth).send({ channel: 'news', event: 'tick', payload: { n } });
        statuses.add(res.status);
        if (res.status === 200) accepted.push(n);
        else expect(res.headers['retry-after']).toBeDefined();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await eventually(() => expect(accepted.length).toBeGreaterThan(10));
    await broker.stop();
    await eventually(() => expect(statuses.has(503)).toBe(true), 5000);
    const beforeRestart = accepted.length;
    await broker.start();
    for (const server of [a, b]) await eventually(async () => expect((await request(server.baseUrl).get('/health/ready')).status).toBe(200), 10_000);
    // Pub/sub is at most once: what the publisher's node got accepted before the subscriber's node was
    // back is lost for it. Everything accepted once both are back must arrive.
    const bothBack = accepted.length;
    await eventually(() => expect(accepted.length).toBeGreaterThan(bothBack + 10), 5000);
    streaming = false;
    await stream;
    expect([...statuses].sort()).toEqual([200, 503]);

    const received: { n: number; offset: number; epoch: string }[] = [];
    const last = accepted[accepted.length - 1];
    while (received[received.length - 1]?.n !== last) {
      const params = (await subscriber.broadcast('news')).params as { payload: { n: number }; offset: number; epoch: string };
      received.push({ n: params.payload.n, offset: params.offset, epoch: params.epoch });
    }
    const numbers = received.map((entry) => entry.n);
    expect(numbers).toEqual([...numbers].sort((x, y) => x - y));
    expect(accepted.slice(bothBack).filter((n) => !numbers.includes(n))).toEqual([]);
    // The restarted broker lost the stream (Redis without persistence, JetStream in memory): a new epoch
    // with offsets from 1, so a client knows its position is void; within it, every message lost to
    // this node shows as a hole in the offsets.
    const epochs = [...new Set(received.map((entry) => entry.epoch))];
    expect(epochs).toHaveLength(2);
    const renewed = received.filter((entry) => entry.epoch === epochs[1]);
    const lostAfterRestart = accepted.slice(beforeRestart).filter((n) => !numbers.includes(n)).length;
    expect(renewed[renewed.length - 1].offset - renewed.length).toBeGreaterThanOrEqual(lostAfterRestart);
  }, 30_000);

  it('sends member_added once when the same user joins on two nodes at the same moment', async () => {
    const [a, b] = [await node(), await node()];
    const observer = pusher(a, 'watcher');
    const watching = await subscribed(observer, 'presence-room');
    const added: string[] = [];
    watching.bind('pusher:member_added', (member: { id: string }) => added.push(member.id));
    await Promise.all([subscribed(pusher(a, 'ann'), 'presence-room'), subscribed(pusher(b, 'ann'), 'presence-room')]);
    await eventually(() => expect(added).toEqual(['ann']));
    expect(await expectSilence(() => added, 300)).toEqual(['ann']);
  });

  it('replays a cache channel\'s last event to a subscriber on another node', async () => {
    const [a, b] = [await node(), await node()];
    await serverSdk(a).trigger('cache-prices', 'tick', { price: 42 });
    const client = pusher(b, 'reader');
    const channel = client.subscribe('cache-prices');
    const cached = once<{ price: number }>(channel, 'tick');
    expect(await cached).toEqual({ price: 42 });
  });

  if (adapter === 'nats') {
    it('mends the mirror of what a peer holds after a broker outage ate its deltas', async () => {
      // A timeout longer than the outage: the peers stay known, so only the mending can fix the mirror.
      const slow = { HERALD_NODE_TIMEOUT_MS: '20000' };
      const [a, b] = [await node(slow), await node(slow)];
      const bId = b.app.get(ClusterNode).id;
      const mirror = () => a.app.get(NatsHoldings).heldBy(bId);
      const bob = pusher(b, 'bob');
      await subscribed(bob, 'presence-room');
      await eventually(() => expect(mirror()).toContainEqual(['presence', 'app-id', 'presence-room', 'bob']));
      await broker.stop();
      await eventually(async () => expect((await request(b.baseUrl).get('/health/ready')).status).toBe(503), 5000);
      bob.unsubscribe('presence-room');
      await eventually(() => expect(b.app.get(ConnectionRegistry).subscribers('app-id', 'presence-room').size).toBe(0));
      await broker.start();
      for (const server of [a, b]) await eventually(async () => expect((await request(server.baseUrl).get('/health/ready')).status).toBe(200), 10_000);
      await eventually(() => expect(mirror().filter((holding) => holding[0] === 'presence')).toEqual([]), 5000);
      expect(a.app.get(NatsPeers).livePeerIds()).toEqual([bId]);
    }, 20_000);
  }

  describe('webhooks', () => {
    /** Short, so the test does not wait the default 3 s; long enough that a resubscribe on another node lands inside it. */
    const VACATE_DELAY_MS = 1_500;
    let receiver: Receiver;
    beforeEach(async () => {
      receiver = new Receiver();
      await receiver.start();
    });
    afterEach(async () => receiver.stop());
    const withHooks = () => ({
      HERALD_WEBHOOK_VACATE_DELAY_MS: String(VACATE_DELAY_MS),
      HERALD_APPS: JSON.stringify([
        { id: 'app-id', key: 'app-key', secret: 'app-secret', apiKeys: [DEV_API_KEY], webhooks: [{ url: receiver.url, event_types: ['channel_occupied', 'channel_vacated'] }] },
      ]),
    });
    const occupancyEvents = () => receiver.events().filter((event) => event.channel === 'news').map((event) => event.name);

    it('sends channel_occupied and channel_vacated once cluster-wide, even when the channel moves nodes inside the vacate delay', async () => {
      const [a, b] = [await node(withHooks()), await node(withHooks())];
      const first = pusher(a, '1');
      await subscribed(first, 'news');
      await subscribed(pusher(b, '2'), 'news');
      await receiver.next(named('channel_occupied', { channel: 'news' }));

      // Empty on a while b still has a subscriber: nothing.
      first.unsubscribe('news');
      await disconnectAll(pusherClients.splice(1));
      await eventually(async () => expect(await (await serverSdk(a).get({ path: '/channels/news' })).json()).toMatchObject({ occupied: false }));
      // Now empty everywhere; resubscribe on a within the delay: neither vacated nor a second occupied.
      const again = pusher(a, '3');
      await subscribed(again, 'news');
      // Past the vacate delay: still one occupied, no vacated.
      expect(await expectSilence(occupancyEvents, VACATE_DELAY_MS + 500)).toEqual(['channel_occupied']);

      again.unsubscribe('news');
      await receiver.next(named('channel_vacated', { channel: 'news' }), VACATE_DELAY_MS + 3000);
      expect(await expectSilence(occupancyEvents, 300)).toEqual(['channel_occupied', 'channel_vacated']);
    }, 20_000);
  });
});
