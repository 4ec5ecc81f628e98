import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import type { Subscription } from 'rxjs';
import { ClusterNode } from '../cluster/cluster-node.js';
import { localUserCounts, type ClusterStats, type TenantCounts } from '../cluster/cluster-stats.js';
import { RedisClients } from '../cluster/redis.clients.js';
import { AppRegistry } from '../config/app-registry.service.js';
import { HeraldConfig } from '../config/herald-config.js';
import { ConnectionRegistry, type RegistryEvent } from '../connections/connection-registry.service.js';
import type { ConnectionCounter } from '../pusher/state/connection-counter.js';
import { LIVE_NODES_PRELUDE, RedisNodeMembership } from './redis-node-membership.service.js';

/*
 * Node-owned counters: node <id> keeps `node:<id>:conns` (app → connections) and
 * `node:<id>:users:<app>` (user → connections) with HINCRBY on its own keys only. Reads sum over the
 * nodes alive now, so a dead node stops counting the moment its heartbeat is overdue, nobody has to
 * decrement for it, and no connect ever asks the other nodes anything.
 */

/** ARGV: timeout, node key prefix, app → sum of the app's field in live nodes' `conns`. */
const SUM_CONNECTIONS = `${LIVE_NODES_PRELUDE}
local sum = 0
for _, id in ipairs(live) do sum = sum + tonumber(redis.call('HGET', ARGV[2] .. id .. ':conns', ARGV[3]) or '0') end
return sum`;

/** ARGV: timeout, node key prefix, app → distinct users over live nodes. */
const COUNT_USERS = `${LIVE_NODES_PRELUDE}
local seen, n = {}, 0
for _, id in ipairs(live) do
  local fields = redis.call('HGETALL', ARGV[2] .. id .. ':users:' .. ARGV[3])
  for i = 1, #fields, 2 do
    if tonumber(fields[i + 1]) > 0 and not seen[fields[i]] then seen[fields[i]] = true; n = n + 1 end
  end
end
return n`;

/** ARGV: timeout, node key prefix, app, user → the user's connections over live nodes. */
const SUM_USER = `${LIVE_NODES_PRELUDE}
local sum = 0
for _, id in ipairs(live) do sum = sum + tonumber(redis.call('HGET', ARGV[2] .. id .. ':users:' .. ARGV[3], ARGV[4]) or '0') end
return sum`;

/** KEYS[1] hash, ARGV field, delta → new value; the field goes when it reaches 0. */
const BOUNDED_INCR = `local n = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]); return 0 end
return n`;

@Injectable()
export class RedisClusterCounts implements ConnectionCounter, ClusterStats, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('ClusterCounts');
  private subscription?: Subscription;

  constructor(
    private readonly clients: RedisClients,
    private readonly membership: RedisNodeMembership,
    private readonly node: ClusterNode,
    private readonly config: HeraldConfig,
    private readonly registry: ConnectionRegistry,
    private readonly apps: AppRegistry,
    private readonly boundary: ErrorBoundary,
  ) {}

  /** Hooks run once per provider that resolves to this instance (class, CLUSTER_STATS, CONNECTION_COUNTER). */
  private initialized = false;

  onModuleInit(): void {
    if (this.initialized) return;
    this.initialized = true;
    if (!this.clients.enabled) return;
    this.subscription = this.registry.events$.subscribe(
      this.boundary.guard('subscriber', (event: RegistryEvent) => {
        this.onRegistryEvent(event)?.catch((error: unknown) => this.logger.debug(`User count update failed: ${String(error)}`));
      }, 'cluster counts'),
    );
    this.membership.addReaper({ reap: (nodeId) => this.reap(nodeId) });
    this.membership.addResync(() => this.resync());
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  // ConnectionCounter (per-app maxConnections, fed for every protocol by the registry events).
  async increment(app: string): Promise<number> {
    await this.clients.run((redis) => redis.hincrby(this.nodeKey('conns'), app, 1));
    return this.count(app);
  }

  async decrement(app: string): Promise<number> {
    await this.clients.run((redis) => redis.eval(BOUNDED_INCR, 1, this.nodeKey('conns'), app, -1));
    return this.count(app);
  }

  async count(app: string): Promise<number> {
    return Number(await this.clients.run((redis) => redis.eval(SUM_CONNECTIONS, 1, this.membership.nodesKey, this.config.nodeTimeoutMs, this.nodePrefix, app)));
  }

  // ClusterStats
  async counts(tenant: string): Promise<TenantCounts> {
    const users = await this.clients.run((redis) => redis.eval(COUNT_USERS, 1, this.membership.nodesKey, this.config.nodeTimeoutMs, this.nodePrefix, tenant));
    return { connections: await this.count(tenant), users: Number(users) };
  }

  async userConnections(tenant: string, userId: string): Promise<number> {
    return Number(await this.clients.run((redis) => redis.eval(SUM_USER, 1, this.membership.nodesKey, this.config.nodeTimeoutMs, this.nodePrefix, tenant, userId)));
  }

  async nodeCount(): Promise<number> {
    return Math.max(1, (await this.membership.liveNodes()).length);
  }

  private get nodePrefix(): string {
    return `${this.clients.key('node')}:`;
  }

  private nodeKey(...parts: string[]): string {
    return this.membership.nodeKey(this.node.id, ...parts);
  }

  private onRegistryEvent(event: RegistryEvent): Promise<unknown> | undefined {
    const tenant = event.connection.tenant;
    const bump = (userId: string | undefined, delta: number) =>
      userId === undefined ? undefined : this.clients.run((redis) => redis.eval(BOUNDED_INCR, 1, this.nodeKey('users', tenant), userId, delta));
    switch (event.type) {
      case 'connected':
        return bump(event.connection.identity.userId, 1);
      case 'disconnected':
        return bump(event.connection.identity.userId, -1);
      case 'identified':
        if (event.previous.userId === event.connection.identity.userId) return undefined;
        return Promise.all([bump(event.previous.userId, -1), bump(event.connection.identity.userId, 1)]);
      case 'subscribed':
      case 'unsubscribed':
        return undefined;
      default: {
        const unreachable: never = event;
        throw new Error(`unknown registry event ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** Redis came back (possibly empty, after a restart): rewrite this node's counters from the registry. */
  private async resync(): Promise<void> {
    const redis = this.clients.command;
    const multi = redis.multi().del(this.nodeKey('conns'));
    for (const app of this.apps.all()) {
      const connections = this.registry.connectionCount(app.id);
      if (connections > 0) multi.hset(this.nodeKey('conns'), app.id, connections);
      multi.del(this.nodeKey('users', app.id));
      const users = localUserCounts(this.registry, app.id);
      if (users.size > 0) multi.hset(this.nodeKey('users', app.id), Object.fromEntries(users));
    }
    await multi.exec();
  }

  private async reap(nodeId: string): Promise<void> {
    const keys = [this.membership.nodeKey(nodeId, 'conns'), ...this.apps.all().map((app) => this.membership.nodeKey(nodeId, 'users', app.id))];
    await this.clients.run((redis) => redis.del(...keys));
  }
}
