import { Injectable, type OnModuleInit } from '@nestjs/common';
import { localUserCounts, type ClusterStats, type TenantCounts } from '../cluster/cluster-stats.js';
import { ConnectionRegistry } from '../connections/connection-registry.service.js';
import type { ConnectionCounter } from '../pusher/state/connection-counter.js';
import { isRecord } from '../common/json.js';
import { NatsPeers, type PeerQuery } from './nats-peers.service.js';

interface StatsAnswer {
  connections: number;
  /** user → connections on that node. */
  users: Record<string, number>;
}

function isStatsAnswer(body: unknown): body is StatsAnswer {
  return isRecord(body) && typeof body.connections === 'number' && isRecord(body.users);
}

/**
 * Cluster-wide counts over NATS (no shared storage):
 * - `count(app)` (the per-app connection limit) adds the peers' last announcements to the local count,
 *   so a connect never waits on other nodes; it may lag by one heartbeat.
 * - exact answers (`GET /api/connections`, `GET /api/users/:id`) ask every node (`stats`).
 */
@Injectable()
export class NatsClusterStats implements ClusterStats, ConnectionCounter, OnModuleInit {
  constructor(
    private readonly peers: NatsPeers,
    private readonly registry: ConnectionRegistry,
  ) {}

  onModuleInit(): void {
    if (!this.peers.enabled) return;
    this.peers.answer('stats', (query) => this.local(String(query.tenant)));
  }

  // ConnectionCounter: this node's registry is its own truth; peers from their announcements.
  increment(app: string): Promise<number> {
    return this.count(app);
  }

  decrement(app: string): Promise<number> {
    return this.count(app);
  }

  count(app: string): Promise<number> {
    return Promise.resolve(this.registry.connectionCount(app) + this.peers.peerConnections(app));
  }

  async counts(tenant: string): Promise<TenantCounts> {
    const answers = await this.everyNode({ op: 'stats', tenant });
    const users = new Set<string>();
    let connections = 0;
    for (const answer of answers) {
      connections += answer.connections;
      for (const [user, count] of Object.entries(answer.users)) if (count > 0) users.add(user);
    }
    return { connections, users: users.size };
  }

  async userConnections(tenant: string, userId: string): Promise<number> {
    return (await this.everyNode({ op: 'stats', tenant })).reduce((sum, answer) => sum + (Object.hasOwn(answer.users, userId) ? Number(answer.users[userId]) || 0 : 0), 0);
  }

  nodeCount(): Promise<number> {
    return Promise.resolve(this.peers.livePeerIds().length + 1);
  }

  private local(tenant: string): StatsAnswer {
    return { connections: this.registry.connectionCount(tenant), users: Object.fromEntries(localUserCounts(this.registry, tenant)) };
  }

  private async everyNode(query: PeerQuery): Promise<StatsAnswer[]> {
    const answers = [this.local(String(query.tenant))];
    for (const reply of await this.peers.ask(query)) if (isStatsAnswer(reply.body)) answers.push(reply.body);
    return answers;
  }
}
