import { Inject, Injectable } from '@nestjs/common';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import type { AppConfig } from '../config/herald-config.js';
import { PayloadTooLargeError, ValidationFailedError } from '../errors/app.errors.js';
import { parseInput } from '../common/validation.js';
import { channelInfo, channelNameProblem } from '../channels/channel-name.js';
import { infoAttributes, pusherEventSchema } from './http/pusher-api.dto.js';
import type { ChannelCache } from './state/channel-cache.js';
import type { ChannelOccupancy } from './state/channel-occupancy.js';
import type { PresenceStore } from './state/presence.store.js';
import { CHANNEL_CACHE, CHANNEL_OCCUPANCY, PRESENCE_STORE } from './state/pusher-state.tokens.js';
import { dictionary } from '../common/dictionary.js';

/** Per-channel attributes of the `info` answers. */
export interface ChannelAttributes {
  occupied?: boolean;
  user_count?: number;
  subscription_count?: number;
  cache?: { data: unknown; ttl: number };
}

/** A validated event, ready to publish. */
export interface ValidEvent {
  name: string;
  data: unknown;
  channels: string[];
  socketId?: string;
  info: Set<string>;
}

/**
 * The Pusher HTTP API's behaviour (the controller only maps HTTP): validation against the app's
 * limits, publishing into the shared channel space (one envelope per channel, encoded once per
 * protocol downstream), and channel queries over the cluster-wide state.
 */
@Injectable()
export class PusherApiService {
  constructor(
    private readonly broadcast: BroadcastService,
    @Inject(CHANNEL_OCCUPANCY) private readonly occupancy: ChannelOccupancy,
    @Inject(PRESENCE_STORE) private readonly presence: PresenceStore,
    @Inject(CHANNEL_CACHE) private readonly cache: ChannelCache,
  ) {}

  /** Validates one event (all of a batch is validated before anything is published). */
  validate(app: AppConfig, body: unknown, field = ''): ValidEvent {
    const event = parseInput(pusherEventSchema, body);
    const channels = event.channels ?? [event.channel as string];
    if (channels.length > app.maxEventChannelsAtOnce) {
      throw new ValidationFailedError(`${field}channels: at most ${app.maxEventChannelsAtOnce} channels per event`);
    }
    for (const channel of channels) {
      const problem = channelNameProblem(channel, app.maxChannelNameLength, { serverToUser: true });
      if (problem) throw new ValidationFailedError(`${field}channel "${channel.slice(0, 64)}": ${problem}`);
      if (channelInfo(channel).kind === 'internal') throw new ValidationFailedError(`${field}channel "${channel.slice(0, 64)}": reserved name`);
    }
    if (event.name.length > app.maxEventNameLength) throw new ValidationFailedError(`${field}name: longer than ${app.maxEventNameLength} characters`);
    const size = typeof event.data === 'string' ? Buffer.byteLength(event.data) : Buffer.byteLength(JSON.stringify(event.data));
    if (size > app.maxEventPayloadInKb * 1024) throw new PayloadTooLargeError(`${field}data: larger than ${app.maxEventPayloadInKb} KB`);
    return { name: event.name, data: event.data, channels, socketId: event.socket_id, info: infoAttributes(event.info) };
  }

  async publish(app: AppConfig, event: ValidEvent): Promise<Record<string, ChannelAttributes> | undefined> {
    for (const channel of event.channels) {
      await this.broadcast.publish({
        tenant: app.id,
        target: { kind: 'channel', channel },
        event: event.name,
        data: event.data,
        origin: 'pusher-api',
        ...(event.socketId !== undefined && { excludeConnectionId: event.socketId }),
      });
    }
    if (event.info.size === 0) return undefined;
    const out = dictionary<ChannelAttributes>();
    for (const channel of event.channels) out[channel] = await this.attributes(app, channel, event.info, false);
    return out;
  }

  /** `GET /channels`: occupied channels, optionally by prefix; `user_count` only with a `presence-` filter. */
  async channels(app: AppConfig, prefix: string | undefined, infoParam: string | undefined): Promise<Record<string, ChannelAttributes>> {
    const info = infoAttributes(infoParam);
    if (info.has('user_count') && !(prefix ?? '').startsWith('presence-')) {
      throw new ValidationFailedError('info=user_count needs filter_by_prefix=presence-');
    }
    const out = dictionary<ChannelAttributes>();
    for (const [channel, count] of await this.occupancy.list(app.id, prefix)) {
      const attributes: ChannelAttributes = {};
      if (info.has('subscription_count')) attributes.subscription_count = count;
      if (info.has('user_count')) attributes.user_count = await this.presence.memberCount(app.id, channel);
      out[channel] = attributes;
    }
    return out;
  }

  /** `GET /channels/:channel`: `occupied` always; `user_count` (presence only), `subscription_count`, `cache`. */
  async channel(app: AppConfig, channel: string, infoParam: string | undefined): Promise<ChannelAttributes> {
    this.checkName(app, channel);
    return this.attributes(app, channel, infoAttributes(infoParam), true);
  }

  async users(app: AppConfig, channel: string): Promise<{ users: { id: string }[] }> {
    this.checkName(app, channel);
    if (channelInfo(channel).kind !== 'presence') throw new ValidationFailedError('Users are only available for presence channels');
    const members = await this.presence.members(app.id, channel);
    return { users: members.map((member) => ({ id: member.userId })) };
  }

  private checkName(app: AppConfig, channel: string): void {
    const problem = channelNameProblem(channel, app.maxChannelNameLength, { serverToUser: true });
    if (problem) throw new ValidationFailedError(`channel: ${problem}`);
  }

  private async attributes(app: AppConfig, channel: string, info: Set<string>, withOccupied: boolean): Promise<ChannelAttributes> {
    const kind = channelInfo(channel);
    if (info.has('user_count') && kind.kind !== 'presence') throw new ValidationFailedError('info=user_count is only valid for presence channels');
    const out: ChannelAttributes = {};
    const count = await this.occupancy.count(app.id, channel);
    if (withOccupied) out.occupied = count > 0;
    if (info.has('user_count')) out.user_count = await this.presence.memberCount(app.id, channel);
    if (info.has('subscription_count')) out.subscription_count = count;
    if (info.has('cache') && kind.cache) {
      const cached = await this.cache.get(app.id, channel);
      if (cached) out.cache = { data: cached.event.data, ttl: cached.ttlSeconds };
    }
    return out;
  }
}
