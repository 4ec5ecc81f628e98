import { channelInfo, KIND_PREFIX, requiresAuth, SERVER_TO_USER_PREFIX, type ChannelInfo } from './channel-name.js';

/**
 * The one channel-authorization policy every protocol asks. Default deny.
 *
 * Restricted names are `private-*`, `private-encrypted-*`, `presence-*` and every `#…` name: Pusher
 * clients trust what arrives on them as sent by the server (or by a signed member), so they need:
 * - on `/app/{key}`: Pusher's channel signature (`#server-to-user-<id>`: the signed-in user itself;
 *   other `#` names: never);
 * - on `/ws/topics`, `/ws/rpc`, `/ws/jsonrpc`: an explicit grant, i.e. an `authorizedChannels`
 *   entry that names them (the exact name, or a prefix pattern whose literal part starts with the
 *   kind's own prefix, such as `private-orders-*` or `presence-*`; never a bare `*`, and `p*` or
 *   `private-*` do not name `presence-x` or `private-encrypted-x`), or else a 200 from the app's
 *   `authorizeUrl` callback;
 * - to publish into them from a client (RPC `publish`): an explicit grant; the callback answers
 *   "may join", never "may write".
 *
 * Public names: on RPC an `authorizedChannels` match (a bare `*` included; no claim = no channel);
 * on topics, as RoadRunner: when the claim is present every topic must match it, without the claim
 * every public topic is allowed; with an `authorizeUrl`, topics always asks it as well.
 */
export type ChannelAction = 'subscribe' | 'publish';

/** What the token alone says: allowed, refused, or "allowed only if the app's callback says so". */
export type ChannelVerdict = 'allow' | 'deny' | 'ask';

/** Protocols whose channel access is decided by JWT grants (Pusher uses signatures instead). */
export type GrantProtocol = 'rpc' | 'jsonrpc' | 'topics';

/** Whether a name needs an explicit grant outside Pusher (and a signature, or never, on Pusher). */
export function isRestricted(name: string): boolean {
  return channelInfo(name).kind !== 'public';
}

/** One `authorizedChannels` entry: an exact name, or a trailing `*` as a prefix wildcard. */
export function patternMatches(pattern: string, channel: string): boolean {
  return pattern.endsWith('*') ? channel.startsWith(pattern.slice(0, -1)) : pattern === channel;
}

/**
 * Whether one entry names a restricted channel explicitly: the exact name, or a prefix pattern
 * whose literal part already carries the channel's kind prefix (so `presence-*` names
 * `presence-room`, and `*`, `p*`, `private-*` do not name it).
 */
export function patternNames(pattern: string, channel: string): boolean {
  if (!pattern.endsWith('*')) return pattern === channel;
  const literal = pattern.slice(0, -1);
  const kind = channelInfo(channel).kind;
  return channel.startsWith(literal) && literal.startsWith(KIND_PREFIX[kind]) && channelInfo(literal).kind === kind;
}

/**
 * The token's `authorizedChannels` patterns: exact names, or a trailing `*` as a prefix wildcard
 * (`team:*` allows `team:1`; a lone `*` allows every public channel). Undefined (claim absent)
 * allows none. A restricted name is granted only by an entry that names it ({@link patternNames}).
 */
export function channelAuthorized(patterns: readonly string[] | undefined, channel: string): boolean {
  if (!patterns) return false;
  const restricted = isRestricted(channel);
  for (const pattern of patterns) {
    if (restricted ? patternNames(pattern, channel) : patternMatches(pattern, channel)) return true;
  }
  return false;
}

/** Whether any entry matches at all (a bare `*` included): topics refuses what the claim does not cover. */
function anyMatch(patterns: readonly string[], channel: string): boolean {
  return patterns.some((pattern) => patternMatches(pattern, channel));
}

/**
 * The verdict for one channel on `/ws/rpc`, `/ws/jsonrpc` or `/ws/topics`, from the token alone.
 * `hasCallback`: the app has an `authorizeUrl`. On topics a configured callback is asked for every
 * join (RoadRunner); the caller does that, this verdict says whether the token allows the channel
 * without it ('allow'), refuses it ('deny'), or leaves it to the callback ('ask').
 */
export function channelAccess(protocol: GrantProtocol, action: ChannelAction, patterns: readonly string[] | undefined, channel: string, hasCallback: boolean): ChannelVerdict {
  if (channelAuthorized(patterns, channel)) return 'allow';
  const restricted = isRestricted(channel);
  if (action === 'publish') return 'deny';
  if (protocol === 'topics') {
    if (patterns && !anyMatch(patterns, channel)) return 'deny';
    if (!restricted) return 'allow';
  } else if (!restricted) {
    return 'deny';
  }
  return hasCallback ? 'ask' : 'deny';
}

/** What a Pusher subscription to a channel of this kind needs. */
export type PusherSubscriptionRule = 'open' | 'signature' | 'own-user' | 'refused';

export function pusherSubscriptionRule(info: ChannelInfo): PusherSubscriptionRule {
  if (requiresAuth(info.kind)) return 'signature';
  if (info.kind === 'server-to-user') return 'own-user';
  if (info.kind === 'internal') return 'refused';
  return 'open';
}

/** The user id a `#server-to-user-<id>` name is for. */
export function serverToUserId(channel: string): string {
  return channel.slice(SERVER_TO_USER_PREFIX.length);
}

/**
 * The per-connection channel cap, the same on every protocol: may a connection subscribed to `current` add
 * `adding`? Internal `#…` channels (Pusher watchlists, set from the app's signed user data) and channels it
 * already holds do not count. `max` -1 = no cap.
 */
export function channelRoom(current: ReadonlySet<string>, adding: readonly string[], max: number): boolean {
  if (max < 0) return true;
  let count = 0;
  for (const channel of current) if (!channel.startsWith('#')) count++;
  for (const channel of adding) if (!channel.startsWith('#') && !current.has(channel)) count++;
  return count <= max;
}
