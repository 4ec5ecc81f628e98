import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiOkResponse,
  type ApiResponseOptions,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { z } from 'zod';
import { AuthGuard, CurrentApp } from '../auth/auth.guard.js';
import { parseInput } from '../common/validation.js';
import { HeraldConfig, type AppConfig } from '../config/herald-config.js';
import { ConnectionRevoker } from '../connections/connection-revoker.service.js';
import { ValidationFailedError } from '../errors/app.errors.js';
import { ERROR_BODY, RATE_LIMIT_HEADERS } from '../docs/openapi-schemas.js';
import { API_KEY_AUTH } from '../docs/openapi.js';

const CLOSED: ApiResponseOptions = {
  schema: { type: 'object', required: ['closed'], properties: { closed: { type: 'integer', description: 'Sockets closed with 4001, summed over every node that reported within 1 s' } } },
};

/** Optional body of every revoke endpoint. */
export const revokeSchema = z
  .object({
    /** Unix seconds: tokens with an `iat` below it are refused, and only sockets opened with such tokens close. */
    issuedBefore: z.number().int().min(0).optional(),
  })
  .strict();

const REVOKE_BODY = {
  required: false,
  schema: {
    type: 'object',
    properties: {
      issuedBefore: {
        type: 'integer',
        description:
          'Unix seconds. Tokens with `iat` < issuedBefore are refused and only their sockets close. Default: the start of the ' +
          'current second, and every matching socket closes (tokens minted in the same second, e.g. a replacement, are accepted).',
      },
    },
  },
} as const;

/** Revokes sessions, users and API tokens: matching sockets close with 4001 "Session revoked". */
@ApiTags('revocation')
@ApiBearerAuth(API_KEY_AUTH)
@ApiUnauthorizedResponse({ description: 'Missing or unknown API key', schema: ERROR_BODY })
@ApiBadRequestResponse({ description: '`issuedBefore` not an integer, or beyond the clock skew in the future', schema: ERROR_BODY })
@ApiTooManyRequestsResponse({ description: 'Over the per-IP REST limit', schema: ERROR_BODY, headers: RATE_LIMIT_HEADERS })
@ApiOkResponse(CLOSED)
@Controller('api')
@UseGuards(AuthGuard)
export class RevocationController {
  constructor(
    private readonly revoker: ConnectionRevoker,
    private readonly config: HeraldConfig,
  ) {}

  @Post('sessions/:sid/revoke')
  @ApiOperation({ summary: 'Revoke a session', description: 'Closes its sockets with 4001 "Session revoked" and refuses tokens with this `sid` issued before the cut-off.' })
  @ApiParam({ name: 'sid', description: 'JWT `sid`' })
  @ApiBody(REVOKE_BODY)
  @HttpCode(200)
  async revokeSession(@CurrentApp() app: AppConfig, @Param('sid') sid: string, @Body() body: unknown): Promise<{ closed: number }> {
    return { closed: await this.revoker.revoke(app.id, 'session', sid, this.issuedBefore(body)) };
  }

  @Post('users/:userId/revoke')
  @ApiOperation({ summary: 'Revoke a user', description: 'Closes every socket of the user with 4001 and refuses the user\'s tokens issued before the cut-off.' })
  @ApiParam({ name: 'userId', description: 'JWT `sub`' })
  @ApiBody(REVOKE_BODY)
  @HttpCode(200)
  async revokeUser(@CurrentApp() app: AppConfig, @Param('userId') userId: string, @Body() body: unknown): Promise<{ closed: number }> {
    return { closed: await this.revoker.revoke(app.id, 'user', userId, this.issuedBefore(body)) };
  }

  @Post('tokens/:jti/revoke')
  @ApiOperation({ summary: 'Revoke an API token', description: 'Closes the sockets opened with the token with 4001 and refuses it from now on.' })
  @ApiParam({ name: 'jti', description: 'JWT `jti`' })
  @ApiBody(REVOKE_BODY)
  @HttpCode(200)
  async revokeToken(@CurrentApp() app: AppConfig, @Param('jti') jti: string, @Body() body: unknown): Promise<{ closed: number }> {
    return { closed: await this.revoker.revoke(app.id, 'token', jti, this.issuedBefore(body)) };
  }

  /** An empty body means the default cut-off; a cut-off past the iat skew would only lock the identity out. */
  private issuedBefore(body: unknown): number | undefined {
    const empty = body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0);
    if (empty) return undefined;
    const { issuedBefore } = parseInput(revokeSchema, body);
    if (issuedBefore !== undefined && issuedBefore > Date.now() / 1000 + this.config.jwtClockSkewSeconds + 1) {
      throw new ValidationFailedError(`issuedBefore: at most ${this.config.jwtClockSkewSeconds + 1} s in the future`, { field: 'issuedBefore' });
    }
    return issuedBefore;
  }
}
