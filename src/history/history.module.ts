import { Global, Module } from '@nestjs/common';
import { byAdapter } from '../state/by-adapter.js';
import { RedisHistoryStore } from '../state/redis-history.store.js';
import { NatsHistoryStore } from '../state/nats-history.store.js';
import { historyBudgets, type HistoryStore } from './history.store.js';
import { HistoryStamp } from './history.stamp.js';
import { HISTORY_STORE } from './history.tokens.js';
import { MemoryHistoryStore } from './memory-history.store.js';

/** Channel positions and recent messages for recovery, behind the `HISTORY_STORE` token. */
@Global()
@Module({
  // One shared stream per channel across nodes: Redis (Lua) or NATS JetStream.
  providers: [byAdapter<HistoryStore>(HISTORY_STORE, (config) => new MemoryHistoryStore(historyBudgets(config)), RedisHistoryStore, { inject: NatsHistoryStore }), HistoryStamp],
  exports: [HISTORY_STORE],
})
export class HistoryModule {}
