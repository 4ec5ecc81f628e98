import { jest } from '@jest/globals';
import request from 'supertest';
import { BusCodec } from '../src/bus/bus.codec.js';
import { TransportUnavailableError } from '../src/errors/app.errors.js';
import type { ChannelOccupancy } from '../src/pusher/state/channel-occupancy.js';
import { CHANNEL_OCCUPANCY } from '../src/pusher/state/pusher-state.tokens.js';
import { eventually } from './support/eventually.js';
import { scrape, valueOf } from './support/prometheus.js';
import { closed, hasHead, rawExchange, rawSocket, statusOf, upgradeHead } from './support/raw-http.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import { TestClient } from './support/ws-client.js';
import { userToken } from './support/tokens.js';

/**
 * Issue 10, items 4, 5 and 8e in process: the error boundary of fan-out, frames and fire-and-forget promises
 * (each costs one envelope / one socket / one count, logged and counted in `herald_internal_errors_total`),
 * and the descriptor guards of the upgrade path (handshake timeout, per-IP pending cap, node and per-IP caps).
 * Faults are injected by making one real provider throw once (a codec, the occupancy store), on a real app.
 */
const auth = { Authorization: `Bearer ${DEV_API_KEY}` };

async function internalErrors(server: RunningApp, where: string): Promise<number> {
  return valueOf((await scrape(server.baseUrl)).samples, 'herald_internal_errors_total', { where });
}

describe('error boundaries', () => {
  let server: RunningApp;

  beforeEach(async () => {
    server = await startApp();
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await server.close();
  });

  it('exposes herald_internal_errors_total{where} at 0 for every site from the start', async () => {
    const { text } = await scrape(server.baseUrl);
    for (const where of ['upgrade', 'frame', 'fanout', 'subscriber', 'timer', 'broker', 'task', 'http']) {
      expect(text).toContain(`herald_internal_errors_total{where="${where}"} 0\n`);
    }
  });

  it('a codec whose encode throws costs that envelope, not the tenant stream or the process', async () => {
    const client = await server.connect(`/ws/bus?token=${userToken()}`);
    const codec = server.app.get(BusCodec);
    jest.spyOn(codec, 'encode').mockImplementationOnce(() => {
      throw new Error('encode exploded');
    });
    expect((await request(server.baseUrl).post('/api/messages').set(auth).send({ cmd: 'ACTION', data: { n: 1 } })).status).toBe(202);
    expect((await request(server.baseUrl).post('/api/messages').set(auth).send({ cmd: 'ACTION', data: { n: 2 } })).status).toBe(202);
    const frame = await client.next((f) => JSON.stringify(f).includes('"n":'));
    expect(JSON.stringify(frame)).toContain('"n":2');
    await client.expectSilence((f) => JSON.stringify(f).includes('"n":1'));
    expect(await internalErrors(server, 'fanout')).toBe(1);
  });

  it('a frame handler that throws closes that one socket with 1011 and leaves the others served', async () => {
    const victim = await server.connect(`/ws/bus?token=${userToken({ sub: 'victim' })}`);
    const bystander = await server.connect(`/ws/bus?token=${userToken({ sub: 'bystander' })}`);
    const codec = server.app.get(BusCodec);
    jest.spyOn(codec, 'parse').mockImplementationOnce(() => {
      throw new Error('parse exploded');
    });
    victim.send({ id: 'a', cmd: 'ping' });
    expect((await victim.closed()).code).toBe(1011);
    bystander.send({ id: 'b', cmd: 'ping' });
    await bystander.next((f) => JSON.stringify(f).includes('"b"'));
    expect(await internalErrors(server, 'frame')).toBe(1);
  });
});

describe('a broker outage during a throttled subscription count', () => {
  it('counts the rejected occupancy read instead of an unhandled rejection', async () => {
    const app = { id: 'app-id', key: 'app-key', secret: 'app-secret', apiKeys: [DEV_API_KEY], enableSubscriptionCount: true };
    const server = await startApp({ HERALD_APPS: JSON.stringify([app]), HERALD_MAX_FRAMES_PER_SECOND: '-1' });
    const rejections: unknown[] = [];
    const probe = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', probe);
    try {
      const occupancy = server.app.get<ChannelOccupancy>(CHANNEL_OCCUPANCY);
      // Above 100 subscribers, counts are throttled: the trailing send re-reads the count from the store.
      const clients: TestClient[] = [];
      for (let i = 0; i < 102; i++) {
        const client = await server.connect('/app/app-key?protocol=7');
        await client.next((f) => JSON.stringify(f).includes('pusher:connection_established'));
        client.send({ event: 'pusher:subscribe', data: { channel: 'room' } });
        clients.push(client);
      }
      await Promise.all(clients.map((client) => client.next((f) => JSON.stringify(f).includes('subscription_succeeded'))));
      const count = jest.spyOn(occupancy, 'count').mockRejectedValue(new TransportUnavailableError('broker down'));
      const late = await server.connect('/app/app-key?protocol=7');
      await late.next((f) => JSON.stringify(f).includes('pusher:connection_established'));
      late.send({ event: 'pusher:subscribe', data: { channel: 'room' } });
      await eventually(async () => expect(await internalErrors(server, 'task')).toBeGreaterThanOrEqual(1), 5_000, 50);
      expect(count).toHaveBeenCalled();
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', probe);
      jest.restoreAllMocks();
      await server.close();
    }
  }, 60_000);
});

describe('descriptor guards of the upgrade path', () => {
  it('closes a socket that sends a partial upgrade request and then nothing, after HERALD_HANDSHAKE_TIMEOUT_MS', async () => {
    const server = await startApp({ HERALD_HANDSHAKE_TIMEOUT_MS: '300' });
    try {
      const socket = await rawSocket(server.port);
      socket.on('error', () => undefined);
      socket.write('GET /ws/bus?app=app-key HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
      expect(await closed(socket, 5_000)).toBe(true);
      expect((await request(server.baseUrl).get('/health/live')).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('closes new connections from a peer with HERALD_MAX_PENDING_HANDSHAKES_PER_IP half-open ones, and accepts again once they are gone', async () => {
    const server = await startApp({ HERALD_MAX_PENDING_HANDSHAKES_PER_IP: '3' });
    try {
      const pending = [];
      for (let i = 0; i < 3; i++) {
        const socket = await rawSocket(server.port);
        socket.on('error', () => undefined);
        socket.write('GET /ws/bus?app=app-key HTTP/1.1\r\nHost: x\r\n');
        pending.push(socket);
      }
      const fourth = await rawSocket(server.port);
      fourth.on('error', () => undefined);
      expect(await closed(fourth, 5_000)).toBe(true);
      for (const socket of pending) expect(socket.destroyed).toBe(false);
      for (const socket of pending) socket.destroy();
      await eventually(async () => expect((await request(server.baseUrl).get('/health/live')).status).toBe(200), 5_000, 50);
    } finally {
      await server.close();
    }
  });

  it('answers upgrades with 503 at HERALD_MAX_CONNECTIONS while /health/live and the REST API stay reachable', async () => {
    const server = await startApp({ HERALD_MAX_CONNECTIONS: '2' });
    try {
      const first = await server.connect(`/ws/bus?token=${userToken()}`);
      await server.connect(`/ws/bus?token=${userToken()}`);
      const refused = await rawExchange(server.port, upgradeHead(`/ws/bus?token=${userToken()}`), hasHead);
      expect(statusOf(refused.text)).toBe(503);
      expect((await request(server.baseUrl).get('/health/live')).status).toBe(200);
      expect((await request(server.baseUrl).get('/api/connections').set(auth)).status).toBe(200);
      await first.close();
      // The slot is released when the TCP socket closes.
      await eventually(async () => {
        const again = await rawExchange(server.port, upgradeHead(`/ws/bus?token=${userToken()}`), hasHead);
        expect(statusOf(again.text)).toBe(101);
      }, 5_000, 50);
    } finally {
      await server.close();
    }
  });

  it('answers upgrades with 429 at HERALD_MAX_CONNECTIONS_PER_IP', async () => {
    const server = await startApp({ HERALD_MAX_CONNECTIONS_PER_IP: '1' });
    try {
      await server.connect(`/ws/bus?token=${userToken()}`);
      const refused = await rawExchange(server.port, upgradeHead(`/ws/bus?token=${userToken()}`), hasHead);
      expect(statusOf(refused.text)).toBe(429);
    } finally {
      await server.close();
    }
  });

  it('derives the default HERALD_MAX_CONNECTIONS from the descriptor limit', async () => {
    const server = await startApp();
    try {
      // This machine's `ulimit -n` is finite, so the default is a positive number below it.
      expect(server.settings.maxConnections).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});
