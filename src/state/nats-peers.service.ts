import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import type { Msg, Subscription } from '@nats-io/nats-core';
import { ClusterNode } from '../cluster/cluster-node.js';
import { NatsClient } from '../cluster/nats.client.js';
import { AppRegistry } from '../config/app-registry.service.js';
import { HeraldConfig } from '../config/herald-config.js';
import { ConnectionRegistry } from '../connections/connection-registry.service.js';
import { TransportUnavailableError } from '../errors/app.errors.js';
import { isRecord, parsePeerJson } from '../common/json.js';

/** A question every node answers about its own share of the cluster state (`op` picks the answerer). */
export interface PeerQuery {
  op: string;
  [field: string]: unknown;
}

/** One node's answer; `body` is whatever its answerer returned (untrusted: each caller narrows it). */
export interface PeerReply {
  node: string;
  body: unknown;
}

type Answerer = (query: PeerQuery) => unknown;
type PeerListener = (nodeId: string) => void;

/** How long a question waits for the last expected answer. */
const ASK_TIMEOUT_MS = 1_000;

/**
 * The other nodes of a NATS cluster, which has no shared storage (Sockudo's approach: every node keeps
 * its own share, questions go to every node by request/reply).
 * - Liveness: every node announces itself (with its per-app connection counts) every `nodeHeartbeatMs`
 *   on `<prefix>.nodes`; a peer silent for `nodeTimeoutMs`, or one that said goodbye, is lost and
 *   `onPeerLost` listeners run (the reaper gives its members back).
 * - Questions: `ask` publishes one request on `<prefix>.state` and waits for an answer from every live
 *   peer (bounded by a timeout); each node answers from the `answer` handlers registered for the `op`.
 */
@Injectable()
export class NatsPeers implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('NatsPeers');
  private readonly peers = new Map<string, { seenAt: number; connections: Record<string, number> }>();
  private readonly answerers = new Map<string, Answerer>();
  private readonly lostListeners: PeerListener[] = [];
  private readonly foundListeners: PeerListener[] = [];
  private readonly subscriptions: Subscription[] = [];
  private timer?: NodeJS.Timeout;
  private initialized = false;
  private leaving = false;

  constructor(
    private readonly nats: NatsClient,
    private readonly node: ClusterNode,
    private readonly registry: ConnectionRegistry,
    private readonly apps: AppRegistry,
    private readonly config: HeraldConfig,
    private readonly boundary: ErrorBoundary,
  ) {}

  get enabled(): boolean {
    return this.config.adapter === 'nats';
  }

  onModuleInit(): void {
    if (this.initialized || !this.enabled) return;
    this.initialized = true;
    this.nats.onConnection((connection) => {
      this.subscriptions.push(
        connection.subscribe(this.nats.subject('nodes'), {
          callback: this.boundary.guard('broker', (error: Error | null, message: Msg) => {
            if (!error) this.onAnnouncement(parsePeerJson(message.string()));
          }, 'nats node announcement'),
        }),
        connection.subscribe(this.nats.subject('state'), {
          callback: this.boundary.guard('broker', (error: Error | null, message: Msg) => {
            if (error || this.leaving) return;
            const query = parsePeerJson(message.string());
            if (!isRecord(query) || typeof query.op !== 'string') return;
            const answerer = this.answerers.get(query.op);
            if (!answerer) return;
            try {
              message.respond(JSON.stringify({ node: this.node.id, body: answerer(query as PeerQuery) }));
            } catch (failure) {
              this.logger.warn(`Answering ${query.op} failed: ${(failure as Error).message}`);
            }
          }, 'nats state query'),
        }),
      );
      this.announce();
    });
    this.timer = setInterval(
      this.boundary.guard('timer', () => {
        this.announce();
        this.expire();
      }, 'nats peers heartbeat'),
      this.config.nodeHeartbeatMs,
    );
    this.timer.unref();
  }

  /** Says goodbye, so peers reap at once instead of after the timeout. Runs after the drain closed the sockets. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    if (!this.initialized) return;
    this.leaving = true;
    const connection = this.nats.current;
    if (connection && this.nats.connected) {
      try {
        connection.publish(this.nats.subject('nodes'), JSON.stringify({ node: this.node.id, leaving: true }));
        await connection.flush();
      } catch (error) {
        this.logger.debug(`Goodbye failed: ${(error as Error).message}`);
      }
    }
    for (const subscription of this.subscriptions) subscription.unsubscribe();
  }

  /** Registers this node's answer to `op` (synchronous: answers come from local state only). */
  answer(op: string, answerer: Answerer): void {
    this.answerers.set(op, answerer);
  }

  onPeerLost(listener: PeerListener): void {
    this.lostListeners.push(listener);
  }

  onPeerFound(listener: PeerListener): void {
    this.foundListeners.push(listener);
  }

  /** Ids of the peers alive now (this node excluded). */
  livePeerIds(): string[] {
    return [...this.peers.keys()];
  }

  /** Sum of the last announced connection counts of `app` over live peers (may lag one heartbeat). */
  peerConnections(app: string): number {
    let total = 0;
    for (const peer of this.peers.values()) total += peer.connections[app] ?? 0;
    return total;
  }

  /** True when this node has the smallest id among the live ones (the one that reaps a lost peer). */
  isLeader(): boolean {
    return this.livePeerIds().every((id) => this.node.id < id);
  }

  /**
   * Asks every live peer (not this node) and resolves with their answers. With `discover`, waits the
   * whole timeout and takes every answer, for questions asked before the peers are known (startup).
   * Rejects with `TransportUnavailableError` when NATS is down.
   */
  async ask(query: PeerQuery, discover = false): Promise<PeerReply[]> {
    const connection = this.nats.current;
    if (!connection || !this.nats.connected) throw new TransportUnavailableError('NATS is unavailable');
    const expected = this.peers.size;
    if (expected === 0 && !discover) return [];
    const replies: PeerReply[] = [];
    const seen = new Set<string>([this.node.id]);
    try {
      const options = discover ? { strategy: 'timer' as const, maxWait: ASK_TIMEOUT_MS / 2 } : { strategy: 'count' as const, maxMessages: expected + 1, maxWait: ASK_TIMEOUT_MS };
      // `from` tells the answerer who asks (decision questions are remembered per asker).
      const iterator = await connection.requestMany(this.nats.subject('state'), JSON.stringify({ ...query, from: this.node.id }), options);
      for await (const message of iterator) {
        const reply = parsePeerJson(message.string());
        if (!isRecord(reply) || typeof reply.node !== 'string' || seen.has(reply.node)) continue;
        if (!discover && !this.peers.has(reply.node)) continue;
        seen.add(reply.node);
        replies.push({ node: reply.node, body: reply.body });
      }
    } catch (error) {
      // No responders is a valid (empty) answer: every peer just left.
      if ((error as { code?: string }).code === '503') return replies;
      throw new TransportUnavailableError(`NATS request failed: ${(error as Error).message}`);
    }
    return replies;
  }

  private announce(): void {
    const connection = this.nats.current;
    if (!connection || !this.nats.connected || this.leaving) return;
    const connections: Record<string, number> = {};
    for (const app of this.apps.all()) connections[app.id] = this.registry.connectionCount(app.id);
    try {
      connection.publish(this.nats.subject('nodes'), JSON.stringify({ node: this.node.id, connections }));
    } catch (error) {
      this.logger.debug(`Announcement failed: ${(error as Error).message}`);
    }
  }

  private onAnnouncement(message: unknown): void {
    if (!isRecord(message) || typeof message.node !== 'string' || message.node === this.node.id) return;
    if (message.leaving === true) {
      this.lose(message.node, 'left');
      return;
    }
    if (!isRecord(message.connections)) return;
    const connections: Record<string, number> = {};
    for (const [app, count] of Object.entries(message.connections)) if (typeof count === 'number') connections[app] = count;
    const known = this.peers.has(message.node);
    this.peers.set(message.node, { seenAt: Date.now(), connections });
    if (known) return;
    // A newcomer learns about us at once rather than after a full heartbeat.
    this.announce();
    for (const listener of this.foundListeners) listener(message.node);
  }

  private expire(): void {
    const cutoff = Date.now() - this.config.nodeTimeoutMs;
    for (const [id, peer] of this.peers) if (peer.seenAt < cutoff) this.lose(id, `silent for ${this.config.nodeTimeoutMs} ms`);
  }

  private lose(nodeId: string, why: string): void {
    if (!this.peers.delete(nodeId)) return;
    this.logger.log(`Node ${nodeId} ${why}: removing its state`);
    for (const listener of this.lostListeners) {
      try {
        listener(nodeId);
      } catch (error) {
        this.logger.warn(`Reaping node ${nodeId} failed: ${(error as Error).message}`);
      }
    }
  }
}
