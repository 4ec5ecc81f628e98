import request from 'supertest';
import { eventually } from './support/eventually.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';

const TWO_APPS = JSON.stringify([
  { id: 'app-a', key: 'key-a', secret: 'secret-a', apiKeys: ['api-key-a-123'] },
  { id: 'app-b', key: 'key-b', secret: 'secret-b', apiKeys: ['api-key-b-123'] },
]);

type BusFrame = { id: string | null; cmd: string; data: Record<string, unknown> };
const isCmd = (cmd: string) => (frame: BusFrame) => frame.cmd === cmd;

describe('/ws/bus', () => {
  let server: RunningApp;
  afterEach(async () => server?.close());

  describe('with the dev app', () => {
    beforeEach(async () => {
      server = await startApp();
    });

    it('answers ping with ack pong and any other cmd with ack ok, echoing the id', async () => {
      const client = await server.connect(`/ws/bus?token=${userToken()}`);
      client.send({ id: 'm1', cmd: 'ping', data: {} });
      expect(await client.next()).toEqual({ id: 'm1', cmd: 'ack', data: { status: 'pong' } });
      client.send({ id: 'msg-123', cmd: 'typing', data: { x: 1 } });
      expect(await client.next()).toEqual({ id: 'msg-123', cmd: 'ack', data: { status: 'ok' } });
    });

    it('answers malformed frames with an error frame and stays open', async () => {
      const client = await server.connect(`/ws/bus?token=${userToken()}`);
      const cases: [unknown, string | null, RegExp][] = [
        ['not json', null, /not valid JSON/],
        [{ cmd: 'x', data: {} }, null, /"id"/],
        [{ id: 7, cmd: 'x', data: {} }, null, /"id"/],
        [{ id: 'a1', data: {} }, 'a1', /"cmd"/],
        [{ id: 'a2', cmd: 'x' }, 'a2', /"data"/],
        [[1, 2], null, /object/],
      ];
      for (const [frame, id, message] of cases) {
        client.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
        const reply = await client.next<BusFrame>(isCmd('error'));
        expect(reply.id).toBe(id);
        expect(reply.data.code).toBe('invalid_message');
        expect(String(reply.data.message)).toMatch(message);
      }
      client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
      const binary = await client.next<BusFrame>(isCmd('error'));
      expect(binary.data.message).toMatch(/binary/);
      client.send({ id: 'still', cmd: 'ping', data: {} });
      expect(await client.next()).toEqual({ id: 'still', cmd: 'ack', data: { status: 'pong' } });
    });

    it('closes frames over the size limit with 1009', async () => {
      const client = await server.connect(`/ws/bus?token=${userToken()}`);
      client.send({ id: 'big', cmd: 'x', data: 'x'.repeat(70 * 1024) });
      expect((await client.closed()).code).toBe(1009);
    });

    it.each([
      ['missing', '', /token missing/],
      ['malformed', 'not-a-jwt', /malformed/],
      ['expired', userToken({ expiresIn: -120 }), /expired/],
      ['wrongly signed', userToken({ secret: 'other-secret' }), /signature/],
      ['for another audience', userToken({ aud: 'someone-else' }), /audience/],
      ['without sub', userToken({ sub: '' }), /sub/],
    ])('closes with 4401 when the token is %s', async (_case, token, reason) => {
      const client = server.open(`/ws/bus${token ? `?token=${token}` : ''}`);
      const closed = await client.closed();
      expect(closed.code).toBe(4401);
      expect(closed.reason).toMatch(reason);
      const counts = await request(server.baseUrl).get('/api/connections').set('Authorization', `Bearer ${DEV_API_KEY}`);
      expect(counts.body).toEqual({ connections: 0, users: 0 });
    });

    it('accepts the token in the Authorization header', async () => {
      const client = await server.connect('/ws/bus', { headers: { Authorization: `Bearer ${userToken()}` } });
      client.send({ id: 'h', cmd: 'ping', data: {} });
      expect(await client.next()).toMatchObject({ id: 'h', cmd: 'ack' });
    });

    it('closes with 4404 for an unknown app key', async () => {
      const client = server.open(`/ws/bus?app=nope&token=${userToken()}`);
      expect((await client.closed()).code).toBe(4404);
    });

    it('pushes published messages as {id (24 chars), cmd, data}', async () => {
      const client = await server.connect(`/ws/bus?token=${userToken()}`);
      const data = { tempId: '@f1', fileId: 'f1abc', rootId: null };
      const res = await request(server.baseUrl)
        .post('/api/messages')
        .set('Authorization', `Bearer ${DEV_API_KEY}`)
        .send({ cmd: 'FILE_ID_GENERATED', data });
      expect(res.status).toBe(202);
      expect(res.body.id).toMatch(/^[A-Za-z0-9]{24}$/);
      const frame = await client.next<BusFrame>(isCmd('FILE_ID_GENERATED'));
      expect(frame).toEqual({ id: res.body.id, cmd: 'FILE_ID_GENERATED', data });
    });

    it('delivers a user-targeted message to all of that user\'s connections and nobody else', async () => {
      const alice = await Promise.all([1, 2, 3].map(() => server.connect(`/ws/bus?token=${userToken({ sub: 'alice' })}`)));
      const bob = await server.connect(`/ws/bus?token=${userToken({ sub: 'bob' })}`);
      const res = await request(server.baseUrl)
        .post('/api/messages')
        .set('Authorization', `Bearer ${DEV_API_KEY}`)
        .send({ cmd: 'notification', data: { type: 'MSG', action_id: 'a1', priority: null, timestamp: 1 }, to: { user: 'alice' } });
      expect(res.status).toBe(202);
      for (const tab of alice) expect(await tab.next<BusFrame>(isCmd('notification'))).toMatchObject({ id: res.body.id });
      await bob.expectSilence((frame) => frame.cmd === 'notification');
      const online = await request(server.baseUrl).get('/api/users/alice').set('Authorization', `Bearer ${DEV_API_KEY}`);
      expect(online.body).toEqual({ online: true, connections: 3 });
      const counts = await request(server.baseUrl).get('/api/connections').set('Authorization', `Bearer ${DEV_API_KEY}`);
      expect(counts.body).toEqual({ connections: 4, users: 2 });
    });

    it('targets a session and an API token', async () => {
      const s1 = await server.connect(`/ws/bus?token=${userToken({ sub: 'u', sid: 's1' })}`);
      const s2 = await server.connect(`/ws/bus?token=${userToken({ sub: 'u', sid: 's2', jti: 't9' })}`);
      const send = (to: Record<string, string>) =>
        request(server.baseUrl).post('/api/messages').set('Authorization', `Bearer ${DEV_API_KEY}`).send({ cmd: 'ACTION', data: to, to });
      await send({ session: 's1' });
      expect(await s1.next<BusFrame>(isCmd('ACTION'))).toMatchObject({ data: { session: 's1' } });
      await send({ token: 't9' });
      expect(await s2.next<BusFrame>(isCmd('ACTION'))).toMatchObject({ data: { token: 't9' } });
      await s1.expectSilence((frame) => frame.cmd === 'ACTION');
      await s2.expectSilence((frame) => frame.cmd === 'ACTION');
    });

    it('leaves every index when a socket closes', async () => {
      const client = await server.connect(`/ws/bus?token=${userToken({ sub: 'carol' })}`);
      await client.close();
      await eventually(async () => {
        const res = await request(server.baseUrl).get('/api/users/carol').set('Authorization', `Bearer ${DEV_API_KEY}`);
        expect(res.body).toEqual({ online: false, connections: 0 });
      });
    });
  });

  describe('with two tenants', () => {
    beforeEach(async () => {
      server = await startApp({ HERALD_APPS: TWO_APPS });
    });

    it('never delivers one tenant\'s messages to another tenant, even for the same user id', async () => {
      const a = await server.connect(`/ws/bus?app=key-a&token=${userToken({ sub: 'alice', secret: 'secret-a' })}`);
      const b = await server.connect(`/ws/bus?app=key-b&token=${userToken({ sub: 'alice', secret: 'secret-b' })}`);
      await request(server.baseUrl).post('/api/messages').set('Authorization', 'Bearer api-key-a-123').send({ cmd: 'ACTION', data: { n: 1 } });
      await request(server.baseUrl)
        .post('/api/messages')
        .set('Authorization', 'Bearer api-key-a-123')
        .send({ cmd: 'ACTION', data: { n: 2 }, to: { user: 'alice' } });
      expect(await a.next<BusFrame>(isCmd('ACTION'))).toMatchObject({ data: { n: 1 } });
      expect(await a.next<BusFrame>(isCmd('ACTION'))).toMatchObject({ data: { n: 2 } });
      await b.expectSilence((frame) => frame.cmd === 'ACTION');
      const countsB = await request(server.baseUrl).get('/api/connections').set('Authorization', 'Bearer api-key-b-123');
      expect(countsB.body).toEqual({ connections: 1, users: 1 });
    });

    it('rejects a token signed with another tenant\'s secret', async () => {
      const client = server.open(`/ws/bus?app=key-b&token=${userToken({ secret: 'secret-a' })}`);
      expect((await client.closed()).code).toBe(4401);
    });

    it('requires ?app= when several apps are configured', async () => {
      const client = server.open(`/ws/bus?token=${userToken({ secret: 'secret-a' })}`);
      expect((await client.closed()).code).toBe(4404);
    });
  });
});
