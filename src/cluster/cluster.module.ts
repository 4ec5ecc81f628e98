import { Global, Module } from '@nestjs/common';
import { CLUSTER_TRANSPORT } from './cluster.transport.js';
import { LocalTransport } from './local.transport.js';

/** Chooses the transport from `HERALD_ADAPTER`. Only `local` is built in so far (Redis/NATS: issue 5). */
@Global()
@Module({
  providers: [LocalTransport, { provide: CLUSTER_TRANSPORT, useExisting: LocalTransport }],
  exports: [CLUSTER_TRANSPORT],
})
export class ClusterModule {}
