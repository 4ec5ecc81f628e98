import { Inject, Injectable } from '@nestjs/common';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import { ConnectionRegistry } from '../connections/connection-registry.service.js';
import { WebhookService } from '../webhooks/webhook.service.js';
import { channelInfo, channelNameProblem, type ChannelInfo } from '../channels/channel-name.js';
import { channelRoom, pusherSubscriptionRule, serverToUserId } from '../channels/channel-policy.js';
import { HeraldConfig } from '../config/herald-config.js';
import { errorFrame, pusherFrame, subscriptionErrorFrame } from './pusher.frames.js';
import { channelStringToSign, verifyClientAuth } from './pusher-signature.js';
import { clearAuthTimer, type PusherConnection } from './pusher-session.js';
import type { ChannelCache } from './state/channel-cache.js';
import type { PresenceMember, PresenceStore } from './state/presence.store.js';
import { CHANNEL_CACHE, PRESENCE_STORE } from './state/pusher-state.tokens.js';
import { dictionary } from '../common/dictionary.js';
import { PEER_MAX_JSON_DEPTH, parseJson } from '../common/json.js';
import { keyOf, memberKey } from '../channels/channel-key.js';

/** A subscription refused with soketi's channel-scoped error (the socket stays open). */
class SubscriptionRefused extends Error {
  constructor(
    readonly type: 'AuthError' | 'LimitReached' | 'InvalidChannel',
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** `{"presence":{"ids","hash","count"}}` as pusher-js's Members reads it. */
function presenceData(members: PresenceMember[]): { presence: { ids: string[]; hash: Record<string, unknown>; count: number } } {
  const hash = dictionary<unknown>();
  for (const member of members) hash[member.userId] = member.userInfo ?? null;
  return { presence: { ids: members.map((m) => m.userId), hash, count: members.length } };
}

/**
 * `pusher:subscribe` / `pusher:unsubscribe`: name rules, signatures, presence membership, cache
 * replay. Every await happens before the connection joins the channel, so the join, the
 * `subscription_succeeded` frame and the cached event are written in one synchronous step and no
 * broadcast can overtake them. Leaving (explicitly or by disconnect) is handled by
 * `PusherChannelState` from the registry's `unsubscribed` events.
 */
@Injectable()
export class PusherSubscriptions {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly broadcast: BroadcastService,
    private readonly webhooks: WebhookService,
    @Inject(PRESENCE_STORE) private readonly presence: PresenceStore,
    @Inject(CHANNEL_CACHE) private readonly cache: ChannelCache,
    private readonly config: HeraldConfig,
  ) {}

  async subscribe(connection: PusherConnection, data: unknown): Promise<void> {
    const payload = record(data);
    const channel = payload.channel;
    if (typeof channel !== 'string') {
      connection.sendText(errorFrame('pusher:subscribe needs data.channel (a string)'));
      return;
    }
    try {
      await this.trySubscribe(connection, channel, payload);
    } catch (error) {
      if (!(error instanceof SubscriptionRefused)) throw error;
      connection.sendText(subscriptionErrorFrame(channel, error.type, error.message, error.status));
    }
  }

  unsubscribe(connection: PusherConnection, data: unknown): void {
    const channel = record(data).channel;
    if (typeof channel !== 'string') {
      connection.sendText(errorFrame('pusher:unsubscribe needs data.channel (a string)'));
      return;
    }
    this.registry.unsubscribe(connection, channel);
  }

  private async trySubscribe(connection: PusherConnection, channel: string, payload: Record<string, unknown>): Promise<void> {
    const session = connection.session;
    const app = session.app;
    const problem = channelNameProblem(channel, app.maxChannelNameLength, { serverToUser: true });
    if (problem) throw new SubscriptionRefused(channel.length > app.maxChannelNameLength ? 'LimitReached' : 'InvalidChannel', problem, channel.length > app.maxChannelNameLength ? 4009 : 400);
    const info = channelInfo(channel);
    // The one channel policy (channels/channel-policy.ts): what this kind of name needs on Pusher.
    const rule = pusherSubscriptionRule(info);
    if (rule === 'refused') throw new SubscriptionRefused('InvalidChannel', 'Channels starting with # are reserved', 400);
    if (rule === 'own-user' && session.user?.id !== serverToUserId(channel)) {
      throw new SubscriptionRefused('AuthError', 'Only a connection signed in as this user may subscribe to its #server-to-user channel', 403);
    }

    let member: PresenceMember | undefined;
    if (rule === 'signature') member = this.authorize(connection, channel, info, payload);

    if (connection.channels.has(channel)) {
      // Already subscribed (a client retry): confirm again without joining twice.
      const members = member ? await this.presence.members(app.id, channel) : undefined;
      connection.sendText(this.succeeded(channel, members));
      return;
    }

    if (!channelRoom(connection.channels, [channel], this.config.maxChannelsPerConnection)) {
      throw new SubscriptionRefused('LimitReached', `At most ${this.config.maxChannelsPerConnection} channels per connection`, 4100);
    }

    let firstJoin = false;
    let members: PresenceMember[] | undefined;
    if (member) {
      const joined = await this.presence.join(app.id, channel, connection.id, member, app.maxPresenceMembersPerChannel);
      if (!joined.accepted) throw new SubscriptionRefused('LimitReached', `Presence channel is full (${app.maxPresenceMembersPerChannel} members)`, 4100);
      firstJoin = joined.firstJoin;
      members = await this.presence.members(app.id, channel);
    }
    const cached = info.cache ? await this.cache.get(app.id, channel) : undefined;

    if (connection.closed) {
      if (member) await this.presence.leave(app.id, channel, connection.id, member.userId);
      return;
    }
    // From here on synchronous: join, confirm, replay.
    if (member) session.presence.set(channel, member);
    this.registry.subscribe(connection, channel);
    if (info.kind !== 'public' && info.kind !== 'server-to-user') clearAuthTimer(session);
    connection.sendText(this.succeeded(channel, members));
    if (info.cache) {
      if (cached) {
        connection.sendText(pusherFrame(cached.event.event, cached.event.data, channel));
      } else {
        connection.sendText(`{"event":"pusher:cache_miss","channel":${JSON.stringify(channel)}}`);
        this.webhooks.emit(app, { name: 'cache_miss', channel });
      }
    }
    if (member && firstJoin) {
      void this.broadcast
        .publish({
          tenant: app.id,
          target: { kind: 'channel', channel },
          event: 'pusher_internal:member_added',
          data: { user_id: member.userId, user_info: member.userInfo ?? null },
          origin: 'internal',
          excludeConnectionId: connection.id,
        })
        .catch(() => undefined);
      if (!this.webhooks.cancel(keyOf('member', memberKey(app.id, channel, member.userId)))) {
        this.webhooks.emit(app, { name: 'member_added', channel, user_id: member.userId });
      }
    }
  }

  /** Checks the signature; for presence, returns the member the client joins as. */
  private authorize(connection: PusherConnection, channel: string, info: ChannelInfo, payload: Record<string, unknown>): PresenceMember | undefined {
    const { app, user } = connection.session;
    const channelData = payload.channel_data;
    if (channelData !== undefined && typeof channelData !== 'string') {
      throw new SubscriptionRefused('AuthError', 'channel_data must be a JSON string', 401);
    }
    const signed = info.kind === 'presence' ? channelData : undefined;
    if (!verifyClientAuth(payload.auth, app.key, app.secret, channelStringToSign(connection.id, channel, signed))) {
      throw new SubscriptionRefused('AuthError', `Invalid signature: expected HMAC-SHA256 of "${connection.id}:${channel}${signed === undefined ? '' : ':<channel_data>'}"`, 401);
    }
    if (info.kind !== 'presence') return undefined;
    if (signed === undefined) {
      // pusher-js >= 7.4: a signed-in connection may join presence as its user, without channel_data.
      if (!user) throw new SubscriptionRefused('AuthError', 'Presence subscription needs channel_data (or a signed-in connection)', 401);
      return { userId: user.id, userInfo: user.info };
    }
    if (Buffer.byteLength(signed) > app.maxPresenceMemberSizeInKb * 1024) {
      throw new SubscriptionRefused('LimitReached', `Presence member data is larger than ${app.maxPresenceMemberSizeInKb} KB`, 4301);
    }
    const json = parseJson(signed, { maxDepth: PEER_MAX_JSON_DEPTH });
    if (!json.ok) throw new SubscriptionRefused('AuthError', `channel_data is ${json.problem === 'too_deep' ? json.message : 'not valid JSON'}`, 401);
    const fields = record(json.value);
    const userId = fields.user_id;
    if (!((typeof userId === 'string' && userId !== '') || typeof userId === 'number')) {
      throw new SubscriptionRefused('AuthError', 'channel_data.user_id must be a non-empty string or a number', 401);
    }
    if (String(userId).length > 128) throw new SubscriptionRefused('LimitReached', 'channel_data.user_id is longer than 128 characters', 4301);
    return { userId: String(userId), userInfo: fields.user_info };
  }

  private succeeded(channel: string, members: PresenceMember[] | undefined): string {
    return pusherFrame('pusher_internal:subscription_succeeded', members ? presenceData(members) : {}, channel);
  }
}
