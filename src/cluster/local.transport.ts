import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Subject } from 'rxjs';
import type { Envelope } from '../broadcast/envelope.js';
import type { ClusterTransport, TransportHealth } from './cluster.transport.js';

/** Single node: publish is delivery, synchronously, so same-turn publishes batch into one socket write. */
@Injectable()
export class LocalTransport implements ClusterTransport, OnModuleDestroy {
  readonly kind = 'local' as const;
  private readonly subject = new Subject<Envelope>();
  readonly envelopes$ = this.subject.asObservable();

  publish(envelope: Envelope): Promise<void> {
    this.subject.next(envelope);
    return Promise.resolve();
  }

  readonly available = true;

  health(): TransportHealth {
    return { up: true, details: { transport: 'local' } };
  }

  onModuleDestroy(): void {
    this.subject.complete();
  }
}
