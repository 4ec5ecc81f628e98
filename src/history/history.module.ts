import { Global, Module } from '@nestjs/common';
import { byAdapter } from '../state/by-adapter.js';
import { RedisHistoryStore } from '../state/redis-history.store.js';
import { UnrecoverableHistoryStore } from '../state/unrecoverable-history.store.js';
import type { HistoryStore } from './history.store.js';
import { HistoryStamp } from './history.stamp.js';
import { HISTORY_STORE } from './history.tokens.js';
import { MemoryHistoryStore } from './memory-history.store.js';

/** Channel positions and recent messages for recovery, behind the `HISTORY_STORE` token. */
@Global()
@Module({
  // HERALD_ADAPTER=redis: one shared stream per channel; nats: recovery answers recovered:false (issue 5).
  providers: [byAdapter<HistoryStore>(HISTORY_STORE, () => new MemoryHistoryStore(), RedisHistoryStore, { create: () => new UnrecoverableHistoryStore() }), HistoryStamp],
  exports: [HISTORY_STORE],
})
export class HistoryModule {}
