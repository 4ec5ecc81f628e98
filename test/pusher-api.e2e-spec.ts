import { createHash, createHmac } from 'node:crypto';
import { connected, disconnectAll, pusherClient, serverSdk, subscribed } from './support/pusher-clients.js';
import { startApp, type RunningApp } from './support/start-app.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- pusher-js objects are untyped */

interface SignOptions {
  params?: Record<string, string>;
  timestamp?: number;
  secret?: string;
  key?: string;
  bodyMd5?: string;
  /** Send this exact body text (default: JSON of `body`). */
  raw?: string;
}

/** An independent signer (not the SDK), so every 4xx path can be reached. */
async function signed(server: RunningApp, method: 'GET' | 'POST', path: string, body?: unknown, options: SignOptions = {}): Promise<{ status: number; body: any }> {
  const text = options.raw ?? (body === undefined ? '' : JSON.stringify(body));
  const params: Record<string, string> = {
    auth_key: options.key ?? 'app-key',
    auth_timestamp: String(options.timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    ...options.params,
  };
  if (text !== '') params.body_md5 = options.bodyMd5 ?? createHash('md5').update(text).digest('hex');
  const query = Object.keys(params)
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
  const signature = createHmac('sha256', options.secret ?? 'app-secret').update(`${method}\n${path}\n${query}`).digest('hex');
  const response = await fetch(`${server.baseUrl}${path}?${query}&auth_signature=${signature}`, {
    method,
    headers: text === '' ? {} : { 'Content-Type': 'application/json' },
    body: text === '' ? undefined : text,
  });
  return { status: response.status, body: await response.json() };
}

const EVENTS = '/apps/app-id/events';

describe('Pusher HTTP API', () => {
  let server: RunningApp;
  const clients: any[] = [];

  beforeEach(async () => {
    server = await startApp();
  });
  afterEach(async () => {
    await disconnectAll(clients.splice(0), server);
    await server.close();
  });

  it('accepts a correctly signed publish and answers {}', async () => {
    expect(await signed(server, 'POST', EVENTS, { name: 'e', channel: 'news', data: '{}' })).toEqual({ status: 200, body: {} });
  });

  it.each<[string, SignOptions, number, RegExp]>([
    ['a wrong secret', { secret: 'nope' }, 401, /secret authentication failed/],
    ['another app key', { key: 'other-key' }, 401, /auth_key/],
    ['a timestamp 11 minutes old', { timestamp: Math.floor(Date.now() / 1000) - 660 }, 401, /auth_timestamp/],
    ['a timestamp 11 minutes ahead', { timestamp: Math.floor(Date.now() / 1000) + 660 }, 401, /auth_timestamp/],
    ['a wrong body_md5', { bodyMd5: 'ec365a775a4cd0599faeb73354201b6f' }, 401, /body_md5/],
  ])('refuses %s with {error, code}', async (_case, options, status, message) => {
    const response = await signed(server, 'POST', EVENTS, { name: 'e', channel: 'news', data: '{}' }, options);
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ error: expect.stringMatching(message), code: status });
  });

  it('refuses a body changed after signing (body_md5 of the raw bytes)', async () => {
    const body = { name: 'e', channel: 'news', data: '{}' };
    const md5 = createHash('md5').update(JSON.stringify(body)).digest('hex');
    // Same JSON value, different bytes: must fail, the digest is over the raw body.
    const response = await signed(server, 'POST', EVENTS, undefined, { raw: JSON.stringify(body, null, 1), bodyMd5: md5 });
    expect(response).toEqual({ status: 401, body: { error: expect.stringMatching(/body_md5/), code: 401 } });
  });

  it('answers 404 for an unknown app id', async () => {
    const response = await signed(server, 'POST', '/apps/nope/events', { name: 'e', channel: 'news', data: '{}' });
    expect(response).toEqual({ status: 404, body: { error: expect.stringMatching(/Unknown app/), code: 404 } });
  });

  it.each<[string, unknown, number, RegExp]>([
    ['a bad channel name', { name: 'e', channel: 'bad channel!', data: '{}' }, 400, /may only contain/],
    ['a # channel other than #server-to-user-', { name: 'e', channel: '#watchlist-1', data: '{}' }, 400, /may only contain/],
    ['a channel name over 200 chars', { name: 'e', channel: 'c'.repeat(201), data: '{}' }, 400, /longer than 200/],
    ['101 channels', { name: 'e', channels: Array.from({ length: 101 }, (_, i) => `c${i}`), data: '{}' }, 400, /at most 100 channels/],
    ['an event name over 200 chars', { name: 'e'.repeat(201), channel: 'news', data: '{}' }, 400, /name: longer than 200/],
    ['data over 10 KB', { name: 'e', channel: 'news', data: 'x'.repeat(10 * 1024 + 1) }, 413, /larger than 10 KB/],
    ['no channel', { name: 'e', data: '{}' }, 400, /channel/],
    ['no name', { channel: 'news', data: '{}' }, 400, /name/],
    ['a malformed socket_id', { name: 'e', channel: 'news', data: '{}', socket_id: 'abc' }, 400, /socket_id/],
  ])('refuses %s', async (_case, body, status, message) => {
    const response = await signed(server, 'POST', EVENTS, body);
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ error: expect.stringMatching(message), code: status });
  });

  it('refuses a batch of 11 events and an invalid item, publishing nothing', async () => {
    const item = { name: 'e', channel: 'news', data: '{}' };
    const tooMany = await signed(server, 'POST', '/apps/app-id/batch_events', { batch: Array.from({ length: 11 }, () => item) });
    expect(tooMany).toEqual({ status: 400, body: { error: expect.stringMatching(/at most 10 events/), code: 400 } });
    const bad = await signed(server, 'POST', '/apps/app-id/batch_events', { batch: [item, { ...item, channel: 'bad name' }] });
    expect(bad).toEqual({ status: 400, body: { error: expect.stringMatching(/batch\.1\.channel/), code: 400 } });
  });

  it('answers user_count only for presence channels', async () => {
    const onPublic = await signed(server, 'GET', '/apps/app-id/channels/news', undefined, { params: { info: 'user_count' } });
    expect(onPublic).toEqual({ status: 400, body: { error: expect.stringMatching(/presence/), code: 400 } });
    const list = await signed(server, 'GET', '/apps/app-id/channels', undefined, { params: { info: 'user_count' } });
    expect(list).toEqual({ status: 400, body: { error: expect.stringMatching(/filter_by_prefix=presence-/), code: 400 } });
    const users = await signed(server, 'GET', '/apps/app-id/channels/news/users');
    expect(users).toEqual({ status: 400, body: { error: expect.stringMatching(/presence/), code: 400 } });
  });

  it('lists occupied channels with filter_by_prefix and info, and batches with info', async () => {
    const a = pusherClient(server, { userId: '7' });
    clients.push(a);
    await connected(a);
    await Promise.all([subscribed(a, 'news'), subscribed(a, 'presence-room'), subscribed(a, 'private-x')]);
    const sdk = serverSdk(server);
    expect(await (await sdk.get({ path: '/channels' })).json()).toEqual({ channels: { news: {}, 'presence-room': {}, 'private-x': {} } });
    expect(await (await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })).json()).toEqual({
      channels: { 'presence-room': { user_count: 1 } },
    });
    expect(await (await sdk.get({ path: '/channels/empty-one' })).json()).toEqual({ occupied: false });
    const batch = await sdk.triggerBatch([
      { channel: 'news', name: 'a', data: { n: 1 }, info: 'subscription_count' },
      { channel: 'other', name: 'b', data: { n: 2 } },
      { channel: 'presence-room', name: 'c', data: { n: 3 }, info: 'user_count,subscription_count' },
    ]);
    expect(await batch.json()).toEqual({ batch: [{ subscription_count: 1 }, {}, { user_count: 1, subscription_count: 1 }] });
  });

  it('rate-limits reads per app with 429', async () => {
    await server.close();
    server = await startApp({ HERALD_APPS: JSON.stringify([{ id: 'app-id', key: 'app-key', secret: 'app-secret', maxReadRequestsPerSecond: 2 }]) });
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await signed(server, 'GET', '/apps/app-id/channels')).status);
    expect(results).toEqual([200, 200, 429]);
  });
});
