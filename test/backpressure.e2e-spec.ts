import { BroadcastService } from '../src/broadcast/broadcast.service.js';
import type { Connection } from '../src/connections/connection.js';
import { ConnectionRegistry } from '../src/connections/connection-registry.service.js';
import { SocketWriter } from '../src/delivery/socket-writer.service.js';
import type { RpcSession } from '../src/rpc/rpc.session.js';
import { eventually } from './support/eventually.js';
import { PausedWsClient } from './support/raw-ws.js';
import { startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';

type BusFrame = { id: string | null; cmd: string; data: Record<string, unknown> };

/**
 * Loss only where the protocol says so, and bounded memory for clients that do not read: real
 * sockets, with paused readers that complete the WebSocket handshake and then stop reading.
 */
describe('backpressure and byte budgets', () => {
  let server: RunningApp | undefined;
  const paused: PausedWsClient[] = [];
  afterEach(async () => {
    for (const client of paused.splice(0)) client.destroy();
    await server?.close();
    server = undefined;
  });

  const app = () => {
    if (!server) throw new Error('no server');
    return server;
  };
  const publishTenant = (n: number, pad = '') =>
    app().app.get(BroadcastService).publish({ tenant: 'app-id', target: { kind: 'tenant' }, event: 'ACTION', data: { n, pad }, origin: 'rest' });
  const pausedClient = async (path: string) => {
    const client = await PausedWsClient.open(app().port, path);
    paused.push(client);
    return client;
  };
  const connections = () => [...app().app.get(ConnectionRegistry).all()];
  /** What the node holds for a connection: its send buffer plus its outbox. */
  const held = (connection: Connection) => (connection.rawSocket?.writableLength ?? 0) + (connection.outbox?.bytes ?? 0);

  it('delivers a burst of far more than outboxSize envelopes in one turn to a healthy reader whole, without LAGGED', async () => {
    server = await startApp();
    const reader = await app().connect(`/ws/bus?token=${userToken({ sub: 'burst' })}`);
    const total = 600;
    // One turn: every publish resolves in microtasks before the writer's flush.
    await Promise.all(Array.from({ length: total }, (_, n) => publishTenant(n)));
    const last = await reader.next<BusFrame>((f) => f.cmd === 'ACTION' && f.data.n === total - 1, 10_000);
    expect(last).toBeDefined();
    const actions = reader.frames.filter((f) => (f as BusFrame).cmd === 'ACTION') as BusFrame[];
    expect([...actions.map((f) => f.data.n), last.data.n]).toEqual([...Array(total).keys()]);
    expect(reader.frames.some((f) => (f as BusFrame).cmd === 'LAGGED')).toBe(false);
  });

  it('holds at most the connection budget (send buffer + outbox) for paused readers while a healthy reader gets everything', async () => {
    server = await startApp({ HERALD_CONNECTION_BUFFER_BYTES: String(128 * 1024) });
    for (let i = 0; i < 10; i++) await pausedClient(`/ws/bus?token=${userToken({ sub: `paused-${i}` })}`);
    const healthy = await app().connect(`/ws/bus?token=${userToken({ sub: 'healthy' })}`);
    const total = 3000;
    const pad = 'x'.repeat(8 * 1024);
    let worst = 0;
    let next = 0;
    const inFlight = async () => {
      while (next < total) {
        await publishTenant(next++, pad);
        for (const connection of connections()) if (connection.identity.userId !== 'healthy') worst = Math.max(worst, held(connection));
      }
    };
    await Promise.all(Array.from({ length: 8 }, inFlight));
    await eventually(() => expect(healthy.frames.filter((f) => (f as BusFrame).cmd === 'ACTION')).toHaveLength(total), 30_000);
    expect(healthy.frames.map((f) => (f as BusFrame).data.n)).toEqual([...Array(total).keys()]);
    // 24 MB were published to each paused reader; the node holds at most its budget (+ one frame written past the mark).
    expect(worst).toBeGreaterThan(64 * 1024);
    expect(worst).toBeLessThanOrEqual(128 * 1024 + 9 * 1024);
    expect(app().app.get(SocketWriter).outboundBytes).toBeLessThanOrEqual(10 * (128 * 1024 + 9 * 1024));
  }, 60_000);

  it('holds the requests of a bus client that sends but never reads (its acks do not pile up), and answers every one once it reads', async () => {
    server = await startApp({ HERALD_MAX_FRAMES_PER_SECOND: '-1' });
    const client = await pausedClient(`/ws/bus?token=${userToken({ sub: 'echo' })}`);
    const id = 'i'.repeat(60_000);
    const [connection] = connections();
    const total = 300; // 18 MB of acks if they were all produced
    let worst = 0;
    for (let n = 0; n < total; n++) {
      client.send({ id: `${n}:${id}`, cmd: 'ping', data: {} });
      if (n % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 5));
      worst = Math.max(worst, held(connection));
    }
    // Give the node time to take whatever it will from the socket: it stops once the client's send buffer is behind.
    for (let n = 0; n < 20; n++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      worst = Math.max(worst, held(connection));
    }
    // The send buffer's high-water mark (64 KiB) plus the one ack in flight when it was crossed.
    expect(worst).toBeLessThanOrEqual(64 * 1024 + 2 * 61_000);
    expect(connection.socket.readyState).toBe(1);
    const isAck = (text: string) => (JSON.parse(text) as BusFrame).cmd === 'ack';
    const { texts, code } = await client.resume((all) => all.filter(isAck).length === total, 30_000);
    expect(code).toBeNull();
    const acks = texts.filter(isAck).map((text) => Number(String((JSON.parse(text) as BusFrame).id).split(':')[0]));
    expect(acks).toEqual([...Array(total).keys()]);
  }, 60_000);

  it('answers recovered:false instead of queueing a replay beyond the replay budget, and holds further requests while the client is behind', async () => {
    server = await startApp({ HERALD_MAX_FRAMES_PER_SECOND: '-1' });
    const channel = 'heavy';
    const pad = 'h'.repeat(60_000);
    let epoch = '';
    for (let n = 0; n < 30; n++) {
      const envelope = await app().app.get(BroadcastService).publish({ tenant: 'app-id', target: { kind: 'channel', channel }, event: 'e', data: { n, pad }, origin: 'rest' });
      epoch = envelope.position?.epoch ?? '';
    }
    const client = await pausedClient(`/ws/rpc?token=${userToken({ sub: 'loop', scope: ['subscribe'], authorizedChannels: ['*'] })}`);
    const [connection] = connections() as Connection<RpcSession>[];
    const pairs = 100; // 180 MB of replays if each were sent: 1.8 MB of history per subscribe
    let worst = 0;
    for (let n = 0; n < pairs; n++) {
      client.send({ id: 2 * n + 1, method: 'subscribe', params: { channel, since: { offset: 0, epoch } } });
      client.send({ id: 2 * n + 2, method: 'unsubscribe', params: { channel } });
      if (n % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 10));
      worst = Math.max(worst, held(connection));
    }
    for (let n = 0; n < 20; n++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      worst = Math.max(worst, held(connection));
    }
    // The node holds the buffer budget + the replay budget at most, however many pairs were sent.
    expect(worst).toBeLessThanOrEqual(256 * 1024 + 1024 * 1024 + 70_000);
    expect(connection.socket.readyState).toBe(1);
    // Reading again, the client gets every reply (replies are never skipped), in order, and stays connected.
    type Reply = { id?: number; requestId?: number; result?: { recovered?: boolean } };
    const isReply = (text: string) => {
      const frame = JSON.parse(text) as Reply & { method?: string };
      return frame.method === undefined;
    };
    const { texts, code } = await client.resume((all) => all.filter(isReply).length === 2 * pairs, 30_000);
    expect(code).toBeNull();
    const replies = texts.filter(isReply).map((text) => JSON.parse(text) as Reply);
    expect(replies.map((r) => r.requestId ?? r.id)).toEqual(Array.from({ length: 2 * pairs }, (_, i) => i + 1));
    const recovered = replies.filter((_, i) => i % 2 === 0).map((r) => r.result?.recovered);
    // 1.8 MB of history is more than the 1 MiB replay budget: never replayed in part.
    expect(recovered).not.toContain(true);
    expect(recovered).toContain(false);
    expect(connection.socket.readyState).toBe(1);
  }, 90_000);
});
