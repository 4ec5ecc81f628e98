import request from 'supertest';
import WebSocket from 'ws';
import { drainAndClose } from '../src/bootstrap.js';
import { ShutdownService } from '../src/health/shutdown.service.js';
import { eventually } from './support/eventually.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';
import { TestClient } from './support/ws-client.js';

type BusFrame = { id: string | null; cmd: string; data: Record<string, unknown> };
const auth = { Authorization: `Bearer ${DEV_API_KEY}` };

describe('/ws/bus delivery, lag, liveness and revocation', () => {
  let server: RunningApp;
  afterEach(async () => server?.close());

  it('skips a stalled reader forward with LAGGED and the right count, while a healthy reader gets everything', async () => {
    server = await startApp({ HERALD_OUTBOX_SIZE: '16', HERALD_SOCKET_HIGH_WATER_MARK: '65536' });
    const stalled = await server.connect(`/ws/bus?token=${userToken({ sub: 'slow' })}`);
    const healthy = await server.connect(`/ws/bus?token=${userToken({ sub: 'fast' })}`);
    const tcp = (stalled.socket as unknown as { _socket: import('node:net').Socket })._socket;
    tcp.pause();

    const total = 600;
    const blob = 'x'.repeat(16 * 1024);
    for (let n = 1; n <= total; n++) {
      const res = await request(server.baseUrl).post('/api/messages').set(auth).send({ cmd: 'ACTION', data: { n, blob } });
      expect(res.status).toBe(202);
    }
    await eventually(() => expect(healthy.frames.filter((f) => (f as BusFrame).cmd === 'ACTION')).toHaveLength(total), 10_000);
    const healthyNs = healthy.frames.map((f) => (f as BusFrame).data.n);
    expect(healthyNs).toEqual(Array.from({ length: total }, (_, i) => i + 1));

    tcp.resume();
    await stalled.next<BusFrame>((f) => f.cmd === 'ACTION' && f.data.n === total, 10_000);
    const lagged = stalled.frames.filter((f) => (f as BusFrame).cmd === 'LAGGED') as BusFrame[];
    const received = stalled.frames.filter((f) => (f as BusFrame).cmd === 'ACTION').length + 1; // + the one next() took
    expect(lagged.length).toBeGreaterThanOrEqual(1);
    const skipped = lagged.reduce((sum, frame) => sum + Number(frame.data.skipped), 0);
    expect(skipped).toBeGreaterThan(0);
    expect(received + skipped).toBe(total);
    expect(lagged[0].id).toMatch(/^[A-Za-z0-9]{24}$/);
    // still connected and usable
    stalled.send({ id: 'after', cmd: 'ping', data: {} });
    expect(await stalled.next<BusFrame>((f) => f.id === 'after')).toMatchObject({ cmd: 'ack' });
  }, 60_000);

  it('pings at connect and terminates a peer that answers no ping for two intervals', async () => {
    server = await startApp({ HERALD_PING_INTERVAL_MS: '100' });
    const pings: number[] = [];
    const silent = new TestClient(new WebSocket(`${server.wsUrl}/ws/bus?token=${userToken({ sub: 'mute' })}`, { autoPong: false }));
    silent.socket.on('ping', () => pings.push(Date.now()));
    await silent.opened;
    server.clients.push(silent);
    const lively = await server.connect(`/ws/bus?token=${userToken({ sub: 'lively' })}`);
    const closed = await silent.closed(3000);
    expect(closed.code).toBe(1006);
    expect(pings.length).toBeGreaterThanOrEqual(2);
    lively.send({ id: 'p', cmd: 'ping', data: {} });
    expect(await lively.next<BusFrame>((f) => f.id === 'p')).toMatchObject({ cmd: 'ack' });
    await eventually(async () => {
      const res = await request(server.baseUrl).get('/api/users/mute').set(auth);
      expect(res.body).toEqual({ online: false, connections: 0 });
    });
  });

  it('revokes exactly the matching sockets with 4001 and blocks reconnection with older tokens', async () => {
    server = await startApp();
    const issuedBefore = Math.floor(Date.now() / 1000) - 5;
    const tokens = {
      s1: userToken({ sub: 'ann', sid: 's1', iat: issuedBefore }),
      s2: userToken({ sub: 'ann', sid: 's2', iat: issuedBefore }),
      bob: userToken({ sub: 'bob', jti: 'tok-1', iat: issuedBefore }),
      bob2: userToken({ sub: 'bob', iat: issuedBefore }),
      eve: userToken({ sub: 'eve', iat: issuedBefore }),
    };
    const s1 = await server.connect(`/ws/bus?token=${tokens.s1}`);
    const s1b = await server.connect(`/ws/bus?token=${tokens.s1}`);
    const s2 = await server.connect(`/ws/bus?token=${tokens.s2}`);
    const bobTok = await server.connect(`/ws/bus?token=${tokens.bob}`);
    const bobOther = await server.connect(`/ws/bus?token=${tokens.bob2}`);
    const eve = await server.connect(`/ws/bus?token=${tokens.eve}`);

    const session = await request(server.baseUrl).post('/api/sessions/s1/revoke').set(auth);
    expect(session.status).toBe(200);
    expect(session.body).toEqual({ closed: 2 });
    for (const client of [s1, s1b]) expect(await client.closed()).toEqual({ code: 4001, reason: 'Session revoked' });

    const token = await request(server.baseUrl).post('/api/tokens/tok-1/revoke').set(auth);
    expect(token.body).toEqual({ closed: 1 });
    expect((await bobTok.closed()).code).toBe(4001);

    const user = await request(server.baseUrl).post('/api/users/eve/revoke').set(auth);
    expect(user.body).toEqual({ closed: 1 });
    expect((await eve.closed()).code).toBe(4001);

    for (const client of [s2, bobOther]) {
      client.send({ id: 'alive', cmd: 'ping', data: {} });
      expect(await client.next<BusFrame>((f) => f.id === 'alive')).toMatchObject({ cmd: 'ack' });
    }
    // Reconnecting with a token issued before the revocation fails; a token issued afterwards works.
    for (const old of [tokens.s1, tokens.bob, tokens.eve]) {
      const retry = server.open(`/ws/bus?token=${old}`);
      expect(await retry.closed()).toEqual({ code: 4401, reason: 'Unauthorized - token revoked' });
    }
    const fresh = await server.connect(`/ws/bus?token=${userToken({ sub: 'eve', iat: Math.floor(Date.now() / 1000) + 2 })}`);
    fresh.send({ id: 'f', cmd: 'ping', data: {} });
    expect(await fresh.next<BusFrame>((f) => f.id === 'f')).toMatchObject({ cmd: 'ack' });
    const none = await request(server.baseUrl).post('/api/sessions/unknown/revoke').set(auth);
    expect(none.body).toEqual({ closed: 0 });
  });

  it('drains on shutdown: readiness turns 503, bus sockets close with 1012', async () => {
    server = await startApp();
    const client = await server.connect(`/ws/bus?token=${userToken()}`);
    expect((await request(server.baseUrl).get('/health/ready')).status).toBe(200);
    const draining = server.app.get(ShutdownService).drain(2000);
    const ready = await request(server.baseUrl).get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error.lifecycle).toEqual({ status: 'down', phase: 'draining' });
    expect((await request(server.baseUrl).get('/health/live')).status).toBe(200);
    expect(await client.closed()).toEqual({ code: 1012, reason: 'Service restart' });
    await draining;
    const late = server.open(`/ws/bus?token=${userToken()}`);
    expect((await late.closed()).code).toBe(1012);
    await drainAndClose(server.app, server.settings);
    server = { ...server, close: async () => undefined };
  });
});

describe('REST /api', () => {
  let server: RunningApp;
  beforeAll(async () => {
    server = await startApp({ HERALD_MAX_BODY_BYTES: '4096' });
  });
  afterAll(async () => server.close());

  it('answers 401 without or with a wrong API key', async () => {
    const missing = await request(server.baseUrl).post('/api/messages').send({ cmd: 'x', data: 1 });
    expect(missing.status).toBe(401);
    expect(missing.body.error).toBe('unauthorized');
    const wrong = await request(server.baseUrl).get('/api/connections').set('Authorization', 'Bearer nope-nope-nope');
    expect(wrong.status).toBe(401);
  });

  it('answers 400 naming the bad field', async () => {
    const cases: [unknown, string][] = [
      [{ data: 1 }, 'cmd'],
      [{ cmd: 'x' }, 'data'],
      [{ cmd: 5, data: 1 }, 'cmd'],
      [{ cmd: 'x', data: 1, to: { user: '' } }, 'to.user'],
      [{ cmd: 'x', data: 1, to: { user: 'a', session: 'b' } }, 'to'],
      [{ cmd: 'x', data: 1, extra: true }, '(body)'],
    ];
    for (const [body, field] of cases) {
      const res = await request(server.baseUrl).post('/api/messages').set(auth).send(body as object);
      expect(res.status).toBe(400);
      expect(res.body.field).toBe(field);
    }
    const notJson = await request(server.baseUrl).post('/api/messages').set(auth).set('Content-Type', 'application/json').send('{nope');
    expect(notJson.status).toBe(400);
  });

  it('answers 413 over the payload limit', async () => {
    const res = await request(server.baseUrl).post('/api/messages').set(auth).send({ cmd: 'x', data: 'y'.repeat(5000) });
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('payload_too_large');
  });

  it('answers 404 on unknown WebSocket paths', async () => {
    const client = TestClient.open(`${server.wsUrl}/ws/nowhere`);
    await expect(client.opened).rejects.toThrow(/404/);
  });
});
