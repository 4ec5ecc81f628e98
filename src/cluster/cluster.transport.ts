import type { Observable } from 'rxjs';
import type { Envelope } from '../broadcast/envelope.js';

/** DI token: the cluster transport in use (`HERALD_ADAPTER`: local | redis | nats). */
export const CLUSTER_TRANSPORT = Symbol('ClusterTransport');

export interface TransportHealth {
  up: boolean;
  /** e.g. `{ redis: 'connected' }` for the readiness probe. */
  details: Record<string, string>;
}

/**
 * Carries envelopes between nodes. Every node sees every envelope of its tenants (including its own),
 * in publish order per publisher.
 */
export interface ClusterTransport {
  readonly kind: 'local' | 'redis' | 'nats';
  /**
   * Resolves once the envelope is accepted for the whole cluster; rejects with
   * `TransportUnavailableError` when it is not (then it is delivered nowhere).
   */
  publish(envelope: Envelope): Promise<void>;
  /** Every envelope from every node, this one included. */
  readonly envelopes$: Observable<Envelope>;
  /** Whether a publish can be accepted now (cheap: asked before every publish). */
  readonly available: boolean;
  health(): TransportHealth;
}
