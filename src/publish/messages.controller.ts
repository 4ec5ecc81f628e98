import { Body, Controller, Get, HttpCode, Inject, Param, Post, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AuthGuard, CurrentApp } from '../auth/auth.guard.js';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import { JsonDepthGuard } from '../common/json-depth.guard.js';
import { parseInput } from '../common/validation.js';
import type { AppConfig } from '../config/herald-config.js';
import { CLUSTER_STATS, type ClusterStats } from '../cluster/cluster-stats.js';
import { ERROR_BODY, RATE_LIMIT_HEADERS, openApiSchema } from '../docs/openapi-schemas.js';
import { API_KEY_AUTH } from '../docs/openapi.js';
import { AppRateLimits } from '../limits/app-rate-limits.service.js';
import { sendMessageSchema, targetOf } from './messages.dto.js';

/** Backend publishing and presence queries for the API key's app. */
@ApiTags('messages')
@ApiBearerAuth(API_KEY_AUTH)
@ApiUnauthorizedResponse({ description: 'Missing or unknown API key', schema: ERROR_BODY })
@ApiTooManyRequestsResponse({ description: 'Over a rate limit (per client IP, or the app\'s `maxBackendEventsPerSecond`)', schema: ERROR_BODY, headers: RATE_LIMIT_HEADERS })
@Controller('api')
@UseGuards(AuthGuard, JsonDepthGuard)
export class MessagesController {
  constructor(
    private readonly broadcast: BroadcastService,
    @Inject(CLUSTER_STATS) private readonly stats: ClusterStats,
    private readonly limits: AppRateLimits,
  ) {}

  /** Accepted (202) once the cluster transport took it; delivery is asynchronous. */
  @Post('messages')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Publish a message',
    description:
      'Sends `{id, cmd, data}` to every bus connection of the app, or to one user, several users, a session (JWT `sid`) or an API token (JWT `jti`). ' +
      'Give at most one of `to.user`, `to.users`, `to.session`, `to.token`; without `to` the whole tenant receives it. ' +
      'Accepted once the cluster transport took it; delivery is asynchronous.',
  })
  @ApiBody({ schema: openApiSchema(sendMessageSchema) })
  @ApiAcceptedResponse({
    description: 'Accepted for delivery',
    schema: {
      type: 'object',
      required: ['id', 'createTime'],
      properties: { id: { type: 'string', description: 'Message id (24 characters), the same for every recipient' }, createTime: { type: 'string', format: 'date-time' } },
    },
  })
  @ApiBadRequestResponse({ description: 'Invalid body (`validation_failed`, with `field`), or JSON nested deeper than `HERALD_MAX_JSON_DEPTH` (default 64)', schema: ERROR_BODY })
  @ApiPayloadTooLargeResponse({ description: 'Body over `HERALD_MAX_BODY_BYTES`', schema: ERROR_BODY })
  @ApiServiceUnavailableResponse({ description: 'Cluster transport unavailable; nothing was delivered', schema: ERROR_BODY })
  async send(@CurrentApp() app: AppConfig, @Body() body: unknown): Promise<{ id: string; createTime: string }> {
    const message = parseInput(sendMessageSchema, body);
    await this.limits.takeBackendEvents(app);
    const envelope = await this.broadcast.publish({
      tenant: app.id,
      target: targetOf(message.to),
      event: message.cmd,
      data: message.data,
      origin: 'rest',
    });
    return { id: envelope.id, createTime: envelope.createTime };
  }

  @Get('connections')
  @ApiOperation({ summary: 'Count live connections and distinct users of the app across the cluster' })
  @ApiOkResponse({
    schema: { type: 'object', required: ['connections', 'users'], properties: { connections: { type: 'integer' }, users: { type: 'integer' } } },
  })
  connections(@CurrentApp() app: AppConfig): Promise<{ connections: number; users: number }> {
    return this.stats.counts(app.id);
  }

  @Get('users/:userId')
  @ApiOperation({ summary: 'Whether a user is online (has a live connection on any node)' })
  @ApiParam({ name: 'userId', description: 'JWT `sub` of the user' })
  @ApiOkResponse({
    schema: { type: 'object', required: ['online', 'connections'], properties: { online: { type: 'boolean' }, connections: { type: 'integer' } } },
  })
  async user(@CurrentApp() app: AppConfig, @Param('userId') userId: string): Promise<{ online: boolean; connections: number }> {
    const connections = await this.stats.userConnections(app.id, userId);
    return { online: connections > 0, connections };
  }
}
