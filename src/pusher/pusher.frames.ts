import { isRecord, parseJson } from '../common/json.js';

/**
 * Pusher protocol v7 wire contract. Server→client `data` is a JSON-encoded string (double encoding),
 * except `pusher:error` and `pusher:subscription_error` whose `data` is an object (as Pusher's docs and
 * soketi send them; pusher-js accepts both). Client→server `data` is usually an object; a string is
 * accepted too.
 */

/** Close codes and `pusher:error` codes used by Herald (pusher-js acts on the close-code range). */
export const PusherCode = {
  /** Unknown app key: the client stops reconnecting. */
  AppNotFound: 4001,
  AppDisabled: 4003,
  UnsupportedProtocol: 4007,
  NoProtocol: 4008,
  /** Unauthorized (origin, signin timeout, terminated by the app). */
  Unauthorized: 4009,
  /** Over the app's connection quota: the client backs off and retries. */
  OverCapacity: 4100,
  /** Reconnect now (deploys, drains). */
  Restart: 4200,
  PongNotReceived: 4201,
  /** Client event rejected. Only ever a `pusher:error` frame: closing with 43xx stops pusher-js. */
  ClientEventRejected: 4301,
  /** Watchlist over 100 ids (only the first 100 are used). Frame only. */
  WatchlistLimit: 4302,
} as const;

export const ACTIVITY_TIMEOUT_SECONDS = 120;
/** How long a `pusher:ping` waits for any answer before the 4201 close. */
export const PONG_TIMEOUT_SECONDS = 30;
export const MAX_WATCHLIST = 100;
/** Cache channel entries live this long (Pusher: "up to 30 minutes"). */
export const CACHE_TTL_SECONDS = 1800;

/** An inbound frame after narrowing. */
export interface PusherInbound {
  event: string;
  channel?: string;
  /** Object data as sent; string data parsed when it is JSON, else kept as the string. */
  data: unknown;
  /** The raw text length, for payload limits. */
  size: number;
}

export type PusherInboundParse = { ok: true; frame: PusherInbound } | { ok: false; message: string };

/** Narrows an inbound frame; `maxDepth` bounds the nesting of the frame and of string `data` alike. */
export function parseInbound(raw: string, maxDepth: number): PusherInboundParse {
  const parsed = parseJson(raw, { maxDepth });
  if (!parsed.ok) return { ok: false, message: parsed.problem === 'invalid' ? 'Invalid JSON' : `Frame ${parsed.message}` };
  if (!isRecord(parsed.value)) {
    return { ok: false, message: 'A frame must be a JSON object {event, channel?, data?}' };
  }
  const candidate = parsed.value;
  if (typeof candidate.event !== 'string' || candidate.event === '') return { ok: false, message: '"event" must be a non-empty string' };
  if (candidate.channel !== undefined && typeof candidate.channel !== 'string') return { ok: false, message: '"channel" must be a string' };
  let data = candidate.data;
  // Protocol events may double-encode their data; client events are relayed exactly as sent.
  if (typeof data === 'string' && candidate.event.startsWith('pusher:')) {
    const inner = parseJson(data, { maxDepth });
    if (inner.ok) data = inner.value;
    else if (inner.problem === 'too_deep') return { ok: false, message: `"data" ${inner.message}` };
    // Not JSON: left as a string; the handler reports the bad shape.
  }
  return { ok: true, frame: { event: candidate.event, channel: candidate.channel, data, size: raw.length } };
}

/** The value of `data` in an outbound frame: a JSON string literal holding the payload's JSON. */
export function dataLiteral(data: unknown): string {
  if (typeof data === 'string') return JSON.stringify(data);
  return JSON.stringify(data === undefined ? '{}' : JSON.stringify(data));
}

/** `{"event","channel"?,"data"}` with `data` double-encoded; `extra` is pre-encoded `,"k":v` text. */
export function pusherFrame(event: string, data: unknown, channel?: string, extra = ''): string {
  const channelPart = channel === undefined ? '' : `,"channel":${JSON.stringify(channel)}`;
  return `{"event":${JSON.stringify(event)}${channelPart},"data":${dataLiteral(data)}${extra}}`;
}

export function errorFrame(message: string, code?: number): string {
  return JSON.stringify({ event: 'pusher:error', data: code === undefined ? { message } : { code, message } });
}

export type SubscriptionErrorType = 'AuthError' | 'LimitReached' | 'InvalidChannel';

/** soketi's channel-scoped shape; pusher-js routes it to `channel.bind('pusher:subscription_error')`. */
export function subscriptionErrorFrame(channel: string, type: SubscriptionErrorType, error: string, status: number): string {
  return JSON.stringify({ event: 'pusher:subscription_error', channel, data: { type, error, status } });
}

export function connectionEstablishedFrame(socketId: string): string {
  return pusherFrame('pusher:connection_established', { socket_id: socketId, activity_timeout: ACTIVITY_TIMEOUT_SECONDS });
}

export const PONG_FRAME = '{"event":"pusher:pong","data":"{}"}';
export const PING_FRAME = '{"event":"pusher:ping","data":"{}"}';

/** `{"events":[{"name":"online","user_ids":[…]},{"name":"offline",…}]}` as pusher-js's WatchlistFacade reads it. */
export function watchlistData(online: readonly string[], offline: readonly string[]): { events: { name: string; user_ids: string[] }[] } {
  const events: { name: string; user_ids: string[] }[] = [];
  if (online.length > 0) events.push({ name: 'online', user_ids: [...online] });
  if (offline.length > 0) events.push({ name: 'offline', user_ids: [...offline] });
  return { events };
}
