import { Module } from '@nestjs/common';
import { MemoryChannelCache } from './memory-channel-cache.js';
import { MemoryChannelOccupancy } from './memory-channel-occupancy.js';
import { MemoryConnectionCounter } from './memory-connection-counter.js';
import { MemoryOnlineUsers } from './memory-online-users.js';
import { MemoryPresenceStore } from './memory-presence.store.js';
import { CHANNEL_CACHE, CHANNEL_OCCUPANCY, CONNECTION_COUNTER, ONLINE_USERS, PRESENCE_STORE } from './pusher-state.tokens.js';

/**
 * The cluster-wide Pusher state behind small interfaces. In-memory (single node) for now; a clustered
 * deployment (issue 5) swaps the `useClass` of each token for a Redis/NATS-backed implementation.
 */
@Module({
  providers: [
    { provide: PRESENCE_STORE, useClass: MemoryPresenceStore },
    { provide: CHANNEL_OCCUPANCY, useClass: MemoryChannelOccupancy },
    { provide: CONNECTION_COUNTER, useClass: MemoryConnectionCounter },
    { provide: CHANNEL_CACHE, useClass: MemoryChannelCache },
    { provide: ONLINE_USERS, useClass: MemoryOnlineUsers },
  ],
  exports: [PRESENCE_STORE, CHANNEL_OCCUPANCY, CONNECTION_COUNTER, CHANNEL_CACHE, ONLINE_USERS],
})
export class PusherStateModule {}
