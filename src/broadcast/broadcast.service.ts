import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import { merge, Subject, Subscription, type Observable } from 'rxjs';
import { CLUSTER_TRANSPORT, type ClusterTransport } from '../cluster/cluster.transport.js';
import { randomId } from '../common/ids.js';
import { AppRegistry } from '../config/app-registry.service.js';
import { HeraldConfig } from '../config/herald-config.js';
import { AppNotFoundError, TransportUnavailableError, ValidationFailedError } from '../errors/app.errors.js';
import type { Envelope, Target } from './envelope.js';

/** What a publisher provides; the service adds id, times and sequence. */
export interface PublishRequest {
  tenant: string;
  target: Target;
  event: string;
  data: unknown;
  origin: Envelope['origin'];
  excludeConnectionId?: string;
  senderUserId?: string;
}

/** Assigns channel positions before an envelope leaves the node (history/recovery, issue 4). */
export interface EnvelopeStamp {
  stamp(envelope: Envelope): Promise<void> | void;
}

/** Observes cluster publishes (metrics); synchronous and cheap. */
export interface PublishObserver {
  onTransportPublish(transport: string, seconds: number, failed: boolean): void;
}

/** One tenant's stream: a private Subject plus a bounded ring of its latest envelopes. */
class TenantStream {
  readonly subject = new Subject<Envelope>();
  private readonly ring: (Envelope | undefined)[];
  private next = 0;
  seq = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Array<Envelope | undefined>(capacity);
  }

  push(envelope: Envelope): void {
    this.ring[this.next] = envelope;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first. */
  recent(): Envelope[] {
    const out: Envelope[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const envelope = this.ring[(this.next + i) % this.capacity];
      if (envelope) out.push(envelope);
    }
    return out;
  }
}

/**
 * The core: publishers hand envelopes here, the cluster transport carries them to every node, and each
 * node feeds them into per-tenant Subjects (with a per-tenant sequence and a bounded buffer) that the
 * delivery path subscribes to. Knows no wire format.
 */
@Injectable()
export class BroadcastService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Broadcast');
  private readonly streams = new Map<string, TenantStream>();
  private readonly stamps: EnvelopeStamp[] = [];
  private readonly observers: PublishObserver[] = [];
  private transportSubscription?: Subscription;

  constructor(
    @Inject(CLUSTER_TRANSPORT) private readonly transport: ClusterTransport,
    private readonly apps: AppRegistry,
    private readonly config: HeraldConfig,
    private readonly boundary: ErrorBoundary,
  ) {
    for (const app of apps.all()) this.streams.set(app.id, new TenantStream(config.tenantBufferSize));
  }

  onModuleInit(): void {
    this.transportSubscription = this.transport.envelopes$.subscribe(this.boundary.guard('subscriber', (envelope: Envelope) => this.ingest(envelope), 'ingest'));
  }

  onModuleDestroy(): void {
    this.transportSubscription?.unsubscribe();
    for (const stream of this.streams.values()) stream.subject.complete();
  }

  addObserver(observer: PublishObserver): void {
    this.observers.push(observer);
  }

  /** Registers a stamp that runs on every envelope before it is published (e.g. channel history). */
  addStamp(stamp: EnvelopeStamp): void {
    this.stamps.push(stamp);
  }

  /**
   * Publishes within one tenant. Resolves with the envelope once the cluster accepted it; rejects with a
   * typed error (unknown tenant, transport down) and then nothing was delivered.
   */
  async publish(request: PublishRequest): Promise<Envelope> {
    if (!this.apps.findById(request.tenant)) throw new AppNotFoundError(`unknown app ${request.tenant}`);
    if (request.target.kind === 'predicate' && this.transport.kind !== 'local') {
      throw new ValidationFailedError('function predicates cannot cross nodes; use a filter target');
    }
    const now = Date.now();
    const envelope: Envelope = {
      id: randomId(),
      tenant: request.tenant,
      target: request.target,
      event: request.event,
      data: request.data,
      createTime: new Date(now).toISOString(),
      publishedAt: now,
      origin: request.origin,
      ...(request.excludeConnectionId !== undefined && { excludeConnectionId: request.excludeConnectionId }),
      ...(request.senderUserId !== undefined && { senderUserId: request.senderUserId }),
    };
    // Refuse before the stamps take a channel position for a message that cannot leave (a hole in the
    // offsets for nothing). A broker lost between the stamps and the publish still refuses, after them.
    if (!this.transport.available) throw new TransportUnavailableError(`the ${this.transport.kind} cluster transport is unavailable`);
    for (const stamp of this.stamps) await stamp.stamp(envelope);
    const started = performance.now();
    let failed = true;
    try {
      await this.transport.publish(envelope);
      failed = false;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      for (const observer of this.observers) observer.onTransportPublish(this.transport.kind, seconds, failed);
    }
    if (this.transport.kind === 'local') {
      // The local transport delivered synchronously and the SocketWriter flushes on setImmediate; resolving after
      // that flush means a publisher that awaits each call paces itself to what sockets absorb (no pile-up
      // of accepted-but-unsent messages), while publishes that arrive in the same turn still share one flush.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return envelope;
  }

  /** The live envelopes of one tenant on this node. */
  stream(tenant: string): Observable<Envelope> {
    const stream = this.streams.get(tenant);
    if (!stream) throw new AppNotFoundError(`unknown app ${tenant}`);
    return stream.subject.asObservable();
  }

  /** Every tenant's live envelopes on this node, in one stream (for control envelopes such as revocations). */
  everyTenant(): Observable<Envelope> {
    return merge(...[...this.streams.values()].map((stream) => stream.subject.asObservable()));
  }

  /** The tenant's buffered latest envelopes (oldest first), each with its per-tenant `seq`. */
  recent(tenant: string): Envelope[] {
    return this.streams.get(tenant)?.recent() ?? [];
  }

  tenants(): string[] {
    return [...this.streams.keys()];
  }

  private ingest(envelope: Envelope): void {
    const stream = this.streams.get(envelope.tenant);
    if (!stream) {
      this.logger.warn(`Dropped an envelope for unknown tenant ${envelope.tenant}`);
      return;
    }
    envelope.seq = ++stream.seq;
    stream.push(envelope);
    stream.subject.next(envelope);
  }
}
