/** What a channel name means to the Pusher protocol (prefix order as in pusher-js `createChannel`). */
export type ChannelKind = 'public' | 'private' | 'encrypted' | 'presence' | 'server-to-user' | 'internal';

export interface ChannelInfo {
  kind: ChannelKind;
  /** `cache-`, `private-cache-`, `presence-cache-`, `private-encrypted-cache-`. */
  cache: boolean;
}

export const SERVER_TO_USER_PREFIX = '#server-to-user-';
/** Internal channel a watcher's connection joins to hear about one user (`#watchlist-<userId>`). */
export const WATCHLIST_PREFIX = '#watchlist-';

const NAME = /^[A-Za-z0-9_\-=@,.;]+$/;

export function channelInfo(name: string): ChannelInfo {
  if (name.startsWith('private-encrypted-')) return { kind: 'encrypted', cache: name.startsWith('private-encrypted-cache-') };
  if (name.startsWith('private-')) return { kind: 'private', cache: name.startsWith('private-cache-') };
  if (name.startsWith('presence-')) return { kind: 'presence', cache: name.startsWith('presence-cache-') };
  if (name.startsWith(SERVER_TO_USER_PREFIX)) return { kind: 'server-to-user', cache: false };
  if (name.startsWith('#')) return { kind: 'internal', cache: false };
  return { kind: 'public', cache: name.startsWith('cache-') };
}

/** Channels whose subscription needs a signature (`private-`, `private-encrypted-`, `presence-`). */
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

/**
 * Why a client-chosen channel name is invalid, or null when it is fine. `#server-to-user-<id>` is
 * allowed here (the caller checks the id); other `#` names are reserved for the server.
 */
export function channelNameProblem(name: string, maxLength: number): string | null {
  if (name.length === 0) return 'Channel name is empty';
  if (name.length > maxLength) return `Channel name is longer than ${maxLength} characters`;
  if (name.startsWith(SERVER_TO_USER_PREFIX)) return name.length > SERVER_TO_USER_PREFIX.length ? null : 'Channel name has no user id';
  if (!NAME.test(name)) return 'Channel name may only contain A-Z, a-z, 0-9, _ - = @ , . ;';
  return null;
}
