import { Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, type ApiResponseOptions, ApiOperation, ApiParam, ApiTags, ApiTooManyRequestsResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { AuthGuard, CurrentApp } from '../auth/auth.guard.js';
import type { AppConfig } from '../config/herald-config.js';
import { ConnectionRevoker } from '../connections/connection-revoker.service.js';
import { ERROR_BODY, RATE_LIMIT_HEADERS } from '../docs/openapi-schemas.js';
import { API_KEY_AUTH } from '../docs/openapi.js';

const CLOSED: ApiResponseOptions = {
  schema: { type: 'object', required: ['closed'], properties: { closed: { type: 'integer', description: 'Sockets closed with 4001, summed over every node that reported within 1 s' } } },
};

/** Revokes sessions, users and API tokens: matching sockets close with 4001 "Session revoked". */
@ApiTags('revocation')
@ApiBearerAuth(API_KEY_AUTH)
@ApiUnauthorizedResponse({ description: 'Missing or unknown API key', schema: ERROR_BODY })
@ApiTooManyRequestsResponse({ description: 'Over the per-IP REST limit', schema: ERROR_BODY, headers: RATE_LIMIT_HEADERS })
@ApiOkResponse(CLOSED)
@Controller('api')
@UseGuards(AuthGuard)
export class RevocationController {
  constructor(private readonly revoker: ConnectionRevoker) {}

  @Post('sessions/:sid/revoke')
  @ApiOperation({ summary: 'Revoke a session', description: 'Closes its sockets with 4001 "Session revoked" and refuses tokens with this `sid` issued before now.' })
  @ApiParam({ name: 'sid', description: 'JWT `sid`' })
  @HttpCode(200)
  async revokeSession(@CurrentApp() app: AppConfig, @Param('sid') sid: string): Promise<{ closed: number }> {
    return { closed: await this.revoker.revoke(app.id, 'session', sid) };
  }

  @Post('users/:userId/revoke')
  @ApiOperation({ summary: 'Revoke a user', description: 'Closes every socket of the user with 4001 and refuses the user\'s tokens issued before now.' })
  @ApiParam({ name: 'userId', description: 'JWT `sub`' })
  @HttpCode(200)
  async revokeUser(@CurrentApp() app: AppConfig, @Param('userId') userId: string): Promise<{ closed: number }> {
    return { closed: await this.revoker.revoke(app.id, 'user', userId) };
  }

  @Post('tokens/:jti/revoke')
  @ApiOperation({ summary: 'Revoke an API token', description: 'Closes the sockets opened with the token with 4001 and refuses it from now on.' })
  @ApiParam({ name: 'jti', description: 'JWT `jti`' })
  @HttpCode(200)
  async revokeToken(@CurrentApp() app: AppConfig, @Param('jti') jti: string): Promise<{ closed: number }> {
    return { closed: await this.revoker.revoke(app.id, 'token', jti) };
  }
}
