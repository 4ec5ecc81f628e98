import { Global, Module } from '@nestjs/common';
import { HistoryStamp } from './history.stamp.js';
import { HISTORY_STORE } from './history.tokens.js';
import { MemoryHistoryStore } from './memory-history.store.js';

/** Channel positions and recent messages for recovery, behind the `HISTORY_STORE` token. */
@Global()
@Module({
  providers: [{ provide: HISTORY_STORE, useClass: MemoryHistoryStore }, HistoryStamp],
  exports: [HISTORY_STORE],
})
export class HistoryModule {}
