import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AuthGuard } from './auth.guard.js';
import { JwtVerifier } from './jwt-verifier.service.js';
import { RevocationService } from './revocation.service.js';
import { SocketAuthenticator } from './socket-authenticator.service.js';

/** JWT verification for sockets, API keys for REST, the revocation denylist. */
@Global()
@Module({
  imports: [JwtModule.register({})],
  providers: [AuthGuard, JwtVerifier, RevocationService, SocketAuthenticator],
  exports: [AuthGuard, JwtVerifier, RevocationService, SocketAuthenticator],
})
export class AuthModule {}
