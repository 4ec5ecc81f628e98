import type { WebSocket } from 'ws';
import type { Envelope, StreamPosition } from '../broadcast/envelope.js';
import { ChannelAuthorizer } from '../channels/channel-authorizer.service.js';
import type { AppConfig, HeraldConfig } from '../config/herald-config.js';
import { Connection } from '../connections/connection.js';
import { ConnectionRegistry } from '../connections/connection-registry.service.js';
import type { HistoryRead, HistoryStore } from '../history/history.store.js';
import { MemoryHistoryStore } from '../history/memory-history.store.js';
import { BroadcasterCodec } from './broadcaster.codec.js';
import { newRpcSession, RPC_PENDING_LIMIT, type RpcSession } from './rpc.session.js';
import { RpcSubscriptions } from './rpc-subscriptions.service.js';

const APP = { id: 'app', maxChannelNameLength: 200 } as AppConfig;
const LIMITS = { size: 100, ttlSeconds: 300 };

/** The real in-memory store, but its reads resolve only when the test says so (a slow Redis, in effect). */
class GatedStore implements HistoryStore {
  private release?: () => void;
  constructor(
    readonly inner: MemoryHistoryStore,
    private readonly snapshotAt: 'call' | 'release',
  ) {}
  append(...args: Parameters<HistoryStore['append']>): ReturnType<HistoryStore['append']> {
    return this.inner.append(...args);
  }
  position(tenant: string, channel: string): Promise<StreamPosition> {
    return this.inner.position(tenant, channel);
  }
  async since(tenant: string, channel: string, since: StreamPosition): Promise<HistoryRead> {
    const early = this.snapshotAt === 'call' ? await this.inner.since(tenant, channel, since) : undefined;
    await new Promise<void>((resolve) => (this.release = resolve));
    return early ?? this.inner.since(tenant, channel, since);
  }
  open(): void {
    this.release?.();
  }
}

/** One RPC connection subscribed through RpcSubscriptions over a gated memory store; `sent` collects its frames. */
function setup(snapshotAt: 'call' | 'release') {
  const inner = new MemoryHistoryStore();
  const store = new GatedStore(inner, snapshotAt);
  const registry = new ConnectionRegistry();
  const codec = new BroadcasterCodec();
  const subscriptions = new RpcSubscriptions(registry, store, new ChannelAuthorizer({ authorizeTimeoutMs: 1000 } as HeraldConfig), { maxChannelsPerConnection: 128 } as HeraldConfig);
  const sent: string[] = [];
  const socket = { readyState: 1, send: (text: string) => sent.push(text) } as unknown as WebSocket;
  const session: RpcSession = newRpcSession(APP, true);
  const connection = new Connection<RpcSession>('c1', { tenant: 'app', userId: 'u', scopes: ['subscribe'], authorizedChannels: ['*'] }, 'rpc', socket, codec, session);
  registry.add(connection as Connection);
  return { inner, store, registry, codec, subscriptions, sent, session, connection };
}

describe.each(['call', 'release'] as const)('RpcSubscriptions recovery (history snapshot taken at %s)', (snapshotAt) => {
  it('sends the reply, then the replay, then live messages queued during the read: in order, none lost, none doubled', async () => {
    const { inner, store, registry, codec, subscriptions, sent, session, connection } = setup(snapshotAt);

    const publish = async (n: number): Promise<Envelope> => {
      const envelope = { id: `m${n}`, tenant: 'app', target: { kind: 'channel', channel: 'news' }, event: 'e', data: { n }, createTime: 't', publishedAt: 0, origin: 'rest' } as Envelope;
      envelope.position = await inner.append('app', 'news', { id: envelope.id, channel: 'news', event: 'e', data: { n }, createTime: 't' }, LIMITS);
      return envelope;
    };
    /** What the DeliveryService does for each recipient. */
    const deliver = (envelope: Envelope): string | null => {
      const frame = codec.encode(envelope);
      if (frame === null || typeof frame === 'string') throw new Error('expected a personalized frame');
      return frame.render(connection as Connection);
    };

    const published: Envelope[] = [];
    for (let n = 1; n <= 5; n++) published.push(await publish(n));
    const epoch = published[0].position?.epoch ?? '';

    const pendingOutcome = subscriptions.subscribe(connection, { channel: 'news', since: { offset: 2, epoch } });
    // Published before the read but delivered live only now (cluster latency): already in the replay.
    expect(deliver(published[4])).toBeNull();
    // Published during the read.
    const six = await publish(6);
    expect(deliver(six)).toBeNull();
    const seven = await publish(7);
    expect(deliver(seven)).toBeNull();
    store.open();
    const outcome = await pendingOutcome;
    expect(outcome.result).toMatchObject({ recovered: true, epoch });
    expect(sent).toEqual([]);
    outcome.afterReply?.();

    const frames = sent.map((text) => JSON.parse(text) as { params: { seq: number; offset: number; payload: { n: number } } });
    expect(frames.map((f) => [f.params.seq, f.params.offset, f.params.payload.n])).toEqual([
      [1, 3, 3],
      [2, 4, 4],
      [3, 5, 5],
      [4, 6, 6],
      [5, 7, 7],
    ]);
    // Live from now on: a late copy of a replayed message is skipped, new messages continue the sequence.
    expect(deliver(published[3])).toBeNull();
    const eight = await publish(8);
    expect(JSON.parse(deliver(eight) ?? 'null')).toMatchObject({ method: 'broadcast', params: { seq: 6, offset: 8 } });
  });

  if (snapshotAt === 'call') {
    it('queues at most RPC_PENDING_LIMIT live messages behind a slow read; the older ones leave a seq gap', async () => {
      const { inner, store, registry, codec, subscriptions, sent, connection } = setup(snapshotAt);
      const start = await inner.position('app', 'news');
      const pendingOutcome = subscriptions.subscribe(connection, { channel: 'news', since: start });
      const total = RPC_PENDING_LIMIT + 72;
      for (let n = 1; n <= total; n++) {
        const envelope = { id: `m${n}`, tenant: 'app', target: { kind: 'channel', channel: 'news' }, event: 'e', data: { n }, createTime: 't', publishedAt: 0, origin: 'rest' } as Envelope;
        envelope.position = await inner.append('app', 'news', { id: envelope.id, channel: 'news', event: 'e', data: { n }, createTime: 't' }, LIMITS);
        const frame = codec.encode(envelope);
        if (frame === null || typeof frame === 'string') throw new Error('expected a personalized frame');
        expect(frame.render(connection as Connection)).toBeNull();
      }
      expect(connection.session.subscriptions.get('news')?.pending).toHaveLength(RPC_PENDING_LIMIT);
      store.open();
      (await pendingOutcome).afterReply?.();
      const frames = sent.map((text) => JSON.parse(text) as { params: { seq: number; payload: { n: number } } });
      expect(frames).toHaveLength(RPC_PENDING_LIMIT);
      // The newest are kept, numbered after the gap the dropped ones leave.
      expect(frames[0].params).toMatchObject({ seq: 73, payload: { n: 73 } });
      expect(frames[frames.length - 1].params).toMatchObject({ seq: total, payload: { n: total } });
    });
  }
});
