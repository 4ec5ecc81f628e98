import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { brokersAvailable, freePort, startNats, startRedis, type Broker } from './support/brokers.js';
import { eventually } from './support/eventually.js';
import { disconnectAll, once, pusherClient, subscribed } from './support/pusher-clients.js';
import type { RunningApp } from './support/start-app.js';
import { TestClient } from './support/ws-client.js';
import { userToken } from './support/tokens.js';

/**
 * Real processes (`node dist/main.js`, built once for this file) on a real Redis and a real NATS:
 * what only a process boundary shows. A SIGKILLed node cannot say goodbye, so its presence members
 * must disappear after the heartbeat timeout, with `member_removed`; a SIGTERMed one drains and
 * removes them itself.
 */
const run = brokersAvailable('redis-server', 'nats-server') ? describe : describe.skip;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const auth = { Authorization: 'Bearer app-api-key' };

interface NodeProcess {
  port: number;
  baseUrl: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

beforeAll(() => {
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`);
}, 120_000);

run.each<'redis' | 'nats'>(['redis', 'nats'])('Herald processes on %s', (adapter) => {
  let broker: Broker;
  let prefix = '';
  const processes: NodeProcess[] = [];
  const clients: unknown[] = [];
  const sockets: TestClient[] = [];

  beforeAll(async () => {
    broker = adapter === 'redis' ? await startRedis() : await startNats();
  });
  afterAll(async () => broker?.stop());
  beforeEach(() => {
    prefix = `p${randomBytes(4).toString('hex')}`;
  });
  afterEach(async () => {
    await disconnectAll(clients.splice(0)).catch(() => undefined);
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
    for (const node of processes.splice(0)) {
      if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
      await node.exited;
    }
  });

  const startNode = async (): Promise<NodeProcess> => {
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: root,
      stdio: 'ignore',
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        HERALD_ADAPTER: adapter,
        ...(adapter === 'redis' ? { REDIS_URL: broker.url } : { NATS_URL: broker.url }),
        HERALD_CLUSTER_PREFIX: prefix,
        HERALD_NODE_HEARTBEAT_MS: '200',
        HERALD_NODE_TIMEOUT_MS: '1000',
        HERALD_SHUTDOWN_GRACE_MS: '3000',
      },
    });
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const node = { port, baseUrl: `http://127.0.0.1:${port}`, child, exited };
    processes.push(node);
    await eventually(async () => expect((await request(node.baseUrl).get('/health/ready')).status).toBe(200), 15_000, 100);
    return node;
  };
  const pusher = (node: NodeProcess, userId: string) => {
    const client = pusherClient({ port: node.port } as RunningApp, { userId });
    clients.push(client);
    return client;
  };

  it('delivers across two processes', async () => {
    const [a, b] = [await startNode(), await startNode()];
    const client = await TestClient.connect(`ws://127.0.0.1:${b.port}/ws/bus?token=${userToken({ sub: 'u1' })}`);
    sockets.push(client);
    const res = await request(a.baseUrl).post('/api/messages').set(auth).send({ cmd: 'hello', data: { from: 'a' }, to: { user: 'u1' } });
    expect(res.status).toBe(202);
    expect(await client.next((frame: { cmd: string }) => frame.cmd === 'hello')).toMatchObject({ data: { from: 'a' } });
  });

  it('removes the presence members of a SIGKILLed node after the heartbeat timeout, with member_removed', async () => {
    const [a, b] = [await startNode(), await startNode()];
    const observer = pusher(a, 'watcher');
    const watching = await subscribed(observer, 'presence-room', 5000);
    const member = pusher(b, 'bob');
    const added = once(watching, 'pusher:member_added', 5000);
    await subscribed(member, 'presence-room', 5000);
    expect((await added).id).toBe('bob');
    await eventually(async () => expect((await request(a.baseUrl).get('/api/connections').set(auth)).body.connections).toBe(2));

    const removed = once<{ id: string }>(watching, 'pusher:member_removed', 5000);
    const killedAt = Date.now();
    b.child.kill('SIGKILL');
    await b.exited;
    member.disconnect();
    expect((await removed).id).toBe('bob');
    // Not before the node is overdue (1 s), and not long after (timeout + a couple of heartbeats).
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(800);
    expect((await request(a.baseUrl).get('/api/connections').set(auth)).body.connections).toBe(1);
  });

  it('a SIGTERMed node drains: exit 0, its presence members removed cluster-wide at once', async () => {
    const [a, b] = [await startNode(), await startNode()];
    const observer = pusher(a, 'watcher');
    const watching = await subscribed(observer, 'presence-room', 5000);
    const member = pusher(b, 'bob');
    await subscribed(member, 'presence-room', 5000);
    const removed = once<{ id: string }>(watching, 'pusher:member_removed', 3000);
    b.child.kill('SIGTERM');
    expect((await removed).id).toBe('bob');
    expect(await b.exited).toBe(0);
    member.disconnect();
  });
});
