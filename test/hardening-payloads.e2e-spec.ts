import { createHash, createHmac } from 'node:crypto';
import { serverSdk } from './support/pusher-clients.js';
import { JSONRPC, RPC, RpcClient, type Framing } from './support/rpc-framings.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';
import type { TestClient } from './support/ws-client.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- the Pusher SDK is untyped */

/**
 * Issue 10 item 1b: a payload nested 4,500+ levels overflows `JSON.stringify` while it is encoded for a
 * recipient, and the node exited (REST answered 202 first, the Pusher HTTP API answered 500). Each entry
 * point now refuses it with its protocol's error, and the node keeps delivering. Deep payloads are built
 * as text here: the test process must not stringify them either.
 */
const LEVELS = 5_000;
const DEEP = '['.repeat(LEVELS) + ']'.repeat(LEVELS);
const auth = { Authorization: `Bearer ${DEV_API_KEY}`, 'Content-Type': 'application/json' };
const token = (sub: string) => userToken({ sub, scope: ['subscribe', 'publish'], authorizedChannels: ['*'] });
type Json = Record<string, any>;

async function post(server: RunningApp, path: string, text: string): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: auth, body: text });
  return { status: response.status, body: (await response.json()) as Json };
}

/** A Pusher-signed HTTP API call with this exact body text. */
async function pusherApi(server: RunningApp, path: string, text: string): Promise<{ status: number; body: Json }> {
  const params: Record<string, string> = {
    auth_key: 'app-key',
    auth_timestamp: String(Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    body_md5: createHash('md5').update(text).digest('hex'),
  };
  const query = Object.keys(params)
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
  const signature = createHmac('sha256', 'app-secret').update(`POST\n${path}\n${query}`).digest('hex');
  const response = await fetch(`${server.baseUrl}${path}?${query}&auth_signature=${signature}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: text });
  return { status: response.status, body: (await response.json()) as Json };
}

/** A raw Pusher socket subscribed to `channel` (signed with the SDK), so frames are sent as exact text. */
async function pusherSocket(server: RunningApp, channel: string): Promise<TestClient> {
  const client = await server.connect('/app/app-key?protocol=7');
  const established = await client.next<Json>((frame) => frame.event === 'pusher:connection_established');
  const socketId = (JSON.parse(established.data as string) as { socket_id: string }).socket_id;
  const signature = (serverSdk(server) as any).authorizeChannel(socketId, channel) as { auth: string };
  client.send({ event: 'pusher:subscribe', data: { channel, auth: signature.auth } });
  await client.next<Json>((frame) => frame.event === 'pusher_internal:subscription_succeeded' && frame.channel === channel);
  return client;
}

describe('deep payloads at every entry point (HERALD_MAX_JSON_DEPTH, default 64)', () => {
  let server: RunningApp;
  let bus: TestClient;
  let rpc: RpcClient;

  beforeEach(async () => {
    server = await startApp();
    bus = await server.connect(`/ws/bus?token=${token('b')}`);
    rpc = new RpcClient(RPC, await server.connect(`/ws/rpc?token=${token('r')}`));
    await rpc.ok('subscribe', { channel: 'news' });
  });
  afterEach(async () => {
    await server.close();
  });

  it('POST /api/messages answers 400 validation_failed (it answered 202 and the node exited), then still delivers', async () => {
    const refused = await post(server, '/api/messages', `{"cmd":"deep","data":${DEEP}}`);
    expect(refused).toEqual({ status: 400, body: expect.objectContaining({ error: 'validation_failed', message: expect.stringMatching(/nested deeper than 64 levels/) }) });
    await bus.expectSilence((frame) => frame.cmd === 'deep');
    expect((await post(server, '/api/messages', '{"cmd":"after","data":{"ok":true}}')).status).toBe(202);
    expect(await bus.next<Json>((frame) => frame.cmd === 'after')).toMatchObject({ data: { ok: true } });
  });

  it('POST /api/publish answers 400 validation_failed, then still delivers', async () => {
    const refused = await post(server, '/api/publish', `{"channel":"news","event":"deep","payload":${DEEP}}`);
    expect(refused).toEqual({ status: 400, body: expect.objectContaining({ error: 'validation_failed', message: expect.stringMatching(/nested deeper than 64/) }) });
    expect((await post(server, '/api/publish', '{"channel":"news","event":"after","payload":1}')).status).toBe(200);
    expect((await rpc.broadcast('news')).params).toMatchObject({ event: 'after', payload: 1 });
    expect(rpc.broadcasts('news').filter((frame) => frame.params.event === 'deep')).toEqual([]);
  });

  it('accepts a payload exactly at the limit (64 levels of the whole body) and refuses one level more', async () => {
    const nest = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
    // The body object is one level: the payload may nest 63 more.
    expect((await post(server, '/api/publish', `{"channel":"news","event":"edge","payload":${nest(63)}}`)).status).toBe(200);
    expect((await rpc.broadcast('news')).params).toMatchObject({ event: 'edge' });
    expect((await post(server, '/api/publish', `{"channel":"news","event":"edge","payload":${nest(64)}}`)).status).toBe(400);
  });

  it.each([RPC, JSONRPC].map((framing) => [framing.name, framing] as const))('an RPC publish on %s answers invalid params with the request id, then still delivers', async (_name: string, framing: Framing) => {
    const publisher = framing === RPC ? rpc : new RpcClient(framing, await server.connect(`${framing.path}?token=${token('p')}`));
    const request = JSON.stringify(framing.request(77, 'publish', { channel: 'news', event: 'deep', payload: 0 })).replace('"payload":0', `"payload":${DEEP}`);
    publisher.client.send(request);
    const reply = await publisher.client.next<Json>((frame) => framing.replyId(frame) === 77);
    expect(reply.error).toMatchObject({ code: framing.code('invalid_params'), message: expect.stringMatching(/nested deeper than 64 levels/), data: { field: 'params' } });
    await publisher.ok('publish', { channel: 'news', event: 'after', payload: 2 });
    expect((await rpc.broadcast('news')).params).toMatchObject({ event: 'after', payload: 2 });
  });

  it('a Pusher client event of ~10 KB under the payload limit gets pusher:error, then client events still flow', async () => {
    const sender = await pusherSocket(server, 'private-room');
    const receiver = await pusherSocket(server, 'private-room');
    const frame = `{"event":"client-deep","channel":"private-room","data":${DEEP}}`;
    expect(Buffer.byteLength(frame)).toBeLessThan(10 * 1024);
    sender.send(frame);
    expect(await sender.next<Json>((reply) => reply.event === 'pusher:error')).toMatchObject({ data: { message: expect.stringMatching(/nested deeper than 64 levels/) } });
    sender.send({ event: 'client-after', channel: 'private-room', data: { n: 1 } });
    expect(await receiver.next<Json>((got) => got.event === 'client-after')).toMatchObject({ channel: 'private-room' });
    expect(receiver.frames.filter((got) => (got as Json).event === 'client-deep')).toEqual([]);
  });

  it('a Pusher signin whose signed user_data nests too deep is refused (its user info would be encoded into presence frames)', async () => {
    const client = await server.connect('/app/app-key?protocol=7');
    const established = await client.next<Json>((frame) => frame.event === 'pusher:connection_established');
    const socketId = (JSON.parse(established.data as string) as { socket_id: string }).socket_id;
    const userData = `{"id":"deep","user_info":${DEEP}}`;
    const signature = createHmac('sha256', 'app-secret').update(`${socketId}::user::${userData}`).digest('hex');
    client.send({ event: 'pusher:signin', data: { user_data: userData, auth: `app-key:${signature}` } });
    expect(await client.next<Json>((frame) => frame.event === 'pusher:error')).toMatchObject({ data: { code: 4009, message: expect.stringMatching(/user_data is JSON nested deeper than 1008 levels/) } });
    await client.expectSilence((frame) => frame.event === 'pusher:signin_success');
  });

  it('the Pusher HTTP API answers 400 like Pusher (it answered 500) for object data, and relays string data untouched', async () => {
    const refused = await pusherApi(server, '/apps/app-id/events', `{"name":"deep","channel":"news","data":${DEEP}}`);
    expect(refused).toEqual({ status: 400, body: { error: expect.stringMatching(/nested deeper than 64 levels/), code: 400 } });
    const batch = await pusherApi(server, '/apps/app-id/batch_events', `{"batch":[{"name":"deep","channel":"news","data":${DEEP}}]}`);
    expect(batch.status).toBe(400);
    // The SDKs send data as a string: it is the publisher's text, carried as is, never parsed or re-encoded.
    const relayed = await pusherApi(server, '/apps/app-id/events', JSON.stringify({ name: 'text', channel: 'news', data: DEEP }));
    expect(relayed.status).toBe(200);
    expect((await rpc.broadcast('news')).params).toMatchObject({ event: 'text', payload: DEEP });
  });

  it('a bus frame gets an error frame echoing its id, a topics frame gets #error, and both sockets keep working', async () => {
    bus.send(`{"id":"b-1","cmd":"deep","data":${DEEP}}`);
    expect(await bus.next<Json>((frame) => frame.cmd === 'error')).toMatchObject({ id: 'b-1', data: { code: 'invalid_message', message: expect.stringMatching(/nested deeper than 64/) } });
    bus.send({ id: 'b-2', cmd: 'ping', data: null });
    expect(await bus.next<Json>((frame) => frame.id === 'b-2')).toMatchObject({ cmd: 'ack', data: { status: 'pong' } });

    const topics = await server.connect(`/ws/topics?token=${token('t')}`);
    topics.send(`{"command":"join","topics":["news"],"payload":${DEEP}}`);
    expect(await topics.next<Json>((frame) => frame.topic === '#error')).toMatchObject({ payload: expect.stringMatching(/nested deeper than 64/) });
    topics.send({ command: 'join', broker: 'memory', topics: ['news'], payload: '' });
    await topics.next<Json>((frame) => frame.topic === '@join');
    await rpc.ok('publish', { channel: 'news', event: 'after', payload: 'x' });
    expect(await topics.next<Json>((frame) => frame.topic === 'news')).toEqual({ topic: 'news', payload: 'x' });
  });

  it('HERALD_MAX_JSON_DEPTH moves the limit', async () => {
    await server.close();
    server = await startApp({ HERALD_MAX_JSON_DEPTH: '8' });
    const nest = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
    expect((await post(server, '/api/publish', `{"channel":"news","event":"e","payload":${nest(7)}}`)).status).toBe(200);
    expect(await post(server, '/api/publish', `{"channel":"news","event":"e","payload":${nest(8)}}`)).toMatchObject({ status: 400, body: { message: expect.stringMatching(/deeper than 8 levels/) } });
    // Re-open what afterEach closes.
    bus = await server.connect(`/ws/bus?token=${token('b')}`);
  });
});
