import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import type { Subscription } from 'rxjs';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import { ConnectionLifecycle } from '../connections/connection-lifecycle.service.js';
import { ConnectionRegistry, type RegistryEvent } from '../connections/connection-registry.service.js';
import { DeliveryService } from '../delivery/delivery.service.js';
import { SocketWriter } from '../delivery/socket-writer.service.js';
import { MetricsService } from './metrics.service.js';

/**
 * Feeds MetricsService from the core's observer hooks; the core knows nothing of Prometheus.
 * Each hook is one synchronous call with O(1) work: per socket per flush (writer), per envelope
 * (delivery, cluster publish), per lifecycle event (registry) — never per recipient.
 */
@Injectable()
export class CoreMetricsCollector implements OnModuleInit, OnModuleDestroy {
  private subscription?: Subscription;

  constructor(
    private readonly metrics: MetricsService,
    private readonly registry: ConnectionRegistry,
    private readonly lifecycle: ConnectionLifecycle,
    private readonly writer: SocketWriter,
    private readonly delivery: DeliveryService,
    private readonly broadcast: BroadcastService,
    private readonly boundary: ErrorBoundary,
  ) {}

  onModuleInit(): void {
    const metrics = this.metrics;
    this.subscription = this.registry.events$.subscribe(this.boundary.guard('subscriber', (event: RegistryEvent) => this.onRegistryEvent(event), 'metrics'));
    this.lifecycle.observeTextSent((connection, text) => metrics.textSent(connection, text));
    this.writer.addObserver({
      onFramesWritten: (connection, frames, bytes) => metrics.framesSent(connection, frames, bytes),
      onSkipped: (connection, skipped) => metrics.messagesSkipped(connection, skipped),
    });
    this.delivery.addObserver({
      onDelivered: (envelope, recipients) => metrics.delivered(envelope.tenant, envelope.publishedAt, recipients),
    });
    this.broadcast.addObserver({
      onTransportPublish: (transport, seconds, failed) => metrics.transportPublished(transport, seconds, failed),
    });
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  private onRegistryEvent(event: RegistryEvent): void {
    switch (event.type) {
      case 'connected':
        this.metrics.connectionOpened(event.connection);
        return;
      case 'disconnected':
        this.metrics.connectionClosed(event.connection, event.code);
        return;
      case 'subscribed':
        this.metrics.subscribed(event.connection, event.firstOnNode);
        return;
      case 'unsubscribed':
        this.metrics.unsubscribed(event.connection, event.lastOnNode);
        return;
      case 'identified':
        return;
      default: {
        const unreachable: never = event;
        throw new Error(`unknown registry event ${JSON.stringify(unreachable)}`);
      }
    }
  }
}
