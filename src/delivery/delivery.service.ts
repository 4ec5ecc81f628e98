import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Subject, takeUntil } from 'rxjs';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import type { PersonalizedFrame, ProtocolCodec, WireFrame } from '../broadcast/codec.js';
import type { Envelope } from '../broadcast/envelope.js';
import { ConnectionRegistry } from '../connections/connection-registry.service.js';
import { SocketWriter } from './socket-writer.service.js';
import { frameText } from './ws-frame.js';

/** Per-message encoding cache: one entry per protocol that has a recipient. */
type Encoded = WireFrame | PersonalizedFrame | null;

/** Observers of deliveries (metrics); synchronous and cheap. */
export interface DeliveryObserver {
  onDelivered(envelope: Envelope, recipients: number): void;
}

/**
 * Subscribes to every tenant's stream and turns envelopes into socket writes: resolve recipients by
 * index, encode once per protocol, enqueue the same bytes for each recipient.
 */
@Injectable()
export class DeliveryService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Delivery');
  private readonly destroy$ = new Subject<void>();
  private readonly observers: DeliveryObserver[] = [];

  constructor(
    private readonly broadcast: BroadcastService,
    private readonly registry: ConnectionRegistry,
    private readonly writer: SocketWriter,
  ) {}

  onModuleInit(): void {
    for (const tenant of this.broadcast.tenants()) {
      this.broadcast
        .stream(tenant)
        .pipe(takeUntil(this.destroy$))
        .subscribe({
          next: (envelope) => this.deliver(envelope),
          error: (error: unknown) => this.logger.error(`Tenant stream ${tenant} failed: ${String(error)}`),
        });
    }
  }

  onModuleDestroy(): void {
    this.destroy$.next();
    this.destroy$.complete();
  }

  addObserver(observer: DeliveryObserver): void {
    this.observers.push(observer);
  }

  /** Returns the number of connections the envelope was queued for. */
  deliver(envelope: Envelope): number {
    let lastCodec: ProtocolCodec | undefined;
    let lastEncoded: Encoded = null;
    let cache: Map<ProtocolCodec, Encoded> | undefined;
    let recipients = 0;
    for (const connection of this.registry.resolve(envelope.tenant, envelope.target)) {
      if (connection.id === envelope.excludeConnectionId) continue;
      const codec = connection.codec;
      let encoded: Encoded;
      if (codec === lastCodec) {
        encoded = lastEncoded;
      } else {
        cache ??= new Map();
        if (cache.has(codec)) {
          encoded = cache.get(codec) ?? null;
        } else {
          const text = codec.encode(envelope);
          encoded = typeof text === 'string' ? frameText(text) : text;
          cache.set(codec, encoded);
        }
        lastCodec = codec;
        lastEncoded = encoded;
      }
      if (encoded === null) continue;
      if (Buffer.isBuffer(encoded)) {
        this.writer.enqueue(connection, encoded);
      } else {
        const text = encoded.render(connection);
        if (text === null) continue;
        this.writer.enqueue(connection, frameText(text));
      }
      recipients++;
    }
    for (const observer of this.observers) observer.onDelivered(envelope, recipients);
    return recipients;
  }
}
