import { Global, Module } from '@nestjs/common';
import { ConnectionLifecycle } from './connection-lifecycle.service.js';
import { ConnectionRegistry } from './connection-registry.service.js';
import { ConnectionRevoker } from './connection-revoker.service.js';
import { TokenExpiry } from './token-expiry.service.js';

/** The registry of live connections, their lifecycle, token expiry and revocation. */
@Global()
@Module({
  providers: [ConnectionRegistry, ConnectionLifecycle, ConnectionRevoker, TokenExpiry],
  exports: [ConnectionRegistry, ConnectionLifecycle, ConnectionRevoker, TokenExpiry],
})
export class ConnectionsModule {}
