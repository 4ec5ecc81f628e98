import type { Provider, Type } from '@nestjs/common';
import { HeraldConfig } from '../config/herald-config.js';

/** An implementation made on the spot (no dependencies), or one injected from the global ClusterStateModule. */
export type Implementation<T> = { create: (config: HeraldConfig) => T } | { inject: Type<T> };

/**
 * Binds `token` to the single-node implementation, or to the Redis one when `HERALD_ADAPTER=redis`
 * (`nats` defaults to the single-node one). Only the chosen implementation is created, once, so its
 * lifecycle hooks run once. (Nest runs hooks on every provider's value: an injected instance that is
 * also its own class provider gets them twice, so such classes keep their hooks idempotent.)
 */
export function byAdapter<T>(token: symbol, local: (config: HeraldConfig) => T, redis: Type<T>, nats: Implementation<T> = { create: local }): Provider {
  const natsClass = 'inject' in nats ? [nats.inject] : [];
  return {
    provide: token,
    inject: [HeraldConfig, { token: redis, optional: true }, ...natsClass],
    useFactory: (config: HeraldConfig, redisImpl: T, natsImpl?: T): T => {
      switch (config.adapter) {
        case 'redis':
          return redisImpl;
        case 'nats':
          return 'inject' in nats && natsImpl !== undefined ? natsImpl : 'create' in nats ? nats.create(config) : local(config);
        case 'local':
          return local(config);
        default: {
          const unreachable: never = config.adapter;
          throw new Error(`unknown adapter ${String(unreachable)}`);
        }
      }
    },
  };
}
