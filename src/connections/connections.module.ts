import { Global, Module } from '@nestjs/common';
import { ConnectionLifecycle } from './connection-lifecycle.service.js';
import { ConnectionRegistry } from './connection-registry.service.js';
import { ConnectionRevoker } from './connection-revoker.service.js';

/** The registry of live connections, their lifecycle and revocation. */
@Global()
@Module({
  providers: [ConnectionRegistry, ConnectionLifecycle, ConnectionRevoker],
  exports: [ConnectionRegistry, ConnectionLifecycle, ConnectionRevoker],
})
export class ConnectionsModule {}
