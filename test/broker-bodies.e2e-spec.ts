import { randomBytes } from 'node:crypto';
import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import request from 'supertest';
import { CLUSTER_TRANSPORT, type ClusterTransport } from '../src/cluster/cluster.transport.js';
import type { NatsTransport } from '../src/cluster/nats.transport.js';
import type { RedisTransport } from '../src/cluster/redis.transport.js';
import { brokersAvailable, startNats, startRedis, type Broker } from './support/brokers.js';
import { eventually } from './support/eventually.js';
import { startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';

/**
 * Broker bodies are not trusted: a message is for the tenant of the channel/subject it arrived on,
 * and its `filter` is parsed, not cast. Raw messages are written straight to the real broker, as a
 * compromised or confused peer (or another cluster on a shared broker) would.
 */
const APPS = JSON.stringify([
  { id: 'app-a', key: 'key-a', secret: 'secret-a', apiKeys: ['api-key-a-123'] },
  { id: 'app-b', key: 'key-b', secret: 'secret-b', apiKeys: ['api-key-b-123'] },
]);
const run = brokersAvailable('redis-server', 'nats-server') ? describe : describe.skip;
type BusFrame = { id: string | null; cmd: string; data: unknown };

const body = (tenant: string, target: unknown, event: string) =>
  JSON.stringify({ id: randomBytes(6).toString('hex'), tenant, target, event, data: { forged: true }, createTime: new Date().toISOString(), publishedAt: Date.now(), origin: 'rest' });

run.each(['redis', 'nats'] as const)('broker bodies on %s', (kind) => {
  let broker: Broker;
  let node: RunningApp;
  let send: (tenant: string, text: string) => Promise<void>;
  let closeRaw: () => Promise<void>;
  const prefix = `b${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    broker = kind === 'redis' ? await startRedis() : await startNats({ jetstream: false });
    node = await startApp({ HERALD_APPS: APPS, HERALD_ADAPTER: kind, HERALD_CLUSTER_PREFIX: prefix, ...(kind === 'redis' ? { REDIS_URL: broker.url } : { NATS_URL: broker.url }) });
    await eventually(async () => expect((await request(node.baseUrl).get('/health/ready')).status).toBe(200), 5000);
    if (kind === 'redis') {
      const redis = new Redis(broker.url);
      send = async (tenant, text) => void (await redis.publish(`${prefix}:t:${tenant}`, text));
      closeRaw = async () => void (await redis.quit());
    } else {
      const nats: NatsConnection = await natsConnect({ servers: broker.url });
      send = async (tenant, text) => {
        nats.publish(`${prefix}.t.${tenant}`, text);
        await nats.flush();
      };
      closeRaw = () => nats.close();
    }
  });
  afterAll(async () => {
    await closeRaw?.();
    await node?.close();
    await broker?.stop();
  });
  const bodies = () => {
    const transport = node.app.get<ClusterTransport>(CLUSTER_TRANSPORT) as RedisTransport | NatsTransport;
    return transport.bodies;
  };
  const bus = (key: string, secret: string, sub: string) => node.connect(`/ws/bus?app=${key}&token=${userToken({ sub, secret })}`);

  it('takes the tenant from the channel/subject and refuses a body naming another tenant (counted)', async () => {
    const onB = await bus('key-b', 'secret-b', 'u1');
    const onA = await bus('key-a', 'secret-a', 'u1');
    const before = bodies().tenantMismatches;
    // Arrives on app-a's channel, says app-b; then a well-formed one on the same channel, which goes through, only to app-a.
    await send('app-a', body('app-b', { kind: 'tenant' }, 'cross'));
    await send('app-a', body('app-a', { kind: 'tenant' }, 'own'));
    expect(await onA.next<BusFrame>((frame) => frame.cmd === 'own')).toMatchObject({ cmd: 'own' });
    await onB.expectSilence((frame) => frame.cmd === 'cross' || frame.cmd === 'own');
    await onA.expectSilence((frame) => frame.cmd === 'cross');
    expect(bodies().tenantMismatches).toBe(before + 1);
  });

  it('parses filter targets strictly: a string userIds does not match by substring, a misspelt field does not widen', async () => {
    const u1 = await bus('key-a', 'secret-a', 'u1');
    const u2 = await bus('key-a', 'secret-a', 'u2');
    const before = bodies().malformed;
    await send('app-a', body('app-a', { kind: 'filter', filter: { userIds: 'u1x' } }, 'substring'));
    await send('app-a', body('app-a', { kind: 'filter', filter: { userId: ['u1'] } }, 'widened'));
    await send('app-a', body('app-a', { kind: 'filter', filter: { userIds: ['u1'] } }, 'exact'));
    expect(await u1.next<BusFrame>((frame) => frame.cmd === 'exact')).toMatchObject({ cmd: 'exact' });
    await u1.expectSilence((frame) => frame.cmd === 'substring' || frame.cmd === 'widened');
    await u2.expectSilence((frame) => frame.cmd === 'substring' || frame.cmd === 'widened' || frame.cmd === 'exact');
    expect(bodies().malformed).toBe(before + 2);
  });
});
