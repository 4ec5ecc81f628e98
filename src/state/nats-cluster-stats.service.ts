import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Subscription } from '@nats-io/nats-core';
import { ClusterNode } from '../cluster/cluster-node.js';
import { localUserCounts, type ClusterStats, type TenantCounts } from '../cluster/cluster-stats.js';
import { NatsClient } from '../cluster/nats.client.js';
import { AppRegistry } from '../config/app-registry.service.js';
import { HeraldConfig } from '../config/herald-config.js';
import { ConnectionRegistry } from '../connections/connection-registry.service.js';
import { TransportUnavailableError } from '../errors/app.errors.js';
import type { ConnectionCounter } from '../pusher/state/connection-counter.js';

interface Announcement {
  node: string;
  /** app → connections on that node. */
  connections: Record<string, number>;
}

interface StatsReply {
  node: string;
  connections: number;
  /** user → connections on that node. */
  users: Record<string, number>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Cluster-wide counts over NATS, which has no shared storage (Sockudo's approach):
 * - every node announces itself and its per-app connection counts every `nodeHeartbeatMs` on
 *   `<prefix>.nodes`; peers silent for `nodeTimeoutMs` are forgotten. `count(app)` (the per-app
 *   connection limit) adds the peers' last announcements to the local count, so a connect never
 *   waits on other nodes; it may lag by one heartbeat.
 * - exact answers (`GET /api/connections`, `GET /api/users/:id`) ask every node by request/reply on
 *   `<prefix>.stats` and wait for as many replies as there are live nodes (bounded by a timeout).
 */
@Injectable()
export class NatsClusterStats implements ClusterStats, ConnectionCounter, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('NatsClusterStats');
  private readonly peers = new Map<string, { seenAt: number; connections: Record<string, number> }>();
  private readonly subscriptions: Subscription[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly nats: NatsClient,
    private readonly node: ClusterNode,
    private readonly registry: ConnectionRegistry,
    private readonly apps: AppRegistry,
    private readonly config: HeraldConfig,
  ) {}

  /** Hooks run once per provider that resolves to this instance (class, CLUSTER_STATS, CONNECTION_COUNTER). */
  private initialized = false;

  onModuleInit(): void {
    if (this.initialized) return;
    this.initialized = true;
    if (this.config.adapter !== 'nats') return;
    this.nats.onConnection((connection) => {
      this.subscriptions.push(
        connection.subscribe(this.nats.subject('nodes'), {
          callback: (error, message) => {
            if (!error) this.onAnnouncement(message.string());
          },
        }),
        connection.subscribe(this.nats.subject('stats'), {
          callback: (error, message) => {
            if (error) return;
            const tenant = message.string();
            const reply: StatsReply = { node: this.node.id, connections: this.registry.connectionCount(tenant), users: Object.fromEntries(localUserCounts(this.registry, tenant)) };
            message.respond(JSON.stringify(reply));
          },
        }),
      );
      this.announce();
    });
    this.timer = setInterval(() => this.announce(), this.config.nodeHeartbeatMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    for (const subscription of this.subscriptions) subscription.unsubscribe();
  }

  // ConnectionCounter: this node's registry is its own truth; peers from their announcements.
  increment(app: string): Promise<number> {
    return this.count(app);
  }

  decrement(app: string): Promise<number> {
    return this.count(app);
  }

  count(app: string): Promise<number> {
    let total = this.registry.connectionCount(app);
    for (const peer of this.livePeers()) total += peer.connections[app] ?? 0;
    return Promise.resolve(total);
  }

  async counts(tenant: string): Promise<TenantCounts> {
    const replies = await this.ask(tenant);
    const users = new Set<string>();
    let connections = 0;
    for (const reply of replies) {
      connections += reply.connections;
      for (const [user, count] of Object.entries(reply.users)) if (count > 0) users.add(user);
    }
    return { connections, users: users.size };
  }

  async userConnections(tenant: string, userId: string): Promise<number> {
    return (await this.ask(tenant)).reduce((sum, reply) => sum + (reply.users[userId] ?? 0), 0);
  }

  private livePeers(): { connections: Record<string, number> }[] {
    const cutoff = Date.now() - this.config.nodeTimeoutMs;
    const live = [];
    for (const [id, peer] of this.peers) {
      if (peer.seenAt < cutoff) this.peers.delete(id);
      else live.push(peer);
    }
    return live;
  }

  private async ask(tenant: string): Promise<StatsReply[]> {
    const connection = this.nats.current;
    if (!connection || !this.nats.connected) throw new TransportUnavailableError('NATS is unavailable');
    const expected = this.livePeers().length + 1;
    const replies: StatsReply[] = [];
    const seen = new Set<string>();
    try {
      const iterator = await connection.requestMany(this.nats.subject('stats'), tenant, { strategy: 'count', maxMessages: expected, maxWait: 1_000 });
      for await (const message of iterator) {
        const reply: unknown = JSON.parse(message.string());
        if (!isRecord(reply) || typeof reply.node !== 'string' || typeof reply.connections !== 'number' || !isRecord(reply.users) || seen.has(reply.node)) continue;
        seen.add(reply.node);
        replies.push(reply as unknown as StatsReply);
      }
    } catch (error) {
      throw new TransportUnavailableError(`NATS stats request failed: ${(error as Error).message}`);
    }
    return replies;
  }

  private announce(): void {
    const connection = this.nats.current;
    if (!connection || !this.nats.connected) return;
    const announcement: Announcement = { node: this.node.id, connections: {} };
    for (const app of this.apps.all()) announcement.connections[app.id] = this.registry.connectionCount(app.id);
    try {
      connection.publish(this.nats.subject('nodes'), JSON.stringify(announcement));
    } catch (error) {
      this.logger.debug(`Announcement failed: ${(error as Error).message}`);
    }
  }

  private onAnnouncement(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    if (!isRecord(parsed) || typeof parsed.node !== 'string' || parsed.node === this.node.id || !isRecord(parsed.connections)) return;
    const connections: Record<string, number> = {};
    for (const [app, count] of Object.entries(parsed.connections)) if (typeof count === 'number') connections[app] = count;
    const known = this.peers.has(parsed.node);
    this.peers.set(parsed.node, { seenAt: Date.now(), connections });
    // A newcomer learns about us at once rather than after a full heartbeat.
    if (!known) this.announce();
  }
}
