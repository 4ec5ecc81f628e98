import { Injectable, Optional } from '@nestjs/common';
import type { PersonalizedFrame, ProtocolCodec, RestartSignal } from '../broadcast/codec.js';
import type { Envelope } from '../broadcast/envelope.js';
import { DEFAULT_MAX_JSON_DEPTH } from '../common/json.js';
import { HeraldConfig } from '../config/herald-config.js';
import type { Connection } from '../connections/connection.js';
import { SERVER_TO_USER_PREFIX, WATCHLIST_PREFIX } from '../channels/channel-name.js';
import { dataLiteral, errorFrame, parseInbound, PusherCode, pusherFrame, type PusherInboundParse } from './pusher.frames.js';

/**
 * Renders user-addressed envelopes on each recipient's own `#server-to-user-<id>` channel, where
 * pusher-js surfaces them through `pusher.user.bind(event)`. The channel name is the only part that
 * differs per connection, so the event and data literals are built once and spliced per user id
 * (cached: a user with several connections costs one concatenation).
 */
class ServerToUserFrame implements PersonalizedFrame {
  private readonly head: string;
  private readonly tail: string;
  private readonly byUser = new Map<string, string>();

  constructor(envelope: Envelope) {
    this.head = `{"event":${JSON.stringify(envelope.event)},"channel":`;
    this.tail = `,"data":${dataLiteral(envelope.data)}}`;
  }

  render(connection: Connection): string | null {
    const userId = connection.identity.userId;
    // Anonymous Pusher connections have no user channel: tenant-wide messages are for signed-in users.
    if (userId === undefined) return null;
    let frame = this.byUser.get(userId);
    if (frame === undefined) {
      frame = `${this.head}${JSON.stringify(SERVER_TO_USER_PREFIX + userId)}${this.tail}`;
      this.byUser.set(userId, frame);
    }
    return frame;
  }
}

/**
 * The Pusher wire format for envelopes from any publisher:
 * - channel target → `{"event","channel","data":<JSON string>}` (+ `"user_id"` for presence client
 *   events), the same bytes for every subscriber;
 * - `#watchlist-<id>` channel (internal) → the channel-less `pusher_internal:watchlist_events` frame;
 * - a single user → `#server-to-user-<id>` frame, the same bytes for every recipient;
 * - tenant, several users, session, token, filter, connection ids → per signed-in connection on its
 *   `#server-to-user-<id>` channel; anonymous connections do not receive these;
 * - `connections` with no ids is a control envelope (e.g. terminate) and carries no frame.
 */
@Injectable()
export class PusherCodec implements ProtocolCodec {
  readonly protocol = 'pusher' as const;
  readonly restart: RestartSignal = {
    code: PusherCode.Restart,
    reason: 'Server is restarting',
    notice: errorFrame('Server is restarting, reconnect', PusherCode.Restart),
  };
  /** `HERALD_MAX_JSON_DEPTH`: deeper frames get `pusher:error` before anything could stringify them. */
  private readonly maxJsonDepth: number;

  constructor(@Optional() config?: HeraldConfig) {
    this.maxJsonDepth = config?.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  }

  /** Narrows an inbound frame (see `parseInbound`). */
  parse(raw: string): PusherInboundParse {
    return parseInbound(raw, this.maxJsonDepth);
  }

  encode(envelope: Envelope): string | PersonalizedFrame | null {
    const target = envelope.target;
    switch (target.kind) {
      case 'channel': {
        if (target.channel.startsWith(WATCHLIST_PREFIX)) return pusherFrame(envelope.event, envelope.data);
        const userId = envelope.senderUserId === undefined ? '' : `,"user_id":${JSON.stringify(envelope.senderUserId)}`;
        return pusherFrame(envelope.event, envelope.data, target.channel, userId);
      }
      case 'users':
        if (target.userIds.length === 1) return pusherFrame(envelope.event, envelope.data, SERVER_TO_USER_PREFIX + target.userIds[0]);
        return new ServerToUserFrame(envelope);
      case 'connections':
        if (target.connectionIds.length === 0) return null;
        return new ServerToUserFrame(envelope);
      case 'tenant':
      case 'session':
      case 'token':
      case 'filter':
      case 'predicate':
        return new ServerToUserFrame(envelope);
      default: {
        const unreachable: never = target;
        throw new Error(`unknown target ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** Pusher has no lag notice; a skipped client just misses events (as on Pusher itself). */
  lagNotice(): string | null {
    return null;
  }
}
