import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { Subject } from 'rxjs';
import type { Envelope } from '../broadcast/envelope.js';
import { AppRegistry } from '../config/app-registry.service.js';
import { TransportUnavailableError } from '../errors/app.errors.js';
import type { ClusterTransport, TransportHealth } from './cluster.transport.js';
import { tenantToken } from '../channels/channel-key.js';
import { BrokerBodyCheck } from './broker-body.js';
import { serializeEnvelope } from './envelope.wire.js';
import { NatsClient } from './nats.client.js';

/**
 * NATS core pub/sub, one subject per tenant (`<prefix>.t.<tenant>`). Order: one connection, and NATS
 * keeps a publisher's order per subject. `publish` resolves after a flush (a PING/PONG round trip
 * shared by every publish of the same event-loop turn), i.e. once the server has the message; it
 * refuses at once while disconnected instead of letting the client buffer it for later. Delivery is
 * at-most-once (no JetStream): a node that was disconnected misses what was published meanwhile.
 */
@Injectable()
export class NatsTransport implements ClusterTransport, OnModuleInit, OnModuleDestroy {
  readonly kind = 'nats' as const;
  private readonly subject = new Subject<Envelope>();
  readonly envelopes$ = this.subject.asObservable();
  private readonly subscriptions: Subscription[] = [];
  private readonly encoder = new TextEncoder();
  private pendingFlush?: Promise<void>;
  /** Refused bodies: not envelopes (`malformed`), or naming another tenant than their subject (`tenantMismatches`). */
  readonly bodies = new BrokerBodyCheck(new Logger('NatsTransport'));

  constructor(
    private readonly nats: NatsClient,
    private readonly apps: AppRegistry,
    private readonly boundary: ErrorBoundary,
  ) {}

  onModuleInit(): void {
    this.nats.onConnection((connection) => this.subscribe(connection));
  }

  get available(): boolean {
    return this.nats.connected && this.subscriptions.length > 0;
  }

  async publish(envelope: Envelope): Promise<void> {
    const connection = this.nats.current;
    if (!connection || !this.available) {
      throw new TransportUnavailableError('the NATS cluster transport is unavailable');
    }
    try {
      connection.publish(this.nats.subject('t', tenantToken(envelope.tenant)), this.encoder.encode(serializeEnvelope(envelope)));
      await this.flush(connection);
    } catch (error) {
      throw new TransportUnavailableError(`NATS refused the publish: ${(error as Error).message}`);
    }
  }

  health(): TransportHealth {
    return {
      up: this.available,
      details: { nats: this.nats.connected ? 'connected' : 'disconnected', reconnections: String(this.nats.reconnections) },
    };
  }

  onModuleDestroy(): void {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subject.complete();
  }

  private subscribe(connection: NatsConnection): void {
    for (const app of this.apps.all()) {
      this.subscriptions.push(
        connection.subscribe(this.nats.subject('t', tenantToken(app.id)), {
          callback: (error, message) => {
            if (error) return;
            // The tenant is the subscription's (one subject per tenant), never the body's word for it.
            try {
              const envelope = this.bodies.accept(app.id, message.string());
              if (envelope) this.subject.next(envelope);
            } catch (thrown) {
              this.boundary.report('broker', thrown, 'nats message');
            }
          },
        }),
      );
    }
  }

  /** One flush per turn for all publishes made in it. */
  private flush(connection: NatsConnection): Promise<void> {
    if (!this.pendingFlush) {
      this.pendingFlush = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.pendingFlush = undefined;
        return connection.flush();
      });
    }
    return this.pendingFlush;
  }
}
