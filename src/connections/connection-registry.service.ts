import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import type { IdentityFilter, Target } from '../broadcast/envelope.js';
import type { Connection } from './connection.js';
import type { Identity } from './identity.js';

/** Lifecycle facts other features observe (presence, webhooks, metrics, cluster counts). */
export type RegistryEvent =
  | { type: 'connected'; connection: Connection }
  | { type: 'disconnected'; connection: Connection; code: number }
  | { type: 'identified'; connection: Connection; previous: Identity }
  | { type: 'subscribed'; connection: Connection; channel: string; firstOnNode: boolean }
  | { type: 'unsubscribed'; connection: Connection; channel: string; lastOnNode: boolean };

type Index = Map<string, Set<Connection>>;

/** Every index of one tenant; a tenant's entry disappears with its last connection. */
class TenantIndex {
  readonly all = new Set<Connection>();
  readonly users: Index = new Map();
  readonly sessions: Index = new Map();
  readonly tokens: Index = new Map();
  readonly channels: Index = new Map();
}

function addTo(index: Index, key: string | undefined, connection: Connection): void {
  if (key === undefined) return;
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(connection);
}

/** Removes and drops the entry once empty; returns whether the key is now gone. */
function removeFrom(index: Index, key: string | undefined, connection: Connection): boolean {
  if (key === undefined) return false;
  const set = index.get(key);
  if (!set || !set.delete(connection)) return false;
  if (set.size === 0) {
    index.delete(key);
    return true;
  }
  return false;
}

function matchesFilter(identity: Identity, protocol: string, filter: IdentityFilter): boolean {
  if (filter.userIds && (identity.userId === undefined || !filter.userIds.includes(identity.userId))) return false;
  if (filter.sessionIds && (identity.sessionId === undefined || !filter.sessionIds.includes(identity.sessionId))) return false;
  if (filter.tokenIds && (identity.tokenId === undefined || !filter.tokenIds.includes(identity.tokenId))) return false;
  if (filter.protocols && !filter.protocols.includes(protocol as never)) return false;
  if (filter.scope && !identity.scopes.includes(filter.scope)) return false;
  return true;
}

const EMPTY: ReadonlySet<Connection> = new Set();

/**
 * The live connections of this node and their identity indexes, per tenant. Targets resolve by index
 * (tenant, user, session, token, channel, id); only predicates and filters scan a tenant's connections.
 * Tenancy is structural: every lookup starts from one tenant's index, so nothing can cross tenants.
 */
@Injectable()
export class ConnectionRegistry implements OnModuleDestroy {
  private readonly byId = new Map<string, Connection>();
  private readonly tenants = new Map<string, TenantIndex>();
  private readonly events = new Subject<RegistryEvent>();
  /** Lifecycle events, emitted synchronously after the indexes changed. */
  readonly events$: Observable<RegistryEvent> = this.events.asObservable();

  onModuleDestroy(): void {
    this.events.complete();
  }

  add(connection: Connection): void {
    let tenant = this.tenants.get(connection.tenant);
    if (!tenant) this.tenants.set(connection.tenant, (tenant = new TenantIndex()));
    this.byId.set(connection.id, connection);
    tenant.all.add(connection);
    this.indexIdentity(tenant, connection, connection.identity);
    this.events.next({ type: 'connected', connection });
  }

  /** Leaves every index at once (idempotent); empty user/tenant entries are removed. */
  remove(connection: Connection, code = 1006): void {
    if (this.byId.get(connection.id) !== connection) return;
    connection.closed = true;
    this.byId.delete(connection.id);
    const tenant = this.tenants.get(connection.tenant);
    if (!tenant) return;
    for (const channel of connection.channels) {
      const last = removeFrom(tenant.channels, channel, connection);
      this.events.next({ type: 'unsubscribed', connection, channel, lastOnNode: last });
    }
    connection.channels.clear();
    this.unindexIdentity(tenant, connection, connection.identity);
    tenant.all.delete(connection);
    if (tenant.all.size === 0) this.tenants.delete(connection.tenant);
    this.events.next({ type: 'disconnected', connection, code });
  }

  /** Sets who the connection is (RPC `auth`, Pusher `signin`); the tenant never changes. */
  identify(connection: Connection, identity: Omit<Identity, 'tenant'>): void {
    const tenant = this.tenants.get(connection.tenant);
    const previous = connection.identity;
    const next: Identity = { ...identity, tenant: previous.tenant };
    if (tenant && this.byId.get(connection.id) === connection) {
      this.unindexIdentity(tenant, connection, previous);
      this.indexIdentity(tenant, connection, next);
    }
    connection.identity = next;
    this.events.next({ type: 'identified', connection, previous });
  }

  /** Subscribes to a channel of the connection's tenant; returns false when already subscribed. */
  subscribe(connection: Connection, channel: string): boolean {
    const tenant = this.tenants.get(connection.tenant);
    if (!tenant || connection.channels.has(channel)) return false;
    connection.channels.add(channel);
    const firstOnNode = !tenant.channels.has(channel);
    addTo(tenant.channels, channel, connection);
    this.events.next({ type: 'subscribed', connection, channel, firstOnNode });
    return true;
  }

  /** Idempotent; returns whether the connection was subscribed. */
  unsubscribe(connection: Connection, channel: string): boolean {
    const tenant = this.tenants.get(connection.tenant);
    if (!tenant || !connection.channels.delete(channel)) return false;
    const lastOnNode = removeFrom(tenant.channels, channel, connection);
    this.events.next({ type: 'unsubscribed', connection, channel, lastOnNode });
    return true;
  }

  get(connectionId: string): Connection | undefined {
    return this.byId.get(connectionId);
  }

  /** Recipients of a target within one tenant. Cost: O(recipients), except filter/predicate: O(tenant). */
  resolve(tenantId: string, target: Target): Iterable<Connection> {
    const tenant = this.tenants.get(tenantId);
    if (!tenant) return EMPTY;
    switch (target.kind) {
      case 'tenant':
        return tenant.all;
      case 'users':
        if (target.userIds.length === 1) return tenant.users.get(target.userIds[0]) ?? EMPTY;
        return this.union(target.userIds.map((id) => tenant.users.get(id)));
      case 'session':
        return tenant.sessions.get(target.sessionId) ?? EMPTY;
      case 'token':
        return tenant.tokens.get(target.tokenId) ?? EMPTY;
      case 'channel':
        return tenant.channels.get(target.channel) ?? EMPTY;
      case 'connections': {
        const found: Connection[] = [];
        for (const id of target.connectionIds) {
          const connection = this.byId.get(id);
          if (connection && connection.tenant === tenantId) found.push(connection);
        }
        return found;
      }
      case 'filter': {
        const found: Connection[] = [];
        for (const connection of tenant.all) {
          if (matchesFilter(connection.identity, connection.protocol, target.filter)) found.push(connection);
        }
        return found;
      }
      case 'predicate': {
        const found: Connection[] = [];
        for (const connection of tenant.all) if (target.test(connection.identity)) found.push(connection);
        return found;
      }
      default: {
        const unreachable: never = target;
        throw new Error(`unknown target ${JSON.stringify(unreachable)}`);
      }
    }
  }

  connectionCount(tenantId: string): number {
    return this.tenants.get(tenantId)?.all.size ?? 0;
  }

  userCount(tenantId: string): number {
    return this.tenants.get(tenantId)?.users.size ?? 0;
  }

  userConnectionCount(tenantId: string, userId: string): number {
    return this.tenants.get(tenantId)?.users.get(userId)?.size ?? 0;
  }

  subscribers(tenantId: string, channel: string): ReadonlySet<Connection> {
    return this.tenants.get(tenantId)?.channels.get(channel) ?? EMPTY;
  }

  /** Every live connection of this node (shutdown, ping sweeps). */
  all(): IterableIterator<Connection> {
    return this.byId.values();
  }

  get size(): number {
    return this.byId.size;
  }

  private union(sets: (Set<Connection> | undefined)[]): Set<Connection> {
    const out = new Set<Connection>();
    for (const set of sets) if (set) for (const connection of set) out.add(connection);
    return out;
  }

  private indexIdentity(tenant: TenantIndex, connection: Connection, identity: Identity): void {
    addTo(tenant.users, identity.userId, connection);
    addTo(tenant.sessions, identity.sessionId, connection);
    addTo(tenant.tokens, identity.tokenId, connection);
  }

  private unindexIdentity(tenant: TenantIndex, connection: Connection, identity: Identity): void {
    removeFrom(tenant.users, identity.userId, connection);
    removeFrom(tenant.sessions, identity.sessionId, connection);
    removeFrom(tenant.tokens, identity.tokenId, connection);
  }
}
