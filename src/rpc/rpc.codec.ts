import type { PersonalizedFrame, ProtocolCodec, RestartSignal } from '../broadcast/codec.js';
import { DEFAULT_MAX_JSON_DEPTH, isRecord, parseJson, type JsonParse } from '../common/json.js';
import type { HeraldConfig } from '../config/herald-config.js';
import type { Envelope } from '../broadcast/envelope.js';
import type { Connection } from '../connections/connection.js';
import type { ProtocolName } from '../connections/identity.js';
import type { RpcFault } from './rpc.errors.js';
import { queuePending, rpcSession } from './rpc.session.js';

/** A request id as it goes back on the wire; `null` when it could not be read. */
export type RpcId = number | string | null;

/** A parsed request; `id` undefined = notification (executed, never answered). */
export interface RpcRequest {
  id?: RpcId;
  method: string;
  params: unknown;
}

export type RpcParse = { ok: true; request: RpcRequest } | { ok: false; id: RpcId; fault: RpcFault };

/** The parts of a channel message a `broadcast` notification carries. */
export interface ChannelMessage {
  id: string;
  channel: string;
  event: string;
  data: unknown;
  createTime: string;
  offset?: number;
  epoch?: string;
}

/**
 * The `broadcast` notification split around `seq`, the only per-connection part: built once per
 * message, spliced per recipient by string concatenation.
 */
export interface ChannelFrameParts {
  head: string;
  tail: string;
}

/**
 * One channel message for every RPC subscriber: numbers it on each recipient's subscription.
 * A subscription still reading its history queues the envelope instead (the subscribe call sends it
 * after the reply and the replay), and a just-recovered one skips what the replay already carried.
 * `seq` is taken here, when the frame is queued for the socket: if the SocketWriter later drops it
 * from a lagging connection's outbox, its number is never seen and the client sees the gap.
 */
class ChannelFrame implements PersonalizedFrame {
  constructor(
    private readonly envelope: Envelope,
    private readonly channel: string,
    private readonly parts: ChannelFrameParts,
  ) {}

  render(connection: Connection): string | null {
    const subscription = rpcSession(connection).subscriptions.get(this.channel);
    if (subscription === undefined) return null;
    if (subscription.pending !== null) {
      queuePending(subscription, subscription.pending, this.envelope);
      return null;
    }
    const replayed = subscription.replayedUpTo;
    const position = this.envelope.position;
    if (replayed !== undefined && position !== undefined && position.offset <= replayed.offset && position.epoch === replayed.epoch) {
      return null;
    }
    return this.parts.head + ++subscription.seq + this.parts.tail;
  }
}

/** Tenant-wide and filtered messages reach authenticated connections only (same bytes for each). */
class AuthenticatedOnlyFrame implements PersonalizedFrame {
  constructor(private readonly text: string) {}

  render(connection: Connection): string | null {
    return rpcSession(connection).authenticated ? this.text : null;
  }
}

/**
 * What `/ws/rpc` and `/ws/jsonrpc` share: the outbound messages (same shape, different envelope
 * prefix). Each subclass owns parsing and the reply/error framing.
 */
export abstract class RpcCodec implements ProtocolCodec {
  abstract readonly protocol: ProtocolName;
  /** 1012 "service restart": reconnect (to another node). */
  readonly restart: RestartSignal = { code: 1012, reason: 'Service restart' };
  /** `{"method":` or `{"jsonrpc":"2.0","method":`. */
  protected abstract readonly notificationPrefix: string;
  /** Whether `"params":null` is written for a message without data (JSON-RPC omits it). */
  protected abstract readonly nullParams: boolean;
  /** `HERALD_MAX_JSON_DEPTH`: deeper frames are refused before anything could stringify them. */
  protected readonly maxJsonDepth: number;

  constructor(config?: HeraldConfig) {
    this.maxJsonDepth = config?.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  }

  abstract parse(text: string): RpcParse;

  /**
   * The frame's JSON, or the refusal of a frame nested too deep: an `invalid_params` fault naming
   * `params` (the only member meant to hold structure) answered with the request's id when readable.
   */
  protected parseFrame(text: string): JsonParse | { ok: false; refusal: Extract<RpcParse, { ok: false }> } {
    const parsed = parseJson(text, { maxDepth: this.maxJsonDepth });
    if (parsed.ok || parsed.problem !== 'too_deep') return parsed;
    return { ok: false, refusal: { ok: false, id: this.replyIdOf(parsed.scalars?.id), fault: { kind: 'invalid_params', message: `frame ${parsed.message}`, field: 'params' } } };
  }

  /** The id a refusal echoes, when the frame's id was readable and valid for this protocol. */
  protected abstract replyIdOf(id: unknown): RpcId;
  abstract result(id: RpcId, result: unknown): string;
  abstract error(id: RpcId, fault: RpcFault): string;

  /**
   * Channel target → `broadcast` with per-subscription `seq`; users/session/token/connection targets →
   * `{"method":"<event>","params":<data>}`; tenant/filter/predicate → the same, to authenticated
   * connections only. Protocol-internal envelopes (Pusher presence bookkeeping) are not carried.
   */
  encode(envelope: Envelope): string | PersonalizedFrame | null {
    const target = envelope.target;
    switch (target.kind) {
      case 'channel':
        if (envelope.origin === 'internal') return null;
        return new ChannelFrame(envelope, target.channel, this.channelParts(messageOf(envelope, target.channel)));
      case 'users':
      case 'session':
      case 'token':
        return this.notification(envelope.event, envelope.data);
      case 'connections':
        // An empty id list is a control envelope (e.g. Pusher terminate), not a message.
        return target.connectionIds.length === 0 ? null : this.notification(envelope.event, envelope.data);
      case 'tenant':
      case 'filter':
      case 'predicate':
        return new AuthenticatedOnlyFrame(this.notification(envelope.event, envelope.data));
      default: {
        const unreachable: never = target;
        throw new Error(`unknown target ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** No lag frame: the gap in `seq` tells a subscriber how many messages it missed. */
  lagNotice(): string | null {
    return null;
  }

  channelParts(message: ChannelMessage): ChannelFrameParts {
    const position =
      message.offset === undefined ? '' : `,"offset":${message.offset},"epoch":${JSON.stringify(message.epoch ?? '')}`;
    return {
      head: `${this.notificationPrefix}"broadcast","params":{"id":${JSON.stringify(message.id)},"seq":`,
      tail:
        `${position},"createTime":${JSON.stringify(message.createTime)},"channel":${JSON.stringify(message.channel)}` +
        `,"event":${JSON.stringify(message.event)},"payload":${JSON.stringify(message.data ?? null)}}}`,
    };
  }

  /** A server notification `{"method":…,"params":…}` (JSON-RPC: with `"jsonrpc":"2.0"`). */
  notification(method: string, params: unknown): string {
    if (params === undefined || (params === null && !this.nullParams)) return `${this.notificationPrefix}${JSON.stringify(method)}}`;
    return `${this.notificationPrefix}${JSON.stringify(method)},"params":${JSON.stringify(params)}}`;
  }
}

export function messageOf(envelope: Envelope, channel: string): ChannelMessage {
  return {
    id: envelope.id,
    channel,
    event: envelope.event,
    data: envelope.data,
    createTime: envelope.createTime,
    ...(envelope.position && { offset: envelope.position.offset, epoch: envelope.position.epoch }),
  };
}

/** The shared `isRecord` (common/json.ts), under the name the RPC codecs use. */
export const isPlainObject = isRecord;
