import type { Identity, ProtocolName } from '../connections/identity.js';

/**
 * A serializable predicate over connection identity (the filtered broadcast of fuz_app, made data so it
 * can cross nodes). All given fields must match; list fields match any of their values.
 */
export interface IdentityFilter {
  userIds?: string[];
  sessionIds?: string[];
  tokenIds?: string[];
  protocols?: ProtocolName[];
  /** Connections whose scopes include this one. */
  scope?: 'subscribe' | 'publish';
}

/** Who receives an envelope. Every target is implicitly within `Envelope.tenant`. */
export type Target =
  | { kind: 'tenant' }
  | { kind: 'users'; userIds: string[] }
  | { kind: 'session'; sessionId: string }
  | { kind: 'token'; tokenId: string }
  | { kind: 'connections'; connectionIds: string[] }
  | { kind: 'channel'; channel: string }
  | { kind: 'filter'; filter: IdentityFilter }
  /**
   * A node-local function predicate: O(tenant's connections), cannot cross nodes
   * (the cluster transport refuses it; use `filter` there).
   */
  | { kind: 'predicate'; test: (identity: Readonly<Identity>) => boolean };

/** Channel stream position (Centrifugo-style): `offset` grows per channel, `epoch` changes when history is lost. */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

/**
 * The one message type of the core. Protocols encode it; the core never looks inside `data`.
 * For Pusher, `data` is whatever the publisher sent (a string stays a string).
 */
export interface Envelope {
  /** 24-char alphanumeric id, the same for every recipient. */
  id: string;
  tenant: string;
  target: Target;
  /** Bus `cmd`, Pusher/RPC event name. */
  event: string;
  data: unknown;
  /** RFC 3339 UTC. */
  createTime: string;
  /** ms since epoch when accepted, for publish-to-send latency. */
  publishedAt: number;
  /** Per-tenant sequence, assigned when the envelope enters the tenant's stream on this node. */
  seq?: number;
  /** Channel position for channel targets with history. */
  position?: StreamPosition;
  /** Never deliver to this connection (Pusher `socket_id` exclusion, client events). */
  excludeConnectionId?: string;
  /** Sender's user id on presence client events (Pusher adds it to the frame). */
  senderUserId?: string;
  /** Where it came from, for metrics and webhooks. */
  origin: 'rest' | 'pusher-api' | 'client' | 'internal';
}
