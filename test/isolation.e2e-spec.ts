import { createHmac, randomUUID } from 'node:crypto';
import request from 'supertest';
import { serverSdk } from './support/pusher-clients.js';
import { startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';
import type { TestClient } from './support/ws-client.js';

/**
 * Randomized tenant and grant isolation: 3 tenants sharing channel names and user ids, random
 * connects / subscribes / joins / publishes / disconnects over all five protocols and REST, for a
 * bounded time. Every frame every socket receives is checked as it arrives against what that
 * connection was entitled to: the message's tenant must be the connection's, a channel message must
 * be on a channel the server confirmed to this connection before, a user message must name its user.
 * Every subscribe/join/publish answer is checked against an independent model of the policy.
 *
 * Seeded (HERALD_ISOLATION_SEED, printed on failure) so a failing sequence of operations replays;
 * HERALD_ISOLATION_MS bounds the time (default 10 s).
 */
const SEED = Number(process.env.HERALD_ISOLATION_SEED ?? 20261201);
const DURATION_MS = Number(process.env.HERALD_ISOLATION_MS ?? 10_000);
const MAX_CONNECTIONS = 36;
/** Bound on each awaited answer (generous: the machine may be loaded; absence is never awaited). */
const REPLY_MS = 10_000;

const TENANTS = [0, 1, 2].map((n) => ({ id: `tenant-${n}`, key: `key-${n}`, secret: `secret-${n}`, apiKey: `api-key-${n}-0000` }));
type Tenant = (typeof TENANTS)[number];
const CHANNELS = ['news', 'team:1', 'private-orders', 'private-orders-1', 'presence-room'];
const USERS = ['u1', 'u2', 'u3'];
const PATTERN_SETS: (string[] | undefined)[] = [
  undefined,
  ['*'],
  ['news'],
  ['team:*'],
  ['private-orders'],
  ['private-*', 'news'],
  ['presence-*'],
  ['p*', 'pr*'],
  ['private-orders-*', '*'],
  ['*', 'presence-room'],
];
type Protocol = 'bus' | 'pusher' | 'rpc' | 'jsonrpc' | 'topics';
const PROTOCOLS: Protocol[] = ['bus', 'pusher', 'rpc', 'jsonrpc', 'topics'];

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- The policy as the issue states it, written independently of src/channels/channel-policy.ts ----
const KIND_PREFIXES = ['private-encrypted-', 'private-', 'presence-', '#'];
const kindPrefix = (channel: string): string => KIND_PREFIXES.find((prefix) => channel.startsWith(prefix)) ?? '';
const restricted = (channel: string): boolean => kindPrefix(channel) !== '';
const matches = (pattern: string, channel: string): boolean => (pattern.endsWith('*') ? channel.startsWith(pattern.slice(0, -1)) : pattern === channel);
/** An entry names a restricted channel: exactly, or a prefix pattern already carrying the channel's kind prefix. */
const names = (pattern: string, channel: string): boolean => {
  if (!pattern.endsWith('*')) return pattern === channel;
  const literal = pattern.slice(0, -1);
  return channel.startsWith(literal) && kindPrefix(literal) === kindPrefix(channel);
};
function expectedJoin(protocol: 'rpc' | 'jsonrpc' | 'topics', patterns: string[] | undefined, channel: string): boolean {
  if (protocol === 'topics') {
    if (patterns && !patterns.some((p) => matches(p, channel))) return false;
    return !restricted(channel) || (patterns ?? []).some((p) => names(p, channel));
  }
  if (!patterns) return false;
  return restricted(channel) ? patterns.some((p) => names(p, channel)) : patterns.some((p) => matches(p, channel));
}
const expectedPublish = (patterns: string[] | undefined, channel: string, scopes: string[]): boolean =>
  scopes.includes('publish') && !!patterns && (restricted(channel) ? patterns.some((p) => names(p, channel)) : patterns.some((p) => matches(p, channel)));

// ---- What was published, and what each connection is entitled to ----
type Published = { tenant: string; channel?: string; users?: string[]; excluded?: Actor };
interface Actor {
  n: number;
  protocol: Protocol;
  tenant: Tenant;
  userId: string;
  patterns?: string[];
  scopes: string[];
  client: TestClient;
  socketId?: string;
  /** Channels whose subscription the server confirmed on this socket. */
  confirmed: Set<string>;
  /** RPC subscribe requests in flight: request id → channel (confirmed when the reply is read, in frame order). */
  subscribing: Map<number, string>;
  received: number;
  nextId: number;
}

function midsIn(value: unknown, out: string[], depth = 0): string[] {
  if (depth > 6) return out;
  if (typeof value === 'string') {
    if (value.startsWith('{')) {
      try {
        midsIn(JSON.parse(value), out, depth + 1);
      } catch {
        // not JSON: no mid inside
      }
    }
  } else if (Array.isArray(value)) {
    for (const item of value) midsIn(item, out, depth + 1);
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record.mid === 'string') out.push(record.mid);
    for (const item of Object.values(record)) midsIn(item, out, depth + 1);
  }
  return out;
}

describe('tenant and grant isolation (randomized, seeded)', () => {
  let server: RunningApp;
  const published = new Map<string, Published>();
  const violations: string[] = [];
  const actors: Actor[] = [];
  const deliveriesByProtocol = new Map<Protocol, number>(PROTOCOLS.map((p) => [p, 0]));
  let counter = 0;

  beforeAll(async () => {
    server = await startApp({
      HERALD_APPS: JSON.stringify(
        TENANTS.map((t) => ({ id: t.id, key: t.key, secret: t.secret, apiKeys: [t.apiKey], enableClientMessages: true, maxClientEventsPerSecond: -1 })),
      ),
      HERALD_MAX_FRAMES_PER_SECOND: '-1',
    });
  });
  afterAll(async () => {
    await server.close();
  });

  const check = (actor: Actor, frame: unknown): void => {
    for (const mid of midsIn(frame, [])) {
      const message = published.get(mid);
      const where = `#${actor.n} ${actor.protocol}@${actor.tenant.id} (user ${actor.userId}, grants ${JSON.stringify(actor.patterns)})`;
      if (!message) {
        violations.push(`${where} received unknown message ${mid}`);
        continue;
      }
      actor.received++;
      deliveriesByProtocol.set(actor.protocol, (deliveriesByProtocol.get(actor.protocol) ?? 0) + 1);
      if (message.tenant !== actor.tenant.id) violations.push(`${where} received ${mid} of ${message.tenant} (cross-tenant)`);
      else if (message.channel !== undefined && !actor.confirmed.has(message.channel)) violations.push(`${where} received ${mid} on ${message.channel} without a confirmed subscription`);
      else if (message.users && !message.users.includes(actor.userId)) violations.push(`${where} received ${mid} for users ${message.users.join(',')}`);
      else if (message.excluded === actor) violations.push(`${where} received its own client event ${mid}`);
    }
  };

  const register = (message: Published): string => {
    const mid = `m${++counter}-${randomUUID().slice(0, 8)}`;
    published.set(mid, message);
    return mid;
  };

  async function connect(random: () => number): Promise<void> {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const protocol = pick(PROTOCOLS);
    const tenant = pick(TENANTS);
    const userId = pick(USERS);
    const patterns = pick(PATTERN_SETS);
    const scopes = pick([['subscribe'], ['subscribe', 'publish'], ['publish']]);
    const token = userToken({ sub: userId, secret: tenant.secret, scope: scopes, ...(patterns && { authorizedChannels: patterns }) });
    const path =
      protocol === 'pusher'
        ? `/app/${tenant.key}?protocol=7&client=js&version=8.6.0`
        : `/ws/${protocol}?app=${tenant.key}&token=${token}`;
    const client = await server.connect(path);
    const actor: Actor = { n: actors.length, protocol, tenant, userId, patterns, scopes, client, confirmed: new Set(), subscribing: new Map(), received: 0, nextId: 1 };
    client.socket.on('message', (data) => {
      let frame: unknown;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        return;
      }
      // A confirmation counts from its own frame on: the server may write the reply and the channel's next
      // message in one TCP read, and both are read before the awaiting code below resumes.
      confirmFrom(actor, frame);
      check(actor, frame);
    });
    if (protocol === 'pusher') {
      const established = await client.next<{ event: string; data: string }>((f) => f.event === 'pusher:connection_established', REPLY_MS);
      actor.socketId = (JSON.parse(established.data) as { socket_id: string }).socket_id;
    }
    actors.push(actor);
  }

  /** Marks a channel confirmed when `frame` is the server's confirmation of this actor's subscription. */
  const confirmFrom = (actor: Actor, frame: unknown): void => {
    if (typeof frame !== 'object' || frame === null) return;
    const f = frame as { topic?: unknown; payload?: unknown; event?: unknown; channel?: unknown; requestId?: unknown; id?: unknown; result?: unknown };
    if (actor.protocol === 'topics' && f.topic === '@join' && Array.isArray(f.payload)) {
      for (const channel of f.payload) if (typeof channel === 'string') actor.confirmed.add(channel);
    } else if (actor.protocol === 'pusher' && f.event === 'pusher_internal:subscription_succeeded' && typeof f.channel === 'string') {
      actor.confirmed.add(f.channel);
    } else if (actor.protocol === 'rpc' || actor.protocol === 'jsonrpc') {
      const id = actor.protocol === 'rpc' ? f.requestId : f.id;
      const channel = typeof id === 'number' ? actor.subscribing.get(id) : undefined;
      if (channel !== undefined && f.result !== undefined) actor.confirmed.add(channel);
    }
  };

  const sign = (secret: string, key: string, text: string) => `${key}:${createHmac('sha256', secret).update(text).digest('hex')}`;

  async function subscribe(actor: Actor, channel: string, random: () => number): Promise<void> {
    const { client, protocol } = actor;
    if (actor.confirmed.has(channel)) return;
    if (protocol === 'bus') return;
    if (protocol === 'topics') {
      client.send({ command: 'join', broker: 'memory', topics: [channel], payload: '' });
      const answer = await client.next<{ topic: string; payload: unknown }>(
        (f) => (f.topic === '@join' || f.topic === '#join') && JSON.stringify(f.payload) === JSON.stringify([channel]),
        REPLY_MS,
      );
      const expected = expectedJoin('topics', actor.patterns, channel);
      if ((answer.topic === '@join') !== expected) violations.push(`topics join ${channel} with ${JSON.stringify(actor.patterns)}: got ${answer.topic}, expected ${expected ? '@join' : '#join'}`);
      if (answer.topic === '@join') actor.confirmed.add(channel);
      return;
    }
    if (protocol === 'rpc' || protocol === 'jsonrpc') {
      const id = actor.nextId++;
      actor.subscribing.set(id, channel);
      client.send(protocol === 'rpc' ? { id, method: 'subscribe', params: { channel } } : { jsonrpc: '2.0', id, method: 'subscribe', params: { channel } });
      const reply = await client.next<{ requestId?: number; id?: number; result?: unknown; error?: unknown }>(
        (f) => (protocol === 'rpc' ? f.requestId === id : f.id === id) && ('result' in f || 'error' in f),
        REPLY_MS,
      );
      const expected = actor.scopes.includes('subscribe') && expectedJoin(protocol, actor.patterns, channel);
      if ((reply.result !== undefined) !== expected) violations.push(`${protocol} subscribe ${channel} with ${JSON.stringify(actor.patterns)} ${actor.scopes.join(',')}: got ${JSON.stringify(reply)}, expected ${expected}`);
      actor.subscribing.delete(id);
      if (reply.result !== undefined) actor.confirmed.add(channel);
      return;
    }
    // Pusher: restricted names need a signature; one in three is signed with another tenant's secret.
    const forged = random() < 0.33;
    const secret = forged ? TENANTS[(TENANTS.indexOf(actor.tenant) + 1) % TENANTS.length].secret : actor.tenant.secret;
    const data: Record<string, unknown> = { channel };
    if (channel.startsWith('presence-')) {
      data.channel_data = JSON.stringify({ user_id: actor.userId });
      data.auth = sign(secret, actor.tenant.key, `${actor.socketId}:${channel}:${data.channel_data as string}`);
    } else if (channel.startsWith('private-')) {
      data.auth = sign(secret, actor.tenant.key, `${actor.socketId}:${channel}`);
    }
    client.send({ event: 'pusher:subscribe', data });
    const answer = await client.next<{ event: string; channel?: string }>(
      (f) => (f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:subscription_error') && f.channel === channel,
      REPLY_MS,
    );
    const expected = !restricted(channel) || !forged;
    const succeeded = answer.event === 'pusher_internal:subscription_succeeded';
    if (succeeded !== expected) violations.push(`pusher subscribe ${channel} (forged ${forged}): got ${answer.event}`);
    if (succeeded) actor.confirmed.add(channel);
  }

  async function publish(actor: Actor | undefined, random: () => number): Promise<void> {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const tenant = actor?.tenant ?? pick(TENANTS);
    const channel = pick(CHANNELS);
    const how = actor ? actor.protocol : pick(['rest', 'pusher-api', 'messages-tenant', 'messages-user'] as const);
    const auth = { Authorization: `Bearer ${tenant.apiKey}` };
    switch (how) {
      case 'rest': {
        const mid = register({ tenant: tenant.id, channel });
        await request(server.baseUrl).post('/api/publish').set(auth).send({ channel, event: 'e', payload: { mid } }).expect(200);
        return;
      }
      case 'pusher-api': {
        if (channel.includes(':')) return; // the `pusher` SDK refuses names with ':'
        const mid = register({ tenant: tenant.id, channel });
        await serverSdk(server, { appId: tenant.id, key: tenant.key, secret: tenant.secret }).trigger(channel, 'e', { mid });
        return;
      }
      case 'messages-tenant': {
        const mid = register({ tenant: tenant.id });
        await request(server.baseUrl).post('/api/messages').set(auth).send({ cmd: 'ACTION', data: { mid } }).expect(202);
        return;
      }
      case 'messages-user': {
        const user = pick(USERS);
        const mid = register({ tenant: tenant.id, users: [user] });
        await request(server.baseUrl).post('/api/messages').set(auth).send({ cmd: 'ACTION', data: { mid }, to: { user } }).expect(202);
        return;
      }
      case 'rpc':
      case 'jsonrpc': {
        if (!actor) return;
        const expected = expectedPublish(actor.patterns, channel, actor.scopes);
        // Registered before sending, so a delivery racing the reply is known; a refused publish must never arrive anywhere.
        const mid = register(expected ? { tenant: tenant.id, channel } : { tenant: 'nobody' });
        const id = actor.nextId++;
        const params = { channel, event: 'e', payload: { mid } };
        actor.client.send(how === 'rpc' ? { id, method: 'publish', params } : { jsonrpc: '2.0', id, method: 'publish', params });
        const reply = await actor.client.next<{ requestId?: number; id?: number; result?: unknown; error?: unknown }>(
          (f) => (how === 'rpc' ? f.requestId === id : f.id === id) && ('result' in f || 'error' in f),
          REPLY_MS,
        );
        if ((reply.result !== undefined) !== expected) violations.push(`${how} publish ${channel} with ${JSON.stringify(actor.patterns)} ${actor.scopes.join(',')}: got ${JSON.stringify(reply)}`);
        return;
      }
      case 'pusher': {
        if (!actor) return;
        // Client events: only on confirmed private/presence channels (Pusher's rule); never echoed to the sender.
        const own = [...actor.confirmed].filter((name) => restricted(name));
        if (own.length === 0) return;
        const target = pick(own);
        const mid = register({ tenant: tenant.id, channel: target, excluded: actor });
        actor.client.send({ event: 'client-e', channel: target, data: { mid } });
        return;
      }
      case 'bus':
      case 'topics':
        return; // no client publish on these protocols
      default: {
        const unreachable: never = how;
        throw new Error(`unknown publish path ${String(unreachable)}`);
      }
    }
  }

  it(`delivers nothing across a tenant or past a grant (seed ${SEED})`, async () => {
    const random = prng(SEED);
    const started = Date.now();
    let steps = 0;
    try {
      while (Date.now() - started < DURATION_MS && steps < 50_000) {
        steps++;
        const live = actors.filter((actor) => actor.client.closeCode === undefined);
        const roll = random();
        if (live.length < 6 || (roll < 0.12 && live.length < MAX_CONNECTIONS)) {
          await connect(random);
        } else if (roll < 0.45) {
          const actor = live[Math.floor(random() * live.length)];
          await subscribe(actor, CHANNELS[Math.floor(random() * CHANNELS.length)], random);
        } else if (roll < 0.7) {
          await publish(undefined, random);
        } else if (roll < 0.97) {
          await publish(live[Math.floor(random() * live.length)], random);
        } else {
          await live[Math.floor(random() * live.length)].client.close();
        }
        if (violations.length > 0) break;
      }
      // Let what is in flight arrive (and be checked) behind one last fenced message per tenant.
      const fences = new Map<string, string>();
      for (const tenant of TENANTS) {
        const mid = register({ tenant: tenant.id, channel: 'news' });
        fences.set(tenant.id, mid);
        await request(server.baseUrl).post('/api/publish').set({ Authorization: `Bearer ${tenant.apiKey}` }).send({ channel: 'news', event: 'fence', payload: { mid } }).expect(200);
      }
      await Promise.all(
        actors
          .filter((actor) => actor.client.closeCode === undefined && actor.confirmed.has('news'))
          .map((actor) => actor.client.next((frame) => midsIn(frame, []).includes(fences.get(actor.tenant.id) ?? ''), REPLY_MS)),
      );
    } catch (error) {
      throw new Error(`seed ${SEED}, step ${steps}: ${(error as Error).message}`);
    }
    expect({ seed: SEED, violations: violations.slice(0, 20) }).toEqual({ seed: SEED, violations: [] });
    // Not vacuous: every protocol received messages, and many were checked.
    for (const protocol of PROTOCOLS) expect({ protocol, delivered: (deliveriesByProtocol.get(protocol) ?? 0) > 0 }).toEqual({ protocol, delivered: true });
    expect(actors.reduce((sum, actor) => sum + actor.received, 0)).toBeGreaterThan(100);
    // The figures of this run, for the README.
    process.stdout.write(`isolation: seed ${SEED}, ${steps} steps in ${Date.now() - started} ms, ${actors.length} connections, ${published.size} messages, ${actors.reduce((s, a) => s + a.received, 0)} deliveries checked\n`);
  }, DURATION_MS + 40_000);
});
