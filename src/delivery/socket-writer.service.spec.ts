import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { BusCodec } from '../bus/bus.codec.js';
import type { HeraldConfig } from '../config/herald-config.js';
import { Connection } from '../connections/connection.js';
import { SocketWriter } from './socket-writer.service.js';
import { frameText } from './ws-frame.js';

/** A real WebSocket pair on loopback: the server side is what the writer writes to. */
async function socketPair(): Promise<{ server: WebSocket; client: WebSocket; wss: WebSocketServer }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((resolve) => wss.once('listening', resolve));
  const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  await new Promise((resolve) => client.once('open', resolve));
  return { server: await serverSide, client, wss };
}

const tcpOf = (ws: WebSocket) => (ws as unknown as { _socket: Socket })._socket;

describe('SocketWriter', () => {
  const config = { outboxSize: 4, socketHighWaterMark: 1024 } as HeraldConfig;
  let pair: Awaited<ReturnType<typeof socketPair>>;

  beforeEach(async () => {
    pair = await socketPair();
  });
  afterEach(async () => {
    pair.client.terminate();
    await new Promise((resolve) => pair.wss.close(resolve));
  });

  it('frames text exactly like ws does', async () => {
    const writer = new SocketWriter(config);
    const connection = new Connection('c1', { tenant: 't', scopes: [] }, 'bus', pair.server, new BusCodec(), null);
    const texts = ['a', 'é'.repeat(100), 'x'.repeat(70_000)];
    const received: string[] = [];
    const done = new Promise<void>((resolve) =>
      pair.client.on('message', (data) => {
        received.push(data.toString());
        if (received.length === texts.length) resolve();
      }),
    );
    for (const text of texts) writer.enqueue(connection, frameText(text));
    await done;
    expect(received).toEqual(texts);
  });

  it('writes every frame queued in one turn with a single flush per socket', () => {
    const writer = new SocketWriter(config);
    const connection = new Connection('c1', { tenant: 't', scopes: [] }, 'bus', pair.server, new BusCodec(), null);
    let writes = 0;
    writer.addObserver({ onFramesWritten: () => writes++, onSkipped: () => undefined });
    for (let i = 0; i < 3; i++) writer.enqueue(connection, frameText(`m${i}`));
    writer.flush();
    expect(writes).toBe(1);
    expect(connection.outbox).toBeNull();
  });

  it('holds at most outboxSize frames for a lagging socket, drops the oldest and reports the count first', async () => {
    const writer = new SocketWriter(config);
    const connection = new Connection('c1', { tenant: 't', scopes: [] }, 'bus', pair.server, new BusCodec(), null);
    const skippedReports: number[] = [];
    writer.addObserver({ onFramesWritten: () => undefined, onSkipped: (_c, n) => skippedReports.push(n) });
    tcpOf(pair.client).pause();

    // Fill the kernel buffers until the server's send buffer stays above the high-water mark.
    const big = 'z'.repeat(64 * 1024);
    let sent = 0;
    while ((tcpOf(pair.server).writableLength ?? 0) <= config.socketHighWaterMark) {
      writer.enqueue(connection, frameText(JSON.stringify({ n: sent++, big })));
      writer.flush();
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (let i = 0; i < 10; i++) writer.enqueue(connection, frameText(JSON.stringify({ n: sent++ })));
    writer.flush();
    expect(connection.outbox).toHaveLength(config.outboxSize);
    expect(connection.skipped).toBe(10 - config.outboxSize);

    const messages: { cmd?: string; data?: { skipped: number }; n?: number }[] = [];
    const gotLast = new Promise<void>((resolve) =>
      pair.client.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        messages.push(frame);
        if (frame.n === sent - 1) resolve();
      }),
    );
    tcpOf(pair.client).resume();
    await gotLast;
    const lagIndex = messages.findIndex((m) => m.cmd === 'LAGGED');
    expect(messages[lagIndex].data).toEqual({ skipped: 6 });
    expect(messages.slice(lagIndex + 1).map((m) => m.n)).toEqual([sent - 4, sent - 3, sent - 2, sent - 1]);
    expect(skippedReports).toEqual([6]);
  });

  it('drops queued frames of a closed connection', () => {
    const writer = new SocketWriter(config);
    const connection = new Connection('c1', { tenant: 't', scopes: [] }, 'bus', pair.server, new BusCodec(), null);
    connection.closed = true;
    writer.enqueue(connection, frameText('x'));
    expect(connection.outbox).toBeNull();
  });
});
