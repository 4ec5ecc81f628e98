import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import type { Subscription } from '@nats-io/nats-core';
import { ClusterNode } from '../cluster/cluster-node.js';
import { NatsClient } from '../cluster/nats.client.js';
import { isRecord, parsePeerJson } from '../common/json.js';
import { NatsPeers } from './nats-peers.service.js';

/**
 * Something a node holds that another node must give back if it dies: a presence member
 * (`['presence', app, channel, user]`), an occupied channel (`['channel', app, channel]`) or a
 * signed-in user (`['online', app, user]`). Node level: held while the node has at least one connection for it.
 */
export type Holding = ['presence', string, string, string] | ['channel', string, string] | ['online', string, string];

function parseHolding(raw: unknown): Holding | undefined {
  if (!Array.isArray(raw) || !raw.every((part) => typeof part === 'string')) return undefined;
  const parts = raw as string[];
  if (parts[0] === 'presence' && parts.length === 4) return parts as Holding;
  if ((parts[0] === 'channel' || parts[0] === 'online') && parts.length === 3) return parts as Holding;
  return undefined;
}

/**
 * A mirror of what every peer holds, kept from the deltas each node publishes on `<prefix>.held` when
 * its own share changes (node-level transitions only, so not per connection), and from a snapshot
 * asked of every peer when a new one appears. NATS keeps one publisher's order, so a snapshot answer
 * never overtakes an earlier delta. The reaper reads a lost peer's part of the mirror.
 */
@Injectable()
export class NatsHoldings implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('NatsHoldings');
  private readonly mine = new Set<string>();
  private readonly mirror = new Map<string, Set<string>>();
  private subscription?: Subscription;
  private initialized = false;

  constructor(
    private readonly nats: NatsClient,
    private readonly peers: NatsPeers,
    private readonly node: ClusterNode,
    private readonly boundary: ErrorBoundary,
  ) {}

  onModuleInit(): void {
    if (this.initialized || !this.peers.enabled) return;
    this.initialized = true;
    this.peers.answer('holdings', () => [...this.mine]);
    this.peers.onPeerFound(() => {
      this.refresh().catch(this.boundary.catcher('broker'));
    });
    // Deltas published while disconnected were lost both ways: tell ours whole, ask theirs again.
    this.nats.onReconnect(() => {
      this.publish('=', [...this.mine]);
      this.refresh().catch(this.boundary.catcher('broker'));
    });
    this.nats.onConnection((connection) => {
      this.subscription = connection.subscribe(this.nats.subject('held'), {
        callback: (error, message) => {
          if (error) return;
          try {
            this.onDelta(message.string());
          } catch (thrown) {
            this.boundary.report('broker', thrown, 'nats holdings delta');
          }
        },
      });
    });
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  held(holding: Holding): void {
    const key = JSON.stringify(holding);
    if (this.mine.has(key)) return;
    this.mine.add(key);
    this.publish('+', key);
  }

  released(holding: Holding): void {
    const key = JSON.stringify(holding);
    if (!this.mine.delete(key)) return;
    this.publish('-', key);
  }

  /** What `nodeId` held when it was last heard of. */
  heldBy(nodeId: string): Holding[] {
    const out: Holding[] = [];
    for (const key of this.mirror.get(nodeId) ?? []) {
      const holding = parseHolding(parsePeerJson(key));
      if (holding) out.push(holding);
    }
    return out;
  }

  /** What `nodeId` held, for reaping it; forgets it. */
  takeOver(nodeId: string): Holding[] {
    const held = this.heldBy(nodeId);
    this.mirror.delete(nodeId);
    return held;
  }

  /** `+`/`-` one key, or `=` every key this node holds (replaces the peers' mirror of it). */
  private publish(op: '+' | '-' | '=', key: string | string[]): void {
    const connection = this.nats.current;
    if (!connection || !this.nats.connected) return;
    try {
      connection.publish(this.nats.subject('held'), JSON.stringify({ node: this.node.id, op, key }));
    } catch (error) {
      this.logger.debug(`Holding delta not sent: ${(error as Error).message}`);
    }
  }

  private onDelta(text: string): void {
    const delta = parsePeerJson(text);
    if (!isRecord(delta) || typeof delta.node !== 'string' || delta.node === this.node.id) return;
    if (delta.op === '=' && Array.isArray(delta.key)) {
      this.mirror.set(delta.node, new Set(delta.key.filter((key): key is string => typeof key === 'string')));
      return;
    }
    if (typeof delta.key !== 'string') return;
    let held = this.mirror.get(delta.node);
    if (!held) this.mirror.set(delta.node, (held = new Set()));
    if (delta.op === '+') held.add(delta.key);
    else if (delta.op === '-') held.delete(delta.key);
  }

  /** Snapshots replace what deltas built, peer by peer. */
  private async refresh(): Promise<void> {
    try {
      for (const reply of await this.peers.ask({ op: 'holdings' })) {
        if (!Array.isArray(reply.body)) continue;
        this.mirror.set(reply.node, new Set(reply.body.filter((key): key is string => typeof key === 'string')));
      }
    } catch (error) {
      this.logger.debug(`Holdings snapshot failed: ${(error as Error).message}`);
    }
  }
}
