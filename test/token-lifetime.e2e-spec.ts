import request from 'supertest';
import { TokenExpiry } from '../src/connections/token-expiry.service.js';
import { eventually } from './support/eventually.js';
import { FRAMINGS, RpcClient, type Frame } from './support/rpc-framings.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import { signJwt, userToken } from './support/tokens.js';

const auth = { Authorization: `Bearer ${DEV_API_KEY}` };
const nowSeconds = () => Math.floor(Date.now() / 1000);
/** No clock skew, so a socket closes at its token's exp itself (the default skew is 30 s). */
const EXACT = { HERALD_JWT_CLOCK_SKEW_SECONDS: '0' };
/** exp 2 s ahead, + up to 1 s for the wheel's tick, + the close handshake: bounded well above, never slept. */
const EXPIRY_TIMEOUT_MS = 6_000;
const member = (sub: string, expiresIn: number) =>
  userToken({ sub, expiresIn, scope: ['subscribe', 'publish'], authorizedChannels: ['news'] });

type BusFrame = { id: string | null; cmd: string; data: Record<string, unknown> };

describe('token lifetime', () => {
  let server: RunningApp;
  afterEach(async () => server?.close());

  describe('closing at exp', () => {
    beforeEach(async () => {
      server = await startApp(EXACT);
    });

    it('closes a bus socket with 4401 "token expired" at its token exp, and serves it until then', async () => {
      const bus = await server.connect(`/ws/bus?token=${userToken({ sub: 'short', expiresIn: 2 })}`);
      const lasting = await server.connect(`/ws/bus?token=${userToken({ sub: 'long' })}`);
      bus.send({ id: 'p', cmd: 'ping', data: {} });
      expect(await bus.next<BusFrame>((f) => f.id === 'p')).toMatchObject({ cmd: 'ack' });
      expect(await bus.closed(EXPIRY_TIMEOUT_MS)).toEqual({ code: 4401, reason: 'token expired' });
      lasting.send({ id: 'q', cmd: 'ping', data: {} });
      expect(await lasting.next<BusFrame>((f) => f.id === 'q')).toMatchObject({ cmd: 'ack' });
      const online = await request(server.baseUrl).get('/api/users/short').set(auth);
      expect(online.body).toEqual({ online: false, connections: 0 });
    });

    it('keeps nothing for sockets that closed before their token expired (the wheel does not leak)', async () => {
      const expiry = server.app.get(TokenExpiry);
      const sockets = await Promise.all(Array.from({ length: 50 }, (_, i) => server.connect(`/ws/bus?token=${userToken({ sub: `u${i}`, expiresIn: 60 + i })}`)));
      const rpc = new RpcClient(FRAMINGS[0], await server.connect('/ws/rpc'));
      await rpc.ok('auth', { token: member('r', 120) });
      expect(expiry.watched).toBe(51);
      await Promise.all([...sockets, rpc.client].map((socket) => socket.close()));
      await eventually(() => expect(expiry.watched).toBe(0));
    });

    it('closes a topics socket with 4401 "token expired" at its token exp', async () => {
      const topics = await server.connect(`/ws/topics?token=${userToken({ sub: 'short', expiresIn: 2, authorizedChannels: ['news'] })}`);
      expect(await topics.closed(EXPIRY_TIMEOUT_MS)).toEqual({ code: 4401, reason: 'token expired' });
    });

    it.each(FRAMINGS)('$name: sends Unauthenticated "token expired", then closes with 4401', async (framing) => {
      const rpc = new RpcClient(framing, await server.connect(`${framing.path}?token=${member('short', 2)}`));
      expect(await rpc.ok('subscribe', { channel: 'news' })).toMatchObject({ subscriptionId: expect.any(String) });
      const error = await rpc.client.next<Frame>((frame) => frame.error !== undefined, EXPIRY_TIMEOUT_MS);
      expect(error.error).toMatchObject({ code: framing.code('unauthenticated'), message: 'token expired' });
      expect(framing.replyId(error) ?? null).toBeNull();
      expect(await rpc.client.closed()).toEqual({ code: 4401, reason: 'token expired' });
    });

    it.each(FRAMINGS)('$name: a token given by `auth` (not at the upgrade) expires too', async (framing) => {
      const rpc = new RpcClient(framing, await server.connect(framing.path));
      await rpc.ok('auth', { token: member('later', 2) });
      expect(await rpc.client.closed(EXPIRY_TIMEOUT_MS)).toEqual({ code: 4401, reason: 'token expired' });
    });

    it.each(FRAMINGS)('$name: a fresh `auth` for the same user before exp moves the deadline (refresh)', async (framing) => {
      const rpc = new RpcClient(framing, await server.connect(`${framing.path}?token=${member('ann', 2)}`));
      await rpc.ok('subscribe', { channel: 'news' });
      expect(await rpc.ok('auth', { token: member('ann', 5) })).toEqual({ success: true });
      // Past the first token's deadline (2 s + one tick) the socket is still open and subscribed.
      await rpc.client.expectSilence((frame) => frame.error !== undefined, 3_500);
      expect(rpc.client.closeCode).toBeUndefined();
      await request(server.baseUrl).post('/api/publish').set(auth).send({ channel: 'news', event: 'e', payload: 1 }).expect(200);
      expect((await rpc.broadcast('news')).params).toMatchObject({ channel: 'news' });
      // …and the refreshed token's exp closes it.
      expect(await rpc.client.closed(EXPIRY_TIMEOUT_MS)).toEqual({ code: 4401, reason: 'token expired' });
    });

    it.each(FRAMINGS)('$name: a refresh for another user is refused and changes nothing (still closes at the old exp)', async (framing) => {
      const rpc = new RpcClient(framing, await server.connect(`${framing.path}?token=${member('ann', 2)}`));
      const refused = await rpc.fails('auth', { token: member('mallory', 3600) }, 'failed_precondition');
      expect(refused?.message).toMatch(/another user/);
      const online = await request(server.baseUrl).get('/api/users/mallory').set(auth);
      expect(online.body).toEqual({ online: false, connections: 0 });
      expect(await rpc.client.closed(EXPIRY_TIMEOUT_MS)).toEqual({ code: 4401, reason: 'token expired' });
    });

    it.each(FRAMINGS)('$name: a refresh with a token that does not verify is refused with Unauthenticated', async (framing) => {
      const rpc = new RpcClient(framing, await server.connect(`${framing.path}?token=${member('ann', 3600)}`));
      await rpc.fails('auth', { token: userToken({ sub: 'ann', secret: 'nope' }) }, 'unauthenticated');
      expect(await rpc.ok('subscribe', { channel: 'news' })).toMatchObject({ subscriptionId: expect.any(String) });
    });
  });

  describe('issue time and lifetime', () => {
    it('refuses a token whose iat is beyond the clock skew in the future, even for a revoked user', async () => {
      server = await startApp();
      await request(server.baseUrl).post('/api/users/zed/revoke').set(auth).expect(200);
      const yearAhead = nowSeconds() + 365 * 86_400;
      const future = signJwt({ sub: 'zed', aud: 'broadcaster', iat: yearAhead, exp: yearAhead + 60 });
      expect(await server.open(`/ws/bus?token=${future}`).closed()).toEqual({ code: 4401, reason: 'Unauthorized - token issued in the future (iat)' });
      // Within the skew (default 30 s) a clock that runs ahead is tolerated.
      const ahead = await server.connect(`/ws/bus?token=${userToken({ sub: 'amy', iat: nowSeconds() + 10 })}`);
      ahead.send({ id: 'p', cmd: 'ping', data: {} });
      expect(await ahead.next<BusFrame>((f) => f.id === 'p')).toMatchObject({ cmd: 'ack' });
    });

    it('refuses tokens living longer than HERALD_MAX_TOKEN_LIFETIME_SECONDS, and tokens without iat', async () => {
      server = await startApp({ HERALD_MAX_TOKEN_LIFETIME_SECONDS: '3600' });
      expect(server.settings.revocationTtlSeconds).toBeGreaterThanOrEqual(3600 + server.settings.jwtClockSkewSeconds);
      const long = server.open(`/ws/bus?token=${userToken({ expiresIn: 3601 })}`);
      expect(await long.closed()).toEqual({ code: 4401, reason: 'Unauthorized - token lifetime (exp - iat) exceeds 3600 s' });
      const noIat = signJwt({ sub: 'a', aud: 'broadcaster', exp: nowSeconds() + 60 });
      expect(await server.open(`/ws/bus?token=${noIat}`).closed()).toEqual({ code: 4401, reason: 'Unauthorized - token has no iat claim' });
      const rpc = new RpcClient(FRAMINGS[0], await server.connect('/ws/rpc'));
      expect((await rpc.fails('auth', { token: userToken({ expiresIn: 7200 }) }, 'unauthenticated'))?.message).toMatch(/lifetime/);
      const fine = await server.connect(`/ws/bus?token=${userToken({ expiresIn: 3600 })}`);
      fine.send({ id: 'p', cmd: 'ping', data: {} });
      expect(await fine.next<BusFrame>((f) => f.id === 'p')).toMatchObject({ cmd: 'ack' });
    });
  });

  describe('revocation cut-off (issuedBefore)', () => {
    beforeEach(async () => {
      server = await startApp();
    });

    it('revoke, then mint a new token right away and connect with it: works (the default same-second rule)', async () => {
      const earlier = userToken({ sub: 'dev', iat: nowSeconds() - 1 });
      const open = await server.connect(`/ws/bus?token=${earlier}`);
      const revoked = await request(server.baseUrl).post('/api/users/dev/revoke').set(auth);
      expect(revoked.body).toEqual({ closed: 1 });
      expect(await open.closed()).toEqual({ code: 4001, reason: 'Session revoked' });
      // The device's replacement, minted after the revoke (the same second, or later).
      const replacement = await server.connect(`/ws/bus?token=${userToken({ sub: 'dev' })}`);
      replacement.send({ id: 'p', cmd: 'ping', data: {} });
      expect(await replacement.next<BusFrame>((f) => f.id === 'p')).toMatchObject({ cmd: 'ack' });
      // A token from an earlier second stays refused.
      expect(await server.open(`/ws/bus?token=${earlier}`).closed()).toEqual({ code: 4401, reason: 'Unauthorized - token revoked' });
    });

    it('an explicit issuedBefore refuses exactly the tokens issued before it and closes only their sockets', async () => {
      const cut = nowSeconds() + 1;
      const before = await server.connect(`/ws/bus?token=${userToken({ sub: 'kim', iat: cut - 1 })}`);
      const at = await server.connect(`/ws/bus?token=${userToken({ sub: 'kim', iat: cut })}`);
      const revoked = await request(server.baseUrl).post('/api/users/kim/revoke').set(auth).send({ issuedBefore: cut });
      expect(revoked.status).toBe(200);
      expect(revoked.body).toEqual({ closed: 1 });
      expect(await before.closed()).toEqual({ code: 4001, reason: 'Session revoked' });
      at.send({ id: 'p', cmd: 'ping', data: {} });
      expect(await at.next<BusFrame>((f) => f.id === 'p')).toMatchObject({ cmd: 'ack' });
      // Same second as the revoke, but before the cut-off the backend gave: refused.
      expect(await server.open(`/ws/bus?token=${userToken({ sub: 'kim', iat: cut - 1 })}`).closed()).toEqual({ code: 4401, reason: 'Unauthorized - token revoked' });
      const again = await server.connect(`/ws/bus?token=${userToken({ sub: 'kim', iat: cut })}`);
      again.send({ id: 'q', cmd: 'ping', data: {} });
      expect(await again.next<BusFrame>((f) => f.id === 'q')).toMatchObject({ cmd: 'ack' });
    });

    it('a cut-off in the past leaves newer tokens and their sockets alone', async () => {
      const current = await server.connect(`/ws/bus?token=${userToken({ sub: 'lee' })}`);
      const old = await server.connect(`/ws/bus?token=${userToken({ sub: 'lee', iat: nowSeconds() - 600 })}`);
      const revoked = await request(server.baseUrl).post('/api/users/lee/revoke').set(auth).send({ issuedBefore: nowSeconds() - 300 });
      expect(revoked.body).toEqual({ closed: 1 });
      expect((await old.closed()).code).toBe(4001);
      current.send({ id: 'p', cmd: 'ping', data: {} });
      expect(await current.next<BusFrame>((f) => f.id === 'p')).toMatchObject({ cmd: 'ack' });
    });

    it('refuses an issuedBefore that is not an integer or lies beyond the clock skew', async () => {
      for (const issuedBefore of ['soon', 1.5, nowSeconds() + 3600]) {
        const res = await request(server.baseUrl).post('/api/users/x/revoke').set(auth).send({ issuedBefore });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ error: 'validation_failed' });
      }
      const extra = await request(server.baseUrl).post('/api/sessions/s/revoke').set(auth).send({ issued_before: 1 });
      expect(extra.status).toBe(400);
    });
  });
});
