import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Subject, takeUntil } from 'rxjs';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import type { PersonalizedFrame, ProtocolCodec, WireFrame } from '../broadcast/codec.js';
import type { Envelope } from '../broadcast/envelope.js';
import { ErrorBoundary } from '../common/error-boundary.js';
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
 *
 * Error boundary (issue 10, item 5): a throw while delivering one envelope costs that envelope, never the
 * tenant stream or the process; a codec whose `encode` throws costs that protocol's recipients of the envelope;
 * a `render` that throws costs that one recipient. Each is logged and counted (`where="fanout"`). The guards are
 * plain try/catch on the existing path: no closure or object per message.
 */
@Injectable()
export class DeliveryService implements OnModuleInit, OnModuleDestroy {
  private readonly destroy$ = new Subject<void>();
  private readonly observers: DeliveryObserver[] = [];

  constructor(
    private readonly broadcast: BroadcastService,
    private readonly registry: ConnectionRegistry,
    private readonly writer: SocketWriter,
    private readonly boundary: ErrorBoundary,
  ) {}

  /** The tenant streams' subscriber, built once. */
  private readonly onEnvelope = (envelope: Envelope): void => {
    try {
      this.deliver(envelope);
    } catch (error) {
      this.boundary.report('fanout', error, `envelope ${envelope.id} of ${envelope.tenant}`);
    }
  };

  onModuleInit(): void {
    for (const tenant of this.broadcast.tenants()) {
      this.broadcast
        .stream(tenant)
        .pipe(takeUntil(this.destroy$))
        .subscribe({
          next: this.onEnvelope,
          error: (error: unknown) => this.boundary.report('subscriber', error, `tenant stream ${tenant} ended`),
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
          encoded = this.encode(codec, envelope);
          cache.set(codec, encoded);
        }
        lastCodec = codec;
        lastEncoded = encoded;
      }
      if (encoded === null) continue;
      if (Buffer.isBuffer(encoded)) {
        this.writer.enqueue(connection, encoded);
      } else {
        let text: string | null;
        try {
          text = encoded.render(connection);
        } catch (error) {
          this.boundary.report('fanout', error, `render of envelope ${envelope.id} for ${connection.id}`);
          continue;
        }
        if (text === null) continue;
        this.writer.enqueue(connection, frameText(text));
      }
      recipients++;
    }
    for (const observer of this.observers) observer.onDelivered(envelope, recipients);
    return recipients;
  }

  /** One protocol's frame for an envelope; null (no recipient of that protocol gets it) when the codec throws. */
  private encode(codec: ProtocolCodec, envelope: Envelope): Encoded {
    try {
      const text = codec.encode(envelope);
      return typeof text === 'string' ? frameText(text) : text;
    } catch (error) {
      this.boundary.report('fanout', error, `encode of envelope ${envelope.id} by ${codec.constructor.name}`);
      return null;
    }
  }
}
