import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, UseFilters, UseGuards } from '@nestjs/common';
import type { AppConfig } from '../../config/herald-config.js';
import { ValidationFailedError } from '../../errors/app.errors.js';
import { JsonDepthGuard } from '../../common/json-depth.guard.js';
import { parseInput } from '../../common/validation.js';
import { AppRateLimits } from '../../limits/app-rate-limits.service.js';
import { PusherApiService, type ChannelAttributes } from '../pusher-api.service.js';
import { PusherUsers } from '../pusher-users.service.js';
import { batchSchema } from './pusher-api.dto.js';
import { PusherHttpErrorFilter } from './pusher-http-error.filter.js';
import { PusherSignatureGuard, type PusherApiRequest } from './pusher-signature.guard.js';

function appOf(request: PusherApiRequest): AppConfig {
  if (!request.pusherApp) throw new ValidationFailedError('unauthenticated');
  return request.pusherApp;
}

/** The Pusher Channels HTTP API (what the `pusher` server SDKs call), Pusher-signed. */
@Controller('apps/:appId')
@UseGuards(PusherSignatureGuard, JsonDepthGuard)
@UseFilters(PusherHttpErrorFilter)
export class PusherApiController {
  constructor(
    private readonly api: PusherApiService,
    private readonly users: PusherUsers,
    private readonly limits: AppRateLimits,
  ) {}

  @Post('events')
  @HttpCode(200)
  async events(@Req() request: PusherApiRequest, @Body() body: unknown): Promise<{ channels?: Record<string, ChannelAttributes> }> {
    const app = appOf(request);
    const event = this.api.validate(app, body);
    await this.limits.takeBackendEvents(app, event.channels.length);
    const channels = await this.api.publish(app, event);
    return channels ? { channels } : {};
  }

  @Post('batch_events')
  @HttpCode(200)
  async batch(@Req() request: PusherApiRequest, @Body() body: unknown): Promise<{ batch?: ChannelAttributes[] }> {
    const app = appOf(request);
    const { batch } = parseInput(batchSchema, body);
    if (batch.length > app.maxEventBatchSize) throw new ValidationFailedError(`batch: at most ${app.maxEventBatchSize} events`);
    const events = batch.map((item, index) => this.api.validate(app, item, `batch.${index}.`));
    await this.limits.takeBackendEvents(app, events.length);
    const results: ChannelAttributes[] = [];
    let anyInfo = false;
    for (const event of events) {
      const info = await this.api.publish(app, event);
      anyInfo ||= info !== undefined;
      results.push(info ? Object.assign({}, ...Object.values(info)) : {});
    }
    return anyInfo ? { batch: results } : {};
  }

  @Get('channels')
  async channels(
    @Req() request: PusherApiRequest,
    @Query('filter_by_prefix') prefix?: string,
    @Query('info') info?: string,
  ): Promise<{ channels: Record<string, ChannelAttributes> }> {
    return { channels: await this.api.channels(appOf(request), prefix, info) };
  }

  @Get('channels/:channel')
  async channel(@Req() request: PusherApiRequest, @Param('channel') channel: string, @Query('info') info?: string): Promise<ChannelAttributes> {
    return this.api.channel(appOf(request), channel, info);
  }

  @Get('channels/:channel/users')
  async channelUsers(@Req() request: PusherApiRequest, @Param('channel') channel: string): Promise<{ users: { id: string }[] }> {
    return this.api.users(appOf(request), channel);
  }

  @Post('users/:userId/terminate_connections')
  @HttpCode(200)
  async terminate(@Req() request: PusherApiRequest, @Param('userId') userId: string): Promise<Record<string, never>> {
    await this.users.terminate(appOf(request).id, userId);
    return {};
  }
}
