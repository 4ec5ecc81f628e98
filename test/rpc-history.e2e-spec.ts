import type { Socket } from 'node:net';
import request from 'supertest';
import { eventually } from './support/eventually.js';
import { JSONRPC, RPC, RpcClient, type Framing } from './support/rpc-framings.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';

const auth = { Authorization: `Bearer ${DEV_API_KEY}` };
const token = (sub = 'ann') => userToken({ sub, scope: ['subscribe', 'publish'], authorizedChannels: ['*'] });

type Broadcast = { id: string; seq: number; offset: number; epoch: string; channel: string; event: string; payload: { n: number } };

describe('RPC seq, offsets and recovery', () => {
  let server: RunningApp | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const connect = async (framing: Framing = RPC, sub?: string): Promise<RpcClient> => {
    if (!server) throw new Error('no server');
    return new RpcClient(framing, await server.connect(`${framing.path}?token=${token(sub)}`));
  };
  const publish = async (channel: string, n: number): Promise<{ id: string; offset: number; epoch: string }> => {
    if (!server) throw new Error('no server');
    const res = await request(server.baseUrl).post('/api/publish').set(auth).send({ channel, event: 'tick', payload: { n } });
    expect(res.status).toBe(200);
    return res.body as { id: string; offset: number; epoch: string };
  };
  const params = (frames: { params: Record<string, unknown> }[]) => frames.map((frame) => frame.params as unknown as Broadcast);

  it('numbers messages per subscription (seq) and per channel (offset), whoever published them', async () => {
    server = await startApp();
    const early = await connect(RPC, 'early');
    expect(await early.ok('subscribe', { channel: 'news' })).toMatchObject({ offset: 0 });
    await early.ok('subscribe', { channel: 'sports' });
    const first = await publish('news', 1);
    expect(first.offset).toBe(1);
    expect((await early.broadcast('news')).params).toMatchObject({ seq: 1, offset: 1, epoch: first.epoch });
    const late = await connect(JSONRPC, 'late');
    expect(await late.ok('subscribe', { channel: 'news' })).toMatchObject({ offset: 1, epoch: first.epoch });
    expect(await early.ok('publish', { channel: 'news', event: 'tick', payload: { n: 2 } })).toMatchObject({ offset: 2 });
    await publish('sports', 1);
    await publish('news', 3);
    const earlyNews = params([await early.broadcast('news'), await early.broadcast('news')]);
    expect(earlyNews.map((m) => [m.seq, m.offset])).toEqual([
      [2, 2],
      [3, 3],
    ]);
    const lateNews = params([await late.broadcast('news'), await late.broadcast('news')]);
    expect(lateNews.map((m) => [m.seq, m.offset])).toEqual([
      [1, 2],
      [2, 3],
    ]);
    expect(lateNews.map((m) => m.id)).toEqual(earlyNews.map((m) => m.id));
    // seq is per subscription: the sports subscription of the same connection starts at 1.
    expect((await early.broadcast('sports')).params).toMatchObject({ seq: 1, offset: 1 });
    // Re-subscribing starts a new subscription.
    await late.ok('unsubscribe', { channel: 'news' });
    expect(await late.ok('subscribe', { channel: 'news' })).toMatchObject({ offset: 3 });
    await publish('news', 4);
    expect((await late.broadcast('news')).params).toMatchObject({ seq: 1, offset: 4 });
  });

  it('shows the messages a lagging connection skipped as a gap in seq (seq = offset - subscribe offset), while a healthy one gets all', async () => {
    server = await startApp({ HERALD_OUTBOX_SIZE: '4', HERALD_SOCKET_HIGH_WATER_MARK: '16384' });
    await publish('feed', 0);
    const stalled = await connect(RPC, 'slow');
    const healthy = await connect(JSONRPC, 'fast');
    const base = Number((await stalled.ok('subscribe', { channel: 'feed' })).offset);
    await healthy.ok('subscribe', { channel: 'feed' });
    expect(base).toBe(1);
    const tcp = (stalled.client.socket as unknown as { _socket: Socket })._socket;
    tcp.pause();

    const total = 400;
    const blob = 'x'.repeat(16 * 1024);
    for (let n = 1; n <= total; n++) {
      const res = await request(server.baseUrl).post('/api/publish').set(auth).send({ channel: 'feed', event: 'tick', payload: { n, blob } });
      expect(res.status).toBe(200);
    }
    await eventually(() => expect(healthy.broadcasts('feed')).toHaveLength(total), 10_000);
    expect(params(healthy.broadcasts('feed')).map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));

    tcp.resume();
    await stalled.client.next((frame) => frame.method === 'broadcast' && (frame.params as { seq?: number }).seq === total, 10_000);
    const received = [...params(stalled.broadcasts('feed')), { seq: total, offset: base + total } as Broadcast];
    const seqs = received.map((m) => m.seq);
    // Strictly increasing, ending with the newest; some skipped (the gap), none repeated.
    expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1])).toBe(true);
    expect(received.length).toBeLessThan(total);
    // Every delivered message carries the number it had on the subscription: seq = offset - subscribe offset,
    // so the gap is exactly the skipped messages, and seq counts what the connection was sent or skipped.
    for (const message of received) expect(message.seq).toBe(message.offset - base);
    const gaps = seqs.filter((seq, i) => i > 0 && seq - seqs[i - 1] > 1).length;
    expect(gaps).toBeGreaterThanOrEqual(1);
    // The outbox held at most 4 behind the socket buffer: the tail is contiguous.
    expect(seqs.slice(-4)).toEqual([total - 3, total - 2, total - 1, total]);
    expect(await stalled.ok('ping')).toHaveProperty('timestamp');
  }, 60_000);

  it.each([RPC, JSONRPC])('$name: recovers missed messages in order, then continues live without duplicates or gaps', async (framing) => {
    server = await startApp();
    const first = await connect(framing);
    const subscribed = await first.ok('subscribe', { channel: 'news' });
    await publish('news', 1);
    await publish('news', 2);
    const seen = params([await first.broadcast('news'), await first.broadcast('news')]);
    const last = { offset: seen[1].offset, epoch: seen[1].epoch };
    expect(last.epoch).toBe(subscribed.epoch);
    await first.client.close();

    for (let n = 3; n <= 5; n++) await publish('news', n);
    const again = await connect(framing);
    const reply = await again.ok('subscribe', { channel: 'news', since: last });
    expect(reply).toMatchObject({ recovered: true, offset: 5, epoch: last.epoch });
    await publish('news', 6);
    const frames = params([await again.broadcast('news'), await again.broadcast('news'), await again.broadcast('news'), await again.broadcast('news')]);
    expect(frames.map((m) => [m.seq, m.offset, m.payload.n])).toEqual([
      [1, 3, 3],
      [2, 4, 4],
      [3, 5, 5],
      [4, 6, 6],
    ]);
    await again.client.expectSilence((frame) => frame.method === 'broadcast');
    // Nothing missed: recovered with no replay.
    const upToDate = await connect(framing);
    expect(await upToDate.ok('subscribe', { channel: 'news', since: { offset: 6, epoch: last.epoch } })).toMatchObject({ recovered: true, offset: 6 });
    await upToDate.client.expectSilence((frame) => frame.method === 'broadcast');
  });

  it('neither loses nor doubles messages published while the history is read', async () => {
    server = await startApp({ HERALD_MAX_FRAMES_PER_SECOND: '-1' });
    const watcher = await connect(RPC, 'watcher');
    const start = await watcher.ok('subscribe', { channel: 'busy' });
    const publisher = await connect(RPC, 'pub');
    let publishing = true;
    let sent = 0;
    const pump = (async () => {
      while (publishing) {
        // Several in flight at once, so some land while the subscriber below reads history.
        await Promise.all([1, 2, 3, 4].map(() => publisher.ok('publish', { channel: 'busy', event: 'tick', payload: { n: ++sent } })));
      }
    })();
    await eventually(() => expect(sent).toBeGreaterThan(40));
    const late = await connect(JSONRPC, 'late');
    const since = { offset: Math.max(0, sent - 30), epoch: String(start.epoch) };
    const reply = await late.ok('subscribe', { channel: 'busy', since });
    expect(reply.recovered).toBe(true);
    await eventually(() => expect(sent).toBeGreaterThan(Number(reply.offset) + 40));
    publishing = false;
    await pump;
    await eventually(() => expect(late.broadcasts('busy').at(-1)?.params.offset).toBe(sent), 5000);
    const got = params(late.broadcasts('busy'));
    expect(got.map((m) => m.offset)).toEqual(Array.from({ length: sent - since.offset }, (_, i) => since.offset + 1 + i));
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
  });

  it('answers recovered:false when the epoch is unknown or the history window is too short, then continues live', async () => {
    server = await startApp({
      HERALD_APPS: JSON.stringify([{ id: 'app-id', key: 'app-key', secret: 'app-secret', apiKeys: [DEV_API_KEY], historySize: 2 }]),
    });
    const client = await connect();
    const start = await client.ok('subscribe', { channel: 'news' });
    for (let n = 1; n <= 5; n++) await publish('news', n);
    await client.client.close();

    const tooOld = await connect();
    expect(await tooOld.ok('subscribe', { channel: 'news', since: { offset: 1, epoch: start.epoch } })).toMatchObject({ recovered: false, offset: 5, epoch: start.epoch });
    const withinWindow = await connect();
    expect(await withinWindow.ok('subscribe', { channel: 'news', since: { offset: 3, epoch: start.epoch } })).toMatchObject({ recovered: true });
    expect(params([await withinWindow.broadcast('news'), await withinWindow.broadcast('news')]).map((m) => m.offset)).toEqual([4, 5]);
    const otherEpoch = await connect();
    expect(await otherEpoch.ok('subscribe', { channel: 'news', since: { offset: 5, epoch: 'not-the-epoch' } })).toMatchObject({ recovered: false, offset: 5 });
    await tooOld.client.expectSilence((frame) => frame.method === 'broadcast');
    await publish('news', 6);
    for (const client of [tooOld, otherEpoch]) expect((await client.broadcast('news')).params).toMatchObject({ seq: 1, offset: 6 });
  });

  it('answers recovered:false with a new epoch after an in-memory restart', async () => {
    server = await startApp();
    const client = await connect();
    await client.ok('subscribe', { channel: 'news' });
    await publish('news', 1);
    const last = (await client.broadcast('news')).params as unknown as Broadcast;
    await server.close();

    server = await startApp();
    const again = await connect();
    const reply = await again.ok('subscribe', { channel: 'news', since: { offset: last.offset, epoch: last.epoch } });
    expect(reply).toMatchObject({ recovered: false, offset: 0 });
    expect(reply.epoch).not.toBe(last.epoch);
    const next = await publish('news', 2);
    expect(next).toMatchObject({ offset: 1, epoch: reply.epoch });
  });
});
