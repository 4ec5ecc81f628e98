import { Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { AuthGuard, CurrentApp } from '../auth/auth.guard.js';
import type { AppConfig } from '../config/herald-config.js';
import { ConnectionRevoker } from '../connections/connection-revoker.service.js';

/** Revokes sessions, users and API tokens: matching sockets close with 4001 "Session revoked". */
@Controller('api')
@UseGuards(AuthGuard)
export class RevocationController {
  constructor(private readonly revoker: ConnectionRevoker) {}

  @Post('sessions/:sid/revoke')
  @HttpCode(200)
  revokeSession(@CurrentApp() app: AppConfig, @Param('sid') sid: string): { closed: number } {
    return { closed: this.revoker.revoke(app.id, 'session', sid) };
  }

  @Post('users/:userId/revoke')
  @HttpCode(200)
  revokeUser(@CurrentApp() app: AppConfig, @Param('userId') userId: string): { closed: number } {
    return { closed: this.revoker.revoke(app.id, 'user', userId) };
  }

  @Post('tokens/:jti/revoke')
  @HttpCode(200)
  revokeToken(@CurrentApp() app: AppConfig, @Param('jti') jti: string): { closed: number } {
    return { closed: this.revoker.revoke(app.id, 'token', jti) };
  }
}
