import { Injectable } from '@nestjs/common';
import { ConnectionRegistry } from '../connections/connection-registry.service.js';

/** DI token: cluster-wide connection statistics (`GET /api/connections`, `GET /api/users/:id`). */
export const CLUSTER_STATS = Symbol('ClusterStats');

export interface TenantCounts {
  connections: number;
  /** Distinct users with at least one connection anywhere in the cluster. */
  users: number;
}

/** Counts over every node of the cluster (Redis: node-owned counters; NATS: asked of every node). */
export interface ClusterStats {
  counts(tenant: string): Promise<TenantCounts>;
  userConnections(tenant: string, userId: string): Promise<number>;
  /** Nodes alive now, this one included (how many answers a cluster-wide question waits for). */
  nodeCount(): Promise<number>;
}

/** One node: the registry is the whole truth. */
@Injectable()
export class LocalClusterStats implements ClusterStats {
  constructor(private readonly registry: ConnectionRegistry) {}

  counts(tenant: string): Promise<TenantCounts> {
    return Promise.resolve({ connections: this.registry.connectionCount(tenant), users: this.registry.userCount(tenant) });
  }

  userConnections(tenant: string, userId: string): Promise<number> {
    return Promise.resolve(this.registry.userConnectionCount(tenant, userId));
  }

  nodeCount(): Promise<number> {
    return Promise.resolve(1);
  }
}

/** Per-user connection counts of one tenant on this node (for node-owned counters and NATS replies). */
export function localUserCounts(registry: ConnectionRegistry, tenant: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const connection of registry.resolve(tenant, { kind: 'tenant' })) {
    const userId = connection.identity.userId;
    if (userId !== undefined) out.set(userId, (out.get(userId) ?? 0) + 1);
  }
  return out;
}
