import type { Envelope } from '../broadcast/envelope.js';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import { Subject, takeUntil } from 'rxjs';
import { RevocationService } from '../auth/revocation.service.js';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import { redisKeyParts } from '../channels/channel-key.js';
import { RedisClients } from '../cluster/redis.clients.js';
import { AppRegistry } from '../config/app-registry.service.js';
import { HeraldConfig } from '../config/herald-config.js';
import { parseRevocationNotice } from '../connections/connection-revoker.service.js';
import { LifecycleState } from '../health/lifecycle-state.service.js';

/**
 * The shared denylist: every revocation notice that crosses the cluster is also written to Redis
 * (`rev:<app>`, field `<kind>:<id>` → time), and a node loads it when it connects (at start, and again
 * after Redis comes back), so a node that joins later refuses revoked tokens too. Checks stay
 * synchronous and local (RevocationService); Redis is only the memory of nodes that were not there.
 */
/** Stores a cut-off unless a later one is stored already (as the in-memory denylist does); KEYS hash; ARGV field, cut-off s, ttl s. */
const KEEP_LATEST_CUTOFF = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current or tonumber(current) < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1`;

@Injectable()
export class RedisRevocationSync implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('RevocationSync');
  private readonly destroy$ = new Subject<void>();

  constructor(
    private readonly clients: RedisClients,
    private readonly broadcast: BroadcastService,
    private readonly revocations: RevocationService,
    private readonly apps: AppRegistry,
    private readonly config: HeraldConfig,
    private readonly lifecycle: LifecycleState,
    private readonly boundary: ErrorBoundary,
  ) {}

  onModuleInit(): void {
    if (!this.clients.enabled) return;
    // Not ready (so not in a load balancer) before the first load: a revoked token must not slip in.
    let loaded: () => void = () => undefined;
    this.lifecycle.holdUntil(new Promise<void>((resolve) => (loaded = resolve)));
    this.clients.command.on('ready', () => {
      this.load().finally(loaded).catch(this.boundary.catcher('broker'));
    });
    this.broadcast
      .everyTenant()
      .pipe(takeUntil(this.destroy$))
      .subscribe(
        this.boundary.guard('subscriber', (envelope: Envelope) => {
          const notice = parseRevocationNotice(envelope);
          if (!notice) return;
          const key = this.key(envelope.tenant);
          this.clients
            .run((redis) => redis.eval(KEEP_LATEST_CUTOFF, 1, key, `${notice.kind}:${notice.id}`, notice.at, this.config.revocationTtlSeconds))
            .catch((error: unknown) => this.logger.warn(`Could not store a revocation: ${String(error)}`));
        }, 'revocation store'),
      );
  }

  onModuleDestroy(): void {
    this.destroy$.next();
    this.destroy$.complete();
  }

  private async load(): Promise<void> {
    const cutoff = Date.now() / 1000 - this.config.revocationTtlSeconds;
    try {
      for (const app of this.apps.all()) {
        for (const [field, at] of Object.entries(await this.clients.command.hgetall(this.key(app.id)))) {
          const split = field.indexOf(':');
          const kind = field.slice(0, split);
          if ((kind !== 'user' && kind !== 'session' && kind !== 'token') || Number(at) < cutoff) continue;
          this.revocations.revoke(app.id, kind, field.slice(split + 1), Number(at));
        }
      }
    } catch (error) {
      this.logger.warn(`Could not load the shared denylist: ${(error as Error).message}`);
    }
  }

  private key(tenant: string): string {
    return this.clients.key('rev', ...redisKeyParts(tenant));
  }
}
