import { Body, Controller, Get, HttpCode, Inject, Param, Post, UseGuards } from '@nestjs/common';
import {
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
  type SchemaObject,
} from '@nestjs/swagger';
import { AuthGuard, CurrentApp } from '../auth/auth.guard.js';
import { JsonDepthGuard } from '../common/json-depth.guard.js';
import { parseInput } from '../common/validation.js';
import type { AppConfig } from '../config/herald-config.js';
import { ERROR_BODY, RATE_LIMIT_HEADERS, openApiSchema } from '../docs/openapi-schemas.js';
import { API_KEY_AUTH } from '../docs/openapi.js';
import { ValidationFailedError } from '../errors/app.errors.js';
import { AppRateLimits } from '../limits/app-rate-limits.service.js';
import type { ChannelOccupancy } from '../pusher/state/channel-occupancy.js';
import { CHANNEL_OCCUPANCY } from '../pusher/state/pusher-state.tokens.js';
import { channelNameProblem, isApplicationChannel } from './channel-name.js';
import { ChannelPublisher, type PublishedMessage } from './channel-publisher.service.js';
import { publishSchema } from './channels.dto.js';
import { dictionary } from '../common/dictionary.js';

const PUBLISHED_PROPERTIES: Record<string, SchemaObject> = {
  id: { type: 'string', description: 'Message id (24 characters), the same for every recipient' },
  createTime: { type: 'string', format: 'date-time' },
  offset: { type: 'integer', description: 'Position of the message in the channel' },
  epoch: { type: 'string', description: 'Stream epoch of the channel (changes when its history is lost)' },
};
const PUBLISHED: SchemaObject = { type: 'object', required: ['id', 'createTime'], properties: PUBLISHED_PROPERTIES };

/** Channel publishing (The Broadcaster's REST API) and subscriber counts for the API key's app. */
@ApiTags('channels')
@ApiBearerAuth(API_KEY_AUTH)
@ApiUnauthorizedResponse({ description: 'Missing or unknown API key', schema: ERROR_BODY })
@ApiTooManyRequestsResponse({ description: "Over a rate limit (per client IP, or the app's `maxBackendEventsPerSecond`)", schema: ERROR_BODY, headers: RATE_LIMIT_HEADERS })
@Controller('api')
@UseGuards(AuthGuard, JsonDepthGuard)
export class ChannelsController {
  constructor(
    private readonly publisher: ChannelPublisher,
    // Counts across the cluster and every protocol (the same source as Pusher's `/channels`).
    @Inject(CHANNEL_OCCUPANCY) private readonly occupancy: ChannelOccupancy,
    private readonly limits: AppRateLimits,
  ) {}

  @Post('publish')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Publish on one or several channels',
    description:
      'Delivers `{event, payload}` to every subscriber of the channel whatever its protocol (`/ws/rpc`, `/ws/jsonrpc`, `/ws/topics`, Pusher). ' +
      'With `channels` (at most 100) each channel gets its own message, id and offset. Answered once the cluster transport took the message(s).',
  })
  @ApiBody({ schema: openApiSchema(publishSchema) })
  @ApiOkResponse({
    description: 'Published: the message, or `{results: [...]}` (one per channel, in order) for `channels`',
    schema: { oneOf: [PUBLISHED, { type: 'object', required: ['results'], properties: { results: { type: 'array', items: { ...PUBLISHED, required: ['channel', 'id', 'createTime'], properties: { channel: { type: 'string' }, ...PUBLISHED_PROPERTIES } } } } }] },
  })
  @ApiBadRequestResponse({ description: 'Invalid body or channel name (`validation_failed`, with `field`), or JSON nested deeper than `HERALD_MAX_JSON_DEPTH` (default 64)', schema: ERROR_BODY })
  @ApiPayloadTooLargeResponse({ description: 'Body over `HERALD_MAX_BODY_BYTES`', schema: ERROR_BODY })
  @ApiServiceUnavailableResponse({ description: 'Cluster transport unavailable; nothing was delivered', schema: ERROR_BODY })
  async publish(@CurrentApp() app: AppConfig, @Body() body: unknown): Promise<PublishedMessage | { results: (PublishedMessage & { channel: string })[] }> {
    const message = parseInput(publishSchema, body);
    const channels = message.channels ?? [message.channel as string];
    if (message.channels && channels.length > app.maxEventChannelsAtOnce) {
      throw new ValidationFailedError(`channels: at most ${app.maxEventChannelsAtOnce} channels at once`, { field: 'channels' });
    }
    channels.forEach((channel, index) => {
      const problem = channelNameProblem(channel, app.maxChannelNameLength);
      const field = message.channels ? `channels.${index}` : 'channel';
      if (problem !== null) throw new ValidationFailedError(`${field}: ${problem}`, { field });
    });
    if (message.event.length > app.maxEventNameLength) {
      throw new ValidationFailedError(`event: must be at most ${app.maxEventNameLength} characters`, { field: 'event' });
    }
    await this.limits.takeBackendEvents(app, channels.length);
    if (!message.channels) return this.publisher.publish(app.id, channels[0], message.event, message.payload, 'rest');
    const results = await Promise.all(
      channels.map(async (channel) => ({ channel, ...(await this.publisher.publish(app.id, channel, message.event, message.payload, 'rest')) })),
    );
    return { results };
  }

  @Get('channels')
  @ApiOperation({ summary: 'Occupied channels of the app across the cluster, with their subscriber counts (all protocols)' })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['channels'],
      properties: { channels: { type: 'object', additionalProperties: { type: 'object', required: ['subscribers'], properties: { subscribers: { type: 'integer' } } } } },
    },
  })
  async channels(@CurrentApp() app: AppConfig): Promise<{ channels: Record<string, { subscribers: number }> }> {
    const channels = dictionary<{ subscribers: number }>();
    for (const [name, subscribers] of await this.occupancy.list(app.id)) {
      if (isApplicationChannel(name)) channels[name] = { subscribers };
    }
    return { channels };
  }

  @Get('channels/:channel')
  @ApiOperation({ summary: 'Subscriber count of one channel across the cluster (all protocols)' })
  @ApiParam({ name: 'channel', description: 'Channel name' })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['channel', 'occupied', 'subscribers'],
      properties: { channel: { type: 'string' }, occupied: { type: 'boolean' }, subscribers: { type: 'integer' } },
    },
  })
  @ApiBadRequestResponse({ description: 'Invalid channel name', schema: ERROR_BODY })
  async channel(@CurrentApp() app: AppConfig, @Param('channel') channel: string): Promise<{ channel: string; occupied: boolean; subscribers: number }> {
    const problem = channelNameProblem(channel, app.maxChannelNameLength);
    if (problem !== null) throw new ValidationFailedError(`channel: ${problem}`, { field: 'channel' });
    const subscribers = await this.occupancy.count(app.id, channel);
    return { channel, occupied: subscribers > 0, subscribers };
  }
}
