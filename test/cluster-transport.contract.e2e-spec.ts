import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { BroadcastService, type PublishRequest } from '../src/broadcast/broadcast.service.js';
import type { Target } from '../src/broadcast/envelope.js';
import { CLUSTER_TRANSPORT, type ClusterTransport } from '../src/cluster/cluster.transport.js';
import { ConnectionRegistry } from '../src/connections/connection-registry.service.js';
import { TransportUnavailableError, ValidationFailedError } from '../src/errors/app.errors.js';
import { brokersAvailable, startNats, startRedis, type Broker } from './support/brokers.js';
import { eventually } from './support/eventually.js';
import { startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';

/**
 * One contract, three transports. Local runs on one node; Redis and NATS on two nodes sharing a real
 * broker started for this file, publishing on the first node and receiving on the second, so every
 * case proves the envelope crossed the broker.
 */
const APPS = JSON.stringify([
  { id: 'app-a', key: 'key-a', secret: 'secret-a', apiKeys: ['api-key-a-123'], enableClientMessages: true },
  { id: 'app-b', key: 'key-b', secret: 'secret-b', apiKeys: ['api-key-b-123'] },
]);
const run = brokersAvailable('redis-server', 'nats-server') ? describe : describe.skip;

type Kind = 'local' | 'redis' | 'nats';
type BusFrame = { id: string | null; cmd: string; data: unknown };

run.each<Kind>(['local', 'redis', 'nats'])('ClusterTransport contract: %s', (kind) => {
  let broker: Broker | undefined;
  let nodes: RunningApp[] = [];
  const env = (): Record<string, string> => ({
    HERALD_APPS: APPS,
    HERALD_ADAPTER: kind,
    HERALD_CLUSTER_PREFIX: `t${randomBytes(4).toString('hex')}`,
    ...(kind === 'redis' && broker ? { REDIS_URL: broker.url } : {}),
    ...(kind === 'nats' && broker ? { NATS_URL: broker.url } : {}),
  });
  const publisher = () => nodes[0];
  const receiver = () => nodes[nodes.length - 1];
  const ready = (node: RunningApp) => eventually(async () => expect((await request(node.baseUrl).get('/health/ready')).status).toBe(200), 5000);
  const publish = (node: RunningApp, request: Omit<PublishRequest, 'origin' | 'tenant'> & { tenant?: string }) =>
    node.app.get(BroadcastService).publish({ tenant: 'app-a', origin: 'rest', ...request });
  const busFor = (node: RunningApp, appKey: string, claims: Parameters<typeof userToken>[0]) =>
    node.connect(`/ws/bus?app=${appKey}&token=${userToken({ ...claims, secret: appKey === 'key-a' ? 'secret-a' : 'secret-b' })}`);
  const bus = (node: RunningApp, claims: Parameters<typeof userToken>[0] = {}) => busFor(node, 'key-a', claims);
  const cmd = (name: string) => (frame: BusFrame) => frame.cmd === name;

  beforeAll(async () => {
    if (kind === 'redis') broker = await startRedis();
    if (kind === 'nats') broker = await startNats();
  });
  afterAll(async () => broker?.stop());

  beforeEach(async () => {
    const shared = env();
    nodes = [await startApp(shared)];
    if (kind !== 'local') nodes.push(await startApp(shared));
    for (const node of nodes) await ready(node);
  });
  afterEach(async () => {
    await Promise.all(nodes.map((node) => node.close()));
    nodes = [];
  });

  it('reports its kind and a healthy broker in readiness', async () => {
    expect(publisher().app.get<ClusterTransport>(CLUSTER_TRANSPORT).kind).toBe(kind);
    const body = (await request(receiver().baseUrl).get('/health/ready')).body;
    expect(body.info.transport).toMatchObject({ status: 'up', kind });
  });

  it.each<[string, Target, Parameters<typeof userToken>[0]]>([
    ['tenant', { kind: 'tenant' }, { sub: 'u1' }],
    ['users', { kind: 'users', userIds: ['u1'] }, { sub: 'u1' }],
    ['session', { kind: 'session', sessionId: 's1' }, { sub: 'u1', sid: 's1' }],
    ['token', { kind: 'token', tokenId: 'j1' }, { sub: 'u1', jti: 'j1' }],
    ['filter', { kind: 'filter', filter: { userIds: ['u1'], protocols: ['bus'] } }, { sub: 'u1' }],
  ])('delivers a %s target to the matching connection only', async (_name, target, claims) => {
    const match = await bus(receiver(), claims);
    const other = await bus(receiver(), { sub: 'u2', sid: 's2', jti: 'j2' });
    await publish(publisher(), { target, event: 'hello', data: { n: 1 } });
    expect(await match.next<BusFrame>(cmd('hello'))).toMatchObject({ cmd: 'hello', data: { n: 1 } });
    if (target.kind !== 'tenant') await other.expectSilence((frame) => frame.cmd === 'hello');
  });

  it('delivers a connections target by connection id', async () => {
    const client = await bus(receiver(), { sub: 'u1' });
    const [connection] = [...receiver().app.get(ConnectionRegistry).all()].map((c) => c.id);
    await publish(publisher(), { target: { kind: 'connections', connectionIds: [connection] }, event: 'direct', data: 1 });
    expect(await client.next<BusFrame>(cmd('direct'))).toMatchObject({ data: 1 });
  });

  it('delivers a channel target to a channel subscriber of another protocol', async () => {
    const pusher = await receiver().connect('/app/key-a?protocol=7');
    await pusher.next((frame: { event: string }) => frame.event === 'pusher:connection_established');
    pusher.send({ event: 'pusher:subscribe', data: { channel: 'news' } });
    await pusher.next((frame: { event: string }) => frame.event === 'pusher_internal:subscription_succeeded');
    await publish(publisher(), { target: { kind: 'channel', channel: 'news' }, event: 'update', data: 'x' });
    expect(await pusher.next((frame: { event: string }) => frame.event === 'update')).toMatchObject({ channel: 'news', data: 'x' });
  });

  it('keeps tenants apart across nodes', async () => {
    const a = await busFor(receiver(), 'key-a', { sub: 'u1' });
    const b = await busFor(receiver(), 'key-b', { sub: 'u1' });
    await publish(publisher(), { tenant: 'app-b', target: { kind: 'tenant' }, event: 'only-b', data: null });
    await b.next<BusFrame>(cmd('only-b'));
    await a.expectSilence((frame) => frame.cmd === 'only-b');
  });

  it("delivers one publisher's envelopes in publish order", async () => {
    const client = await bus(receiver(), { sub: 'u1' });
    const count = 300;
    await Promise.all(Array.from({ length: count }, (_, n) => publish(publisher(), { target: { kind: 'tenant' }, event: 'seq', data: n })));
    const received: number[] = [];
    while (received.length < count) received.push((await client.next<BusFrame>(cmd('seq'), 5000)).data as number);
    expect(received).toEqual(Array.from({ length: count }, (_, n) => n));
  });

  it('carries the same envelope id, time and channel position to every node', async () => {
    const local = await bus(publisher(), { sub: 'u1' });
    const remote = await bus(receiver(), { sub: 'u1' });
    const envelope = await publish(publisher(), { target: { kind: 'tenant' }, event: 'same', data: null });
    const [a, b] = await Promise.all([local.next<BusFrame>(cmd('same')), remote.next<BusFrame>(cmd('same'))]);
    expect(a.id).toBe(envelope.id);
    expect(b.id).toBe(envelope.id);
  });

  if (kind === 'local') {
    it('accepts function predicates on a single node', async () => {
      const client = await bus(publisher(), { sub: 'u1' });
      await publish(publisher(), { target: { kind: 'predicate', test: (identity) => identity.userId === 'u1' }, event: 'p', data: null });
      await client.next<BusFrame>(cmd('p'));
    });
  } else {
    it('refuses function predicates, which cannot cross nodes', async () => {
      await expect(publish(publisher(), { target: { kind: 'predicate', test: () => true }, event: 'p', data: null })).rejects.toBeInstanceOf(ValidationFailedError);
    });

    it('refuses publishes while the broker is down (503 + Retry-After), reports it, and recovers with everything after the reconnect delivered', async () => {
      const client = await bus(receiver(), { sub: 'u1' });
      await broker!.stop();
      await eventually(async () => expect((await request(receiver().baseUrl).get('/health/ready')).status).toBe(503), 5000);
      await expect(publish(publisher(), { target: { kind: 'tenant' }, event: 'lost', data: null })).rejects.toBeInstanceOf(TransportUnavailableError);
      const refused = await request(publisher().baseUrl).post('/api/messages').set('Authorization', 'Bearer api-key-a-123').send({ cmd: 'x', data: 1 });
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBeDefined();
      // The node keeps serving its own sockets meanwhile.
      client.send({ id: 'p', cmd: 'ping', data: {} });
      await client.next<BusFrame>(cmd('ack'));

      await broker!.start();
      for (const node of nodes) await ready(node);
      const health = (await request(receiver().baseUrl).get('/health/ready')).body.info.transport;
      expect(Number(health.reconnections ?? 0) + Number(health.resubscriptions ?? 0)).toBeGreaterThan(0);
      for (let n = 0; n < 20; n++) await publish(publisher(), { target: { kind: 'tenant' }, event: 'after', data: n });
      const received: unknown[] = [];
      while (received.length < 20) received.push((await client.next<BusFrame>(cmd('after'))).data);
      expect(received).toEqual(Array.from({ length: 20 }, (_, n) => n));
      await client.expectSilence((frame) => frame.cmd === 'lost', 50);
    });
  }
});

