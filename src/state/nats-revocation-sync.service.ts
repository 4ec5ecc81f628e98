import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import { RevocationService } from '../auth/revocation.service.js';
import { NatsClient } from '../cluster/nats.client.js';
import { AppRegistry } from '../config/app-registry.service.js';
import { HeraldConfig } from '../config/herald-config.js';
import { LifecycleState } from '../health/lifecycle-state.service.js';
import { NatsPeers } from './nats-peers.service.js';

/**
 * The shared denylist over NATS: revocations already reach every live node as control envelopes; a
 * node that joins later asks every node it can hear for its denylist when it connects (all answers
 * within the discovery window), so it refuses revoked tokens too; readiness waits for that first load.
 * As durable as the longest-lived node.
 */
@Injectable()
export class NatsRevocationSync implements OnModuleInit {
  private readonly logger = new Logger('RevocationSync');
  private initialized = false;

  constructor(
    private readonly nats: NatsClient,
    private readonly peers: NatsPeers,
    private readonly revocations: RevocationService,
    private readonly apps: AppRegistry,
    private readonly config: HeraldConfig,
    private readonly lifecycle: LifecycleState,
    private readonly boundary: ErrorBoundary,
  ) {}

  onModuleInit(): void {
    if (this.initialized || !this.peers.enabled) return;
    this.initialized = true;
    this.peers.answer('denylist', () => this.revocations.entries());
    // Not ready (so not in a load balancer) before the first load: a revoked token must not slip in.
    let loaded: () => void = () => undefined;
    this.lifecycle.holdUntil(new Promise<void>((resolve) => (loaded = resolve)));
    this.nats.onConnection(() => {
      this.load().finally(loaded).catch(this.boundary.catcher('broker'));
    });
  }

  private async load(): Promise<void> {
    const cutoff = Date.now() / 1000 - this.config.revocationTtlSeconds;
    try {
      for (const reply of await this.peers.ask({ op: 'denylist' }, true)) {
        if (!Array.isArray(reply.body)) continue;
        for (const entry of reply.body) {
          if (!Array.isArray(entry) || entry.length !== 4) continue;
          const [tenant, kind, id, at] = entry as unknown[];
          if (typeof tenant !== 'string' || typeof id !== 'string' || typeof at !== 'number' || at < cutoff || !this.apps.findById(tenant)) continue;
          if (kind !== 'user' && kind !== 'session' && kind !== 'token') continue;
          this.revocations.revoke(tenant, kind, id, at);
        }
      }
    } catch (error) {
      this.logger.warn(`Could not load the denylist from the other nodes: ${(error as Error).message}`);
    }
  }
}
