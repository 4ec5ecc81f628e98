import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { ShutdownService } from '../src/health/shutdown.service.js';
import { brokersAvailable, startRedis, type Broker } from './support/brokers.js';
import { eventually } from './support/eventually.js';
import { clearFayeCloseTimer, connected, disconnectAll, fayeSocketOf, once, pusherClient, serverSdk, subscribed } from './support/pusher-clients.js';
import { JSONRPC, RpcClient } from './support/rpc-framings.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';

/**
 * Several Herald nodes (Nest apps in this process, each with its own connections) sharing one real
 * Redis started for this file: everything a user of one node must see from the others.
 */
const run = brokersAvailable('redis-server') ? describe : describe.skip;
const auth = { Authorization: `Bearer ${DEV_API_KEY}` };

run('Redis cluster (several nodes)', () => {
  let redis: Broker;
  let nodes: RunningApp[] = [];
  let prefix = '';
  const pusherClients: unknown[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis?.stop());
  beforeEach(() => {
    prefix = `c${randomBytes(4).toString('hex')}`;
  });
  afterEach(async () => {
    await disconnectAll(pusherClients.splice(0));
    await Promise.all(nodes.map((node) => node.close()));
    nodes = [];
  });

  const node = async (env: Record<string, string> = {}): Promise<RunningApp> => {
    const started = await startApp({ HERALD_ADAPTER: 'redis', REDIS_URL: redis.url, HERALD_CLUSTER_PREFIX: prefix, HERALD_NODE_HEARTBEAT_MS: '100', HERALD_NODE_TIMEOUT_MS: '600', ...env });
    nodes.push(started);
    await eventually(async () => expect((await request(started.baseUrl).get('/health/ready')).status).toBe(200), 5000);
    return started;
  };
  const pusher = (server: RunningApp, userId: string) => {
    const client = pusherClient(server, { userId });
    pusherClients.push(client);
    return client;
  };

  it('revokes a session on every node, and a node started later refuses the revoked token too', async () => {
    const [a, b] = [await node(), await node()];
    const token = userToken({ sub: 'u1', sid: 's1', iat: Math.floor(Date.now() / 1000) - 5 });
    const onB = await b.connect(`/ws/bus?token=${token}`);
    const res = await request(a.baseUrl).post('/api/sessions/s1/revoke').set(auth);
    expect(res.status).toBe(200);
    expect(await onB.closed()).toMatchObject({ code: 4001, reason: 'Session revoked' });
    expect((await b.open(`/ws/bus?token=${token}`).closed()).code).toBe(4401);
    const c = await node();
    expect((await c.open(`/ws/bus?token=${token}`).closed()).code).toBe(4401);
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
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(removed).toEqual([]);
    await disconnectAll([onB]);
    await eventually(() => expect(removed).toEqual(['ann']));
    expect(added).toEqual(['ann']);
  });

  it('reports channel occupancy and subscription counts cluster-wide (Pusher HTTP API)', async () => {
    const [a, b] = [await node(), await node()];
    await subscribed(pusher(a, '1'), 'news');
    await subscribed(pusher(b, '2'), 'news');
    await eventually(async () => {
      const res = await serverSdk(a).get({ path: '/channels/news', params: { info: 'subscription_count' } });
      expect(await res.json()).toMatchObject({ occupied: true, subscription_count: 2 });
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
});
