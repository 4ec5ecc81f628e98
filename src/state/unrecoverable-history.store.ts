import { Injectable } from '@nestjs/common';
import type { StreamPosition } from '../broadcast/envelope.js';
import type { HistoryRead, HistoryStore } from '../history/history.store.js';
import { MemoryHistoryStore } from '../history/memory-history.store.js';

/**
 * History under NATS (a broker without shared storage): positions are assigned by the publishing
 * node's own store, so offsets from different nodes do not form one stream and recovery cannot be
 * promised. Every recovery answers `recovered:false` (the client resyncs), as Centrifugo does with
 * its NATS broker.
 */
@Injectable()
export class UnrecoverableHistoryStore extends MemoryHistoryStore implements HistoryStore {
  override async since(tenant: string, channel: string, _since: StreamPosition, _maxBytes?: number): Promise<HistoryRead> {
    return { recovered: false, position: await this.position(tenant, channel), entries: [] };
  }
}
