import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import { Subject } from 'rxjs';
import type { Envelope } from '../broadcast/envelope.js';
import { AppRegistry } from '../config/app-registry.service.js';
import { TransportUnavailableError } from '../errors/app.errors.js';
import type { ClusterTransport, TransportHealth } from './cluster.transport.js';
import { tenantToken } from '../channels/channel-key.js';
import { BrokerBodyCheck } from './broker-body.js';
import { serializeEnvelope } from './envelope.wire.js';
import { RedisClients } from './redis.clients.js';

/**
 * Redis pub/sub, one channel per tenant (`<prefix>:t:<tenant>`), every node subscribed to every
 * tenant it serves. Order: one publisher connection, commands pipelined in call order, and Redis
 * delivers a channel's messages in the order it accepted them, so one publisher's envelopes arrive
 * in publish order on every node.
 *
 * Failure contract: `publish` resolves once Redis accepted the PUBLISH, and refuses at once
 * (`TransportUnavailableError` → 503 + Retry-After) while either connection is down or the node is
 * not (re)subscribed yet, so an accepted envelope is never one this node would itself miss. After a
 * reconnect the subscriber resubscribes explicitly (not ioredis' implicit replay) before readiness
 * and publishing come back. Pub/sub is at-most-once: envelopes published while a node was
 * disconnected are not replayed to it (the gap shows in history offsets and recovers from history).
 */
@Injectable()
export class RedisTransport implements ClusterTransport, OnModuleInit, OnModuleDestroy {
  readonly kind = 'redis' as const;
  private readonly logger = new Logger('RedisTransport');
  private readonly subject = new Subject<Envelope>();
  readonly envelopes$ = this.subject.asObservable();
  private readonly channels: string[];
  /** Redis channel → the tenant it carries: the tenant of a message is where it arrived, not what its body says. */
  private readonly tenantOf = new Map<string, string>();
  private subscribed = false;
  /** Successful resubscriptions after a lost subscriber connection. */
  resubscriptions = 0;
  private subscribedOnce = false;
  /** Refused bodies: not envelopes (`malformed`), or naming another tenant (`tenantMismatches`). */
  readonly bodies = new BrokerBodyCheck(this.logger);

  constructor(
    private readonly clients: RedisClients,
    apps: AppRegistry,
    private readonly boundary: ErrorBoundary,
  ) {
    for (const app of apps.all()) this.tenantOf.set(clients.key('t', tenantToken(app.id)), app.id);
    this.channels = [...this.tenantOf.keys()];
  }

  onModuleInit(): void {
    const { subscriber } = this.clients.connections;
    subscriber.on('ready', () => {
      this.subscribe().catch(this.boundary.catcher('broker'));
    });
    subscriber.on('close', () => {
      this.subscribed = false;
    });
    subscriber.on('message', (channel: string, text: string) => this.receive(channel, text));
    if (subscriber.status === 'ready') this.subscribe().catch(this.boundary.catcher('broker'));
  }

  get available(): boolean {
    return this.subscribed && this.clients.commandReady;
  }

  async publish(envelope: Envelope): Promise<void> {
    if (!this.available) {
      throw new TransportUnavailableError('the Redis cluster transport is unavailable');
    }
    const text = serializeEnvelope(envelope);
    try {
      await this.clients.command.publish(this.clients.key('t', tenantToken(envelope.tenant)), text);
    } catch (error) {
      throw new TransportUnavailableError(`Redis refused the publish: ${(error as Error).message}`);
    }
  }

  health(): TransportHealth {
    const command = this.clients.commandReady ? 'connected' : 'disconnected';
    const subscriber = this.subscribed ? 'subscribed' : 'unsubscribed';
    return {
      up: this.available,
      details: { redis: command, subscriber, reconnections: String(this.clients.reconnections), resubscriptions: String(this.resubscriptions) },
    };
  }

  onModuleDestroy(): void {
    this.subject.complete();
  }

  private async subscribe(): Promise<void> {
    try {
      await this.clients.connections.subscriber.subscribe(...this.channels);
      if (this.subscribedOnce) {
        this.resubscriptions++;
        this.logger.log(`Resubscribed to ${this.channels.length} tenant channel(s) after a reconnect`);
      }
      this.subscribedOnce = true;
      this.subscribed = true;
    } catch (error) {
      // The connection dropped again; the next 'ready' retries.
      this.logger.warn(`Subscribing failed: ${(error as Error).message}`);
    }
  }

  /** A broker message handler: inside the boundary, so a body that breaks the parser costs that message only. */
  private receive(channel: string, text: string): void {
    try {
      const tenant = this.tenantOf.get(channel);
      if (tenant === undefined) return;
      const envelope = this.bodies.accept(tenant, text);
      if (envelope) this.subject.next(envelope);
    } catch (error) {
      this.boundary.report('broker', error, 'redis message');
    }
  }
}
