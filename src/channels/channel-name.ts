/**
 * The one channel-name grammar of Herald, for every protocol (`/app/{key}`, `/ws/rpc`, `/ws/jsonrpc`,
 * `/ws/topics`) and every REST surface (`POST /api/publish`, `/api/channels`, the Pusher HTTP API).
 *
 * A name is Pusher's characters (`A-Z a-z 0-9 _ - = @ , . ;`) plus The Broadcaster's `:` separator
 * (`team:1`), never at either end nor doubled. Herald is one channel space across protocols, so a
 * channel an RPC client uses (`team:1`) is reachable from pusher-js too, and the other way round.
 * pusher-js does not check names itself (soketi's server does, without `:`); a `:` in a name cannot
 * be confused within Pusher's signed string `<socket_id>:<channel>[:<channel_data>]`: socket ids have
 * no `:`, and `channel_data` (a JSON object, starting with `{`) has characters no name may contain,
 * so no name plus data can spell another name's string.
 *
 * `#…` names are Herald-internal: `#server-to-user-<id>` is accepted where Pusher uses it (Pusher
 * subscriptions and the Pusher HTTP API, `serverToUser: true`); every other `#` name is refused
 * everywhere a client or a REST caller names a channel.
 *
 * Why not The Broadcaster's own `^([\w-]+:?)*\w$`: its nested quantifiers backtrack exponentially on
 * a long name with a bad last character. This pattern is unambiguous (`:` is outside the class), so
 * it runs in linear time.
 */
const NAME = /^[A-Za-z0-9_\-=@,.;]+(?::[A-Za-z0-9_\-=@,.;]+)*$/;

/** What a channel name means (prefix order as in pusher-js `createChannel`). */
export type ChannelKind = 'public' | 'private' | 'encrypted' | 'presence' | 'server-to-user' | 'internal';

export interface ChannelInfo {
  kind: ChannelKind;
  /** `cache-`, `private-cache-`, `presence-cache-`, `private-encrypted-cache-`. */
  cache: boolean;
}

export const SERVER_TO_USER_PREFIX = '#server-to-user-';
/** Internal channel a watcher's connection joins to hear about one user (`#watchlist-<userId>`). */
export const WATCHLIST_PREFIX = '#watchlist-';

/** The prefix that makes a name of each kind (public names have none). */
export const KIND_PREFIX: Readonly<Record<ChannelKind, string>> = {
  public: '',
  private: 'private-',
  encrypted: 'private-encrypted-',
  presence: 'presence-',
  'server-to-user': SERVER_TO_USER_PREFIX,
  internal: '#',
};

export function channelInfo(name: string): ChannelInfo {
  if (name.startsWith('private-encrypted-')) return { kind: 'encrypted', cache: name.startsWith('private-encrypted-cache-') };
  if (name.startsWith('private-')) return { kind: 'private', cache: name.startsWith('private-cache-') };
  if (name.startsWith('presence-')) return { kind: 'presence', cache: name.startsWith('presence-cache-') };
  if (name.startsWith(SERVER_TO_USER_PREFIX)) return { kind: 'server-to-user', cache: false };
  if (name.startsWith('#')) return { kind: 'internal', cache: false };
  return { kind: 'public', cache: name.startsWith('cache-') };
}

/** Channels whose Pusher subscription needs a signature (`private-`, `private-encrypted-`, `presence-`). */
export function requiresAuth(kind: ChannelKind): boolean {
  return kind === 'private' || kind === 'encrypted' || kind === 'presence';
}

/** Herald-internal channels (watchlists) are not occupancy or `GET /channels` material. */
export function isInternal(name: string): boolean {
  return name.startsWith(WATCHLIST_PREFIX);
}

/** Webhooks are about application channels, not `#server-to-user-…` or other `#` channels. */
export function hasWebhooks(name: string): boolean {
  return !name.startsWith('#');
}

/** Whether a name is an application channel (history, REST counts) rather than a Herald-internal one. */
export function isApplicationChannel(name: string): boolean {
  return NAME.test(name);
}

export interface ChannelNameOptions {
  /** Accept `#server-to-user-<id>` (Pusher subscriptions and the Pusher HTTP API; the caller checks the id). Default false. */
  serverToUser?: boolean;
}

/** Why a client- or caller-chosen channel name is invalid, or null when it is fine. */
export function channelNameProblem(name: unknown, maxLength: number, options: ChannelNameOptions = {}): string | null {
  if (typeof name !== 'string') return 'must be a string';
  if (name.length === 0) return 'must not be empty';
  if (name.length > maxLength) return `is longer than ${maxLength} characters`;
  if (options.serverToUser && name.startsWith(SERVER_TO_USER_PREFIX)) {
    return name.length > SERVER_TO_USER_PREFIX.length ? null : 'has no user id after #server-to-user-';
  }
  if (!NAME.test(name)) return 'may only contain A-Z a-z 0-9 _ - = @ , . ; and single inner colons';
  return null;
}
