import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { BusCodec } from '../bus/bus.codec.js';
import type { HeraldConfig } from '../config/herald-config.js';
import { Connection } from '../connections/connection.js';
import { SocketWriter } from './socket-writer.service.js';
import { frameText } from './ws-frame.js';

/** A real WebSocket pair on loopback: the server side is what the writer writes to. */
async function socketPair(wss: WebSocketServer): Promise<{ server: WebSocket; client: WebSocket }> {
  const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  await new Promise((resolve) => client.once('open', resolve));
  return { server: await serverSide, client };
}

const tcpOf = (ws: WebSocket) => (ws as unknown as { _socket: Socket })._socket;
const turn = () => new Promise((resolve) => setImmediate(resolve));

const BASE = {
  outboxSize: 4,
  socketHighWaterMark: 16 * 1024,
  connectionBufferBytes: 256 * 1024,
  connectionReplayBytes: 1024 * 1024,
  nodeOutboundBytes: 1024 * 1024 * 1024,
} as HeraldConfig;

describe('SocketWriter', () => {
  let wss: WebSocketServer;
  let pairs: { server: WebSocket; client: WebSocket }[];
  let writer: SocketWriter;
  let config: HeraldConfig;

  beforeEach(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    await new Promise((resolve) => wss.once('listening', resolve));
    pairs = [];
    config = { ...BASE } as HeraldConfig;
    writer = new SocketWriter(config);
  });
  afterEach(async () => {
    for (const pair of pairs) pair.client.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });

  /** A connection attached to the writer as ConnectionLifecycle does. */
  const connect = async (): Promise<{ connection: Connection; client: WebSocket; server: WebSocket }> => {
    const pair = await socketPair(wss);
    pairs.push(pair);
    const connection = new Connection(`c${pairs.length}`, { tenant: 't', scopes: [] }, 'bus', pair.server, new BusCodec(), null);
    const own = writer;
    connection.outbound = own;
    pair.server.once('close', () => own.release(connection));
    return { connection, ...pair };
  };

  /** Writes big frames until the server side is behind (send buffer above the high-water mark, waiting for drain). */
  const fallBehind = async (connection: Connection, client: WebSocket): Promise<number> => {
    tcpOf(client).pause();
    const big = 'z'.repeat(32 * 1024);
    let sent = 0;
    while (!connection.awaitingDrain) {
      writer.enqueue(connection, frameText(JSON.stringify({ n: sent++, big })));
      writer.flush();
      await turn();
    }
    return sent;
  };

  const collect = (client: WebSocket, until: (frame: Record<string, unknown>) => boolean) => {
    const frames: Record<string, unknown>[] = [];
    const done = new Promise<Record<string, unknown>[]>((resolve) =>
      client.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as Record<string, unknown>;
        frames.push(frame);
        if (until(frame)) resolve(frames);
      }),
    );
    return done;
  };

  it('frames text exactly like ws does', async () => {
    const { connection, client } = await connect();
    const texts = ['a', 'é'.repeat(100), 'x'.repeat(70_000)];
    const received: string[] = [];
    const done = new Promise<void>((resolve) =>
      client.on('message', (data) => {
        received.push(data.toString());
        if (received.length === texts.length) resolve();
      }),
    );
    for (const text of texts) writer.enqueue(connection, frameText(text));
    await done;
    expect(received).toEqual(texts);
  });

  it('writes every frame queued in one turn, replies included, with a single flush per socket', async () => {
    const { connection, client } = await connect();
    let writes = 0;
    writer.addObserver({ onFramesWritten: () => writes++, onSkipped: () => undefined });
    const done = collect(client, (frame) => frame.n === 3);
    for (let i = 0; i < 2; i++) writer.enqueue(connection, frameText(JSON.stringify({ n: i })));
    connection.sendText(JSON.stringify({ n: 2, reply: true }));
    writer.enqueue(connection, frameText(JSON.stringify({ n: 3 })));
    writer.flush();
    expect(writes).toBe(1);
    expect(connection.outbox?.length).toBe(0);
    // Replies keep their place among broadcasts.
    expect((await done).map((f) => f.n)).toEqual([0, 1, 2, 3]);
  });

  it('writes a burst of far more than outboxSize frames in one turn to a writable socket whole, with no LAGGED', async () => {
    const { connection, client } = await connect();
    const count = 1000;
    const done = collect(client, (frame) => frame.n === count - 1);
    for (let i = 0; i < count; i++) writer.enqueue(connection, frameText(JSON.stringify({ n: i })));
    const frames = await done;
    expect(frames.map((f) => f.n)).toEqual([...Array(count).keys()]);
    expect(connection.skipped).toBe(0);
  });

  it('holds at most outboxSize broadcasts for a socket that is behind, drops the oldest and reports the count first', async () => {
    const { connection, client } = await connect();
    const skippedReports: number[] = [];
    writer.addObserver({ onFramesWritten: () => undefined, onSkipped: (_c, n) => skippedReports.push(n) });
    let sent = await fallBehind(connection, client);
    for (let i = 0; i < 10; i++) writer.enqueue(connection, frameText(JSON.stringify({ n: sent++ })));
    const queued = connection.outbox?.length ?? 0;
    expect(connection.outbox?.dataCount).toBe(config.outboxSize);
    const skipped = connection.skipped;
    expect(skipped).toBeGreaterThanOrEqual(10 - config.outboxSize);

    const done = collect(client, (frame) => frame.n === sent - 1);
    tcpOf(client).resume();
    const messages = await done;
    const lagIndex = messages.findIndex((m) => m.cmd === 'LAGGED');
    expect(messages[lagIndex].data).toEqual({ skipped });
    expect(messages.slice(lagIndex + 1).map((m) => m.n)).toEqual([sent - 4, sent - 3, sent - 2, sent - 1]);
    expect(queued).toBe(config.outboxSize);
    expect(skippedReports).toEqual([skipped]);
  });

  it('keeps send buffer + outbox of a socket that is behind within connectionBufferBytes', async () => {
    config.outboxSize = 10_000;
    config.connectionBufferBytes = 128 * 1024;
    const { connection, client } = await connect();
    let sent = await fallBehind(connection, client);
    const frame = (n: number) => frameText(JSON.stringify({ n, pad: 'p'.repeat(4000) }));
    for (let i = 0; i < 200; i++) writer.enqueue(connection, frame(sent++));
    const held = tcpOf(connection.socket as WebSocket).writableLength + (connection.outbox?.bytes ?? 0);
    expect(held).toBeLessThanOrEqual(config.connectionBufferBytes);
    expect(connection.skipped).toBeGreaterThan(0);
    expect(writer.outboundBytes).toBe(connection.sentBacklog + (connection.outbox?.bytes ?? 0));
  });

  it('never skips replies; replies overflowing the budget close the connection with 1008', async () => {
    config.connectionBufferBytes = 64 * 1024;
    const { connection, client } = await connect();
    await fallBehind(connection, client);
    const broadcastsQueued = connection.outbox?.dataCount ?? 0;
    const skippedBefore = connection.skipped;
    const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
    let replies = 0;
    while (connection.socket.readyState === WebSocket.OPEN) {
      connection.sendText(JSON.stringify({ id: 'x'.repeat(8000), cmd: 'ack', n: replies++ }));
      // Only the broadcasts queued before are skipped to make room, never a reply.
      expect(connection.skipped - skippedBefore).toBeLessThanOrEqual(broadcastsQueued);
    }
    expect(replies * 8000).toBeLessThan(config.connectionBufferBytes + 16_000);
    tcpOf(client).resume();
    expect(await closed).toBe(1008);
    expect(writer.outboundBytes).toBe(0);
  });

  it('over the node budget, skips the laggiest connection forward first and leaves healthy ones alone', async () => {
    config.outboxSize = 10_000;
    config.connectionBufferBytes = 4 * 1024 * 1024;
    const small = await connect();
    const large = await connect();
    const healthy = await connect();
    await fallBehind(small.connection, small.client);
    await fallBehind(large.connection, large.client);
    const frame = frameText(JSON.stringify({ pad: 'q'.repeat(8000) }));
    for (let i = 0; i < 5; i++) writer.enqueue(small.connection, frame);
    for (let i = 0; i < 60; i++) writer.enqueue(large.connection, frame);
    config.nodeOutboundBytes = writer.outboundBytes - 100 * 1024;
    const done = collect(healthy.client, (f) => f.last === true);
    writer.enqueue(healthy.connection, frameText(JSON.stringify({ last: true })));
    writer.flush();
    expect(writer.outboundBytes).toBeLessThanOrEqual(config.nodeOutboundBytes);
    expect(large.connection.skipped).toBeGreaterThan(0);
    expect(small.connection.skipped).toBe(0);
    await done;
    expect(healthy.connection.skipped).toBe(0);
    // While the node stays over, a connection that is behind only counts its broadcasts (skip forward to live).
    config.nodeOutboundBytes = 64 * 1024;
    const before = large.connection.skipped;
    for (let i = 0; i < 10; i++) writer.enqueue(large.connection, frame);
    expect(large.connection.outbox?.dataCount).toBe(0);
    expect(large.connection.skipped).toBeGreaterThanOrEqual(before + 10);
  });

  it('drops queued frames of a closed connection', () => {
    const connection = new Connection('c1', { tenant: 't', scopes: [] }, 'bus', {} as WebSocket, new BusCodec(), null);
    connection.closed = true;
    writer.enqueue(connection, frameText('x'));
    expect(connection.outbox).toBeNull();
    expect(writer.outboundBytes).toBe(0);
  });
});
