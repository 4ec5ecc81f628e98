import { Inject, Injectable } from '@nestjs/common';
import type { StreamPosition } from '../broadcast/envelope.js';
import { ChannelAuthorizer } from '../channels/channel-authorizer.service.js';
import { channelRoom } from '../channels/channel-policy.js';
import { HeraldConfig } from '../config/herald-config.js';
import { ConnectionRegistry } from '../connections/connection-registry.service.js';
import { ChannelLimitReachedError, ConflictError, PermissionDeniedError } from '../errors/app.errors.js';
import type { Connection } from '../connections/connection.js';
import { frameText } from '../delivery/ws-frame.js';
import type { HistoryStore } from '../history/history.store.js';
import { HISTORY_STORE } from '../history/history.tokens.js';
import { messageOf, type ChannelFrameParts, type RpcCodec } from './rpc.codec.js';
import { RpcUnauthenticatedError } from './rpc.errors.js';
import { channelParam, parseParams, subscribeParams, unsubscribeParams } from './rpc.params.js';
import type { RpcConnection, RpcSubscription } from './rpc.session.js';

/** A method's result plus what must go out right after the reply (the replay). */
export interface RpcOutcome {
  result: unknown;
  afterReply?: () => void;
}

export interface SubscribeResult {
  subscriptionId: string;
  timestamp: string;
  offset: number;
  epoch: string;
  recovered?: boolean;
}

/**
 * `subscribe` / `unsubscribe`, with recovery. The subscription joins the channel index first and
 * queues live messages while the position (or history since `since`) is read; then the reply goes
 * out, then the replay, then the queued live messages, each numbered on the subscription. Messages
 * published during the read are therefore neither lost (they were queued) nor doubled (a live message
 * at or below the replayed top is skipped), in publish order.
 */
@Injectable()
export class RpcSubscriptions {
  constructor(
    private readonly registry: ConnectionRegistry,
    @Inject(HISTORY_STORE) private readonly history: HistoryStore,
    private readonly authorizer: ChannelAuthorizer,
    private readonly config: HeraldConfig,
  ) {}

  /**
   * Validates synchronously (a refused subscribe never holds the connection's later requests back),
   * except when a restricted name is left to the app's `authorizeUrl`.
   */
  subscribe(connection: RpcConnection, params: unknown): Promise<RpcOutcome> {
    const session = connection.session;
    const { channel: rawChannel, since } = parseParams(subscribeParams, params);
    const channel = channelParam(rawChannel, session.app);
    if (!session.authenticated) throw new RpcUnauthenticatedError('authentication required');
    const identity = connection.identity;
    if (!identity.scopes.includes('subscribe')) throw new PermissionDeniedError('token scope does not include "subscribe"');
    if (session.subscriptions.has(channel)) throw new ConflictError(`already subscribed to "${channel}"`);
    if (!channelRoom(connection.channels, [channel], this.config.maxChannelsPerConnection)) {
      throw new ChannelLimitReachedError(`at most ${this.config.maxChannelsPerConnection} channels per connection`);
    }
    // The one channel policy: restricted names need a grant that names them, or the app's authorizeUrl.
    const verdict = this.authorizer.authorize(connection.protocol === 'jsonrpc' ? 'jsonrpc' : 'rpc', 'subscribe', session.app, identity, [channel], session.headers);
    if (verdict === false) throw this.refused(channel);
    if (verdict === true) return this.join(connection, channel, since);
    // Requests run in order per connection (subscribe is not concurrent), so nothing changes meanwhile.
    return verdict.then((allowed) => {
      if (!allowed) throw this.refused(channel);
      if (connection.closed) throw new PermissionDeniedError('connection closed');
      return this.join(connection, channel, since);
    });
  }

  private refused(channel: string): PermissionDeniedError {
    return new PermissionDeniedError(`user not authorized to access channel "${channel}"`);
  }

  private join(connection: RpcConnection, channel: string, since: StreamPosition | undefined): Promise<RpcOutcome> {
    const session = connection.session;
    const subscription: RpcSubscription = { seq: 0, pending: [] };
    session.subscriptions.set(channel, subscription);
    this.registry.subscribe(connection, channel);
    return this.read(connection, channel, subscription, since);
  }

  private async read(connection: RpcConnection, channel: string, subscription: RpcSubscription, since: StreamPosition | undefined): Promise<RpcOutcome> {
    const session = connection.session;
    let position: StreamPosition;
    let replay: ChannelFrameParts[] = [];
    let recovered: boolean | undefined;
    try {
      if (since) {
        // The store refuses (recovered:false) a replay larger than the connection's replay room, before decoding it.
        const read = await this.history.since(session.app.id, channel, since, connection.outbound?.replayRoom(connection as Connection));
        ({ position, recovered } = read);
        if (recovered) {
          const codec = connection.codec as RpcCodec;
          replay = read.entries.map((entry) => codec.channelParts({ ...entry, epoch: position.epoch }));
          // A replay that does not fit the connection's replay budget is not sent: the protocol's answer is recovered:false.
          if (!this.admits(connection, replay)) {
            replay = [];
            recovered = false;
          }
        }
      } else {
        position = await this.history.position(session.app.id, channel);
      }
    } catch (error) {
      this.drop(connection, channel, subscription);
      throw error;
    }
    const result: SubscribeResult = {
      subscriptionId: connection.id,
      timestamp: new Date().toISOString(),
      offset: position.offset,
      epoch: position.epoch,
      ...(recovered !== undefined && { recovered }),
    };
    return { result, afterReply: () => this.goLive(connection, channel, subscription, replay, recovered === true ? position : undefined) };
  }

  /** Bytes a replay puts in the outbox (frames with a seq of up to 10 digits) against the connection's replay budget. */
  private admits(connection: RpcConnection, replay: ChannelFrameParts[]): boolean {
    const outbound = connection.outbound;
    if (!outbound || replay.length === 0) return true;
    let bytes = 0;
    for (const parts of replay) bytes += Buffer.byteLength(parts.head) + Buffer.byteLength(parts.tail) + 24;
    return bytes <= outbound.replayRoom(connection as Connection);
  }

  unsubscribe(connection: RpcConnection, params: unknown): RpcOutcome {
    const session = connection.session;
    const { channel: rawChannel } = parseParams(unsubscribeParams, params);
    const channel = channelParam(rawChannel, session.app);
    const subscription = session.subscriptions.get(channel);
    if (subscription) this.drop(connection, channel, subscription);
    return { result: { success: true } };
  }

  /** Replay, then the messages queued during the read, then live delivery; all through the SocketWriter, in order. */
  private goLive(connection: RpcConnection, channel: string, subscription: RpcSubscription, replay: ChannelFrameParts[], replayedUpTo?: StreamPosition): void {
    if (connection.session.subscriptions.get(channel) !== subscription) return;
    const codec = connection.codec as RpcCodec;
    for (const parts of replay) this.send(connection, parts.head + ++subscription.seq + parts.tail, true);
    const pending = subscription.pending ?? [];
    subscription.pending = null;
    // Live messages dropped from a full pending queue keep their numbers: the client sees the gap.
    subscription.seq += subscription.pendingSkipped ?? 0;
    subscription.pendingSkipped = undefined;
    if (replayedUpTo) subscription.replayedUpTo = replayedUpTo;
    for (const envelope of pending) {
      const position = envelope.position;
      if (replayedUpTo && position && position.epoch === replayedUpTo.epoch && position.offset <= replayedUpTo.offset) continue;
      const parts = codec.channelParts(messageOf(envelope, channel));
      this.send(connection, parts.head + ++subscription.seq + parts.tail, false);
    }
  }

  private send(connection: RpcConnection, text: string, replay: boolean): void {
    const outbound = connection.outbound;
    if (!outbound) {
      connection.sendText(text);
      return;
    }
    if (!connection.isOpen) return;
    const frame = frameText(text);
    outbound.enqueue(connection as Connection, frame, replay ? 'replay' : 'data');
  }

  private drop(connection: RpcConnection, channel: string, subscription: RpcSubscription): void {
    if (connection.session.subscriptions.get(channel) !== subscription) return;
    connection.session.subscriptions.delete(channel);
    this.registry.unsubscribe(connection, channel);
  }
}
