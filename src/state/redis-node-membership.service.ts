import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import { ClusterNode } from '../cluster/cluster-node.js';
import { RedisClients } from '../cluster/redis.clients.js';
import { HeraldConfig } from '../config/herald-config.js';

/** Cleans up what a dead node left in Redis (its presence members, subscriptions, signed-in users). */
export interface NodeReaper {
  reap(deadNodeId: string): Promise<void>;
}

/**
 * Cluster membership in Redis: each node writes a heartbeat (its id in the `nodes` sorted set, scored
 * with Redis' clock) every `nodeHeartbeatMs`. A node silent for `nodeTimeoutMs` is dead; the first
 * live node to remove it from the set (ZREM is atomic, so exactly one wins) runs every reaper for it.
 * Counts read only live nodes' keys, so a dead node stops counting at once, before it is reaped.
 * A node shutting down reaps itself (its members leave with events) and leaves the set.
 */
@Injectable()
export class RedisNodeMembership implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('ClusterMembership');
  private readonly reapers: NodeReaper[] = [];
  private timer?: NodeJS.Timeout;
  private beating = false;
  /** Reconnect hooks: node-owned counters are rewritten from local truth after Redis lost them. */
  private readonly resyncs: (() => Promise<void>)[] = [];

  constructor(
    private readonly clients: RedisClients,
    private readonly node: ClusterNode,
    private readonly config: HeraldConfig,
    private readonly boundary: ErrorBoundary,
  ) {}

  get nodesKey(): string {
    return this.clients.key('nodes');
  }

  /** Key of state owned by one node. */
  nodeKey(nodeId: string, ...parts: string[]): string {
    return this.clients.key('node', nodeId, ...parts);
  }

  addReaper(reaper: NodeReaper): void {
    this.reapers.push(reaper);
  }

  addResync(resync: () => Promise<void>): void {
    this.resyncs.push(resync);
  }

  onModuleInit(): void {
    if (!this.clients.enabled) return;
    const { command } = this.clients.connections;
    let first = true;
    command.on('ready', () => {
      this.heartbeat().catch(this.boundary.catcher('broker'));
      if (!first) for (const resync of this.resyncs) resync().catch((error: unknown) => this.logger.warn(`Resync failed: ${String(error)}`));
      first = false;
    });
    this.timer = setInterval(() => {
      this.heartbeat().catch(this.boundary.catcher('timer'));
    }, this.config.nodeHeartbeatMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    if (!this.clients.enabled || !this.clients.commandReady) return;
    try {
      await this.reapNode(this.node.id);
      await this.clients.command.zrem(this.nodesKey, this.node.id);
    } catch (error) {
      // Others reap us after the timeout.
      this.logger.warn(`Leaving the cluster cleanly failed: ${(error as Error).message}`);
    }
  }

  /** Ids of the nodes alive now (this one included once its first heartbeat landed). */
  async liveNodes(): Promise<string[]> {
    return this.clients.run((redis) => redis.eval(LIVE_NODES, 1, this.nodesKey, this.config.nodeTimeoutMs) as Promise<string[]>);
  }


  private async heartbeat(): Promise<void> {
    if (this.beating || !this.clients.commandReady) return;
    this.beating = true;
    try {
      const dead = (await this.clients.command.eval(HEARTBEAT, 1, this.nodesKey, this.node.id, this.config.nodeTimeoutMs)) as string[];
      for (const nodeId of dead) {
        // ZREM decides who reaps: exactly one live node gets 1.
        if ((await this.clients.command.zrem(this.nodesKey, nodeId)) === 1) {
          this.logger.log(`Node ${nodeId} missed its heartbeats for ${this.config.nodeTimeoutMs} ms: removing its state`);
          await this.reapNode(nodeId);
        }
      }
    } catch (error) {
      this.logger.debug(`Heartbeat failed: ${(error as Error).message}`);
    } finally {
      this.beating = false;
    }
  }

  private async reapNode(nodeId: string): Promise<void> {
    for (const reaper of this.reapers) {
      try {
        await reaper.reap(nodeId);
      } catch (error) {
        this.logger.warn(`Reaping node ${nodeId} failed: ${(error as Error).message}`);
      }
    }
  }
}

/** Milliseconds on Redis' clock, so node clocks never disagree about who is dead. */
const NOW = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS[1] nodes; ARGV node id, timeout → ids of nodes silent for longer than the timeout. */
const HEARTBEAT = `${NOW}
redis.call('ZADD', KEYS[1], now, ARGV[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[2])))`;

/** KEYS[1] nodes; ARGV timeout → live node ids. */
export const LIVE_NODES = `${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')`;

/** Lua prelude listing live node ids into `live` (KEYS[1] = nodes, ARGV[1] = timeout). */
export const LIVE_NODES_PRELUDE = `${NOW}
local live = redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')`;
